from __future__ import annotations

import hashlib
import sys

import pytest

from rag.answer.models import Preset, assemble, resolve_model
from rag.errors import ModelError


@pytest.fixture
def fake_preset(tmp_path, monkeypatch):
    root = tmp_path / "site"
    blobs = [b"GGUF" + b"a" * 100, b"b" * 50]
    for i, blob in enumerate(blobs, 1):
        pkg = root / f"fakemodelpart{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(root))
    whole = b"".join(blobs)
    preset = Preset(name="fake", description="fake", package_prefix="fake-model-part", module_prefix="fakemodelpart",
                    parts=2, version="1.0", filename="fake.gguf", size=len(whole),
                    sha256=hashlib.sha256(whole).hexdigest())
    yield preset, root
    for i in (1, 2):
        sys.modules.pop(f"fakemodelpart{i}", None)


def test_assemble_verifies_and_caches(fake_preset, tmp_path):
    preset, _ = fake_preset
    path = assemble(preset, tmp_path / "cache")
    assert path.read_bytes().startswith(b"GGUF") and path.stat().st_size == preset.size
    mtime = path.stat().st_mtime_ns
    assert assemble(preset, tmp_path / "cache").stat().st_mtime_ns == mtime  # not rebuilt


def test_corrupted_part_is_refused_with_package_names(fake_preset, tmp_path):
    preset, root = fake_preset
    (root / "fakemodelpart2" / "data" / "part02.bin").write_bytes(b"c" * 50)
    with pytest.raises(ModelError, match="fake-model-part1==1.0"):
        assemble(preset, tmp_path / "cache")
    assert not (tmp_path / "cache" / "fake.gguf").exists()


def test_missing_part(fake_preset, tmp_path):
    preset, _ = fake_preset
    missing = Preset(**{**preset.__dict__, "parts": 3})
    with pytest.raises(ModelError, match="fake-model-part3==1.0.*not installed"):
        assemble(missing, tmp_path / "cache")


def test_resolve_path_and_errors(tmp_path):
    good = tmp_path / "m.gguf"
    good.write_bytes(b"GGUF....")
    assert resolve_model(str(good), tmp_path) == good
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"nope")
    with pytest.raises(ModelError, match="not a GGUF"):
        resolve_model(str(bad), tmp_path)
    with pytest.raises(ModelError, match="neither a preset"):
        resolve_model("nothing-here", tmp_path)
