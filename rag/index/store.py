"""The on-disk index: FAISS vectors, chunk store, lexical index, manifest.

Layout of an index directory::

    manifest.json              format version, embedder, chunking, documents, file checksums
    documents-<gen>.jsonl      one Document per line (full normalised text)
    chunks-<gen>.jsonl         one Chunk per line
    embeddings-<gen>.npy       float32 [n_chunks, dim], L2-normalised
    vectors-<gen>.faiss        FAISS index over the embeddings (inner product)
    lexical-<gen>.npz          BM25 state
    sentences-<gen>.npz        sentence spans and their embeddings (float16)

Data files carry a generation number and are written first (each atomically);
``manifest.json`` is replaced last, atomically, and is the commit point. A
build killed midway therefore leaves the previous manifest pointing at the
previous, intact files. Writers hold an exclusive file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, IndexWriteError
from rag.index.chunk import CHUNK_CONTEXT
from rag.news.copies import CopyGroup
from rag.records import Chunk, Document

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LOCK = ".lock"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive lock serialising writers of one index directory."""
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexWriteError(f"{index_dir} is a file, not an index folder: give --index-dir a folder.")
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        f = open(index_dir / LOCK, "a+")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise IndexWriteError(
            f"Cannot write the index in {index_dir} ({_reason(exc)}). "
            "Give --index-dir a folder you can write to, or fix its permissions."
        ) from exc
    with f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


@dataclass
class SentenceTable:
    """Every sentence of every document with its embedding.

    Dense retrieval scores a chunk by its own vector and by its best sentence:
    a question usually matches one sentence, and a 500-character chunk's
    vector dilutes it.
    """

    doc_ids: np.ndarray  # str, one per sentence
    starts: np.ndarray  # int32 document offsets
    ends: np.ndarray
    vectors: np.ndarray  # float16 [n, dim], L2-normalised

    def to_state(self) -> dict[str, np.ndarray]:
        return {"doc_ids": self.doc_ids.astype(np.str_), "starts": self.starts, "ends": self.ends,
                "vectors": self.vectors}

    @classmethod
    def from_state(cls, z: dict[str, np.ndarray]) -> SentenceTable:
        return cls(z["doc_ids"], z["starts"].astype(np.int32), z["ends"].astype(np.int32),
                   z["vectors"].astype(np.float16))

    @classmethod
    def concat(cls, parts: list[SentenceTable], dim: int) -> SentenceTable:
        if not parts:
            return cls(np.array([], dtype=np.str_), np.zeros(0, np.int32), np.zeros(0, np.int32),
                       np.zeros((0, dim), np.float16))
        return cls(np.concatenate([p.doc_ids.astype(np.str_) for p in parts]),
                   np.concatenate([p.starts for p in parts]).astype(np.int32),
                   np.concatenate([p.ends for p in parts]).astype(np.int32),
                   np.vstack([p.vectors for p in parts]).astype(np.float16))

    def select(self, mask: np.ndarray) -> SentenceTable:
        return SentenceTable(self.doc_ids[mask], self.starts[mask], self.ends[mask], self.vectors[mask])


@dataclass
class IndexData:
    """Everything an index holds, in memory."""

    embedder_id: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    documents: dict[str, Document] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    lexical_state: dict[str, np.ndarray] | None = None
    faiss_index: Any = None
    sentences: SentenceTable | None = None
    generation: int = 0
    # Articles telling one story (reprints, versions), found at index time; in the manifest.
    copies: list[CopyGroup] = field(default_factory=list)



def rebuild_advice(index_dir: Path) -> str:
    """The sentence every refusal ends with: the command that rebuilds *this* index.

    It names the folder, so following it never rebuilds another index (``./index``).

    >>> rebuild_advice(Path("/data/idx"))
    'Rebuild the index with `rag index --rebuild --index-dir /data/idx`.'
    """
    return f"Rebuild the index with `rag index --rebuild --index-dir {index_dir}`."


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    path = index_dir / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(
            f"{path} is unreadable ({_reason(exc)}). {rebuild_advice(index_dir)}"
        ) from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        raise IndexCorruptError(
            f"{path} is not an index manifest (a JSON object with the index's files). {rebuild_advice(index_dir)}"
        )
    return manifest


_DOCUMENTS_FILE = re.compile(r"^documents-(\d+)\.jsonl$")


def read_documents(index_dir: Path) -> dict[str, Document]:
    """The documents of the index in ``index_dir``, as far as they can still be read.

    For a rebuild, which must know what the index held (and where each article came
    from) even when the index is damaged: the manifest's documents file when the
    manifest is readable, else the newest ``documents-<gen>.jsonl``; unreadable lines
    are skipped, and so is a document whose text no longer matches its sha256 (the
    file's checksum is not required: the point is to read a damaged index).
    Returns ``{}`` when nothing can be read.
    """
    name: str | None = None
    try:
        manifest = read_manifest(index_dir) or {}
        info = (manifest.get("files") or {}).get("documents")
        name = info.get("name") if isinstance(info, dict) and isinstance(info.get("name"), str) else None
    except (IndexCorruptError, AttributeError):
        name = None
    if name is None or not (index_dir / name).is_file():
        try:
            found = [(int(m.group(1)), p.name) for p in index_dir.iterdir() if (m := _DOCUMENTS_FILE.match(p.name))]
        except OSError:
            found = []
        name = max(found)[1] if found else None
    if name is None:
        return {}
    docs: dict[str, Document] = {}
    try:
        lines = (index_dir / name).read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            doc = Document.from_dict(json.loads(line))
        except (ValueError, TypeError, AttributeError):
            continue
        # A document whose text no longer hashes to its sha256 was altered on disk: not kept.
        if (isinstance(doc.doc_id, str) and isinstance(doc.source, str) and isinstance(doc.text, str)
                and hashlib.sha256(doc.text.encode("utf-8")).hexdigest() == doc.sha256):
            docs[doc.doc_id] = doc
    return docs


def _reason(exc: BaseException) -> str:
    """A short reason for a failed read: the OS's words without the path, which the message names."""
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def save_index(data: IndexData, index_dir: Path) -> None:
    """Write a new generation of the index, then commit it by replacing the manifest.

    Callers hold :func:`index_lock`. A folder that cannot be written raises
    :class:`IndexWriteError` naming it; the previous generation stays in use.
    """
    try:
        _save(data, index_dir)
    except OSError as exc:
        raise IndexWriteError(
            f"Cannot write the index in {index_dir} ({_reason(exc)}). "
            "Give --index-dir a folder you can write to, or fix its permissions."
        ) from exc


def _save(data: IndexData, index_dir: Path) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    try:
        old = read_manifest(index_dir)
    except IndexCorruptError:
        old = None  # `rag index --rebuild` over an unreadable manifest: it is replaced below
    gen = max(data.generation, (old or {}).get("generation", 0)) + 1
    names = {
        "documents": f"documents-{gen}.jsonl",
        "chunks": f"chunks-{gen}.jsonl",
        "embeddings": f"embeddings-{gen}.npy",
    }
    atomic_write_bytes(index_dir / names["documents"], _jsonl([d.to_dict() for d in data.documents.values()]))
    atomic_write_bytes(index_dir / names["chunks"], _jsonl([c.to_dict() for c in data.chunks]))
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(data.embeddings, dtype=np.float32))
    atomic_write_bytes(index_dir / names["embeddings"], buf.getvalue())
    if data.faiss_index is not None:
        from rag.index.vectors import serialize

        names["vectors"] = f"vectors-{gen}.faiss"
        atomic_write_bytes(index_dir / names["vectors"], serialize(data.faiss_index))
    if data.sentences is not None:
        names["sentences"] = f"sentences-{gen}.npz"
        buf = io.BytesIO()
        np.savez(buf, **data.sentences.to_state())
        atomic_write_bytes(index_dir / names["sentences"], buf.getvalue())
    if data.lexical_state is not None:
        names["lexical"] = f"lexical-{gen}.npz"
        buf = io.BytesIO()
        np.savez(buf, **data.lexical_state)
        atomic_write_bytes(index_dir / names["lexical"], buf.getvalue())
    files = {key: {"name": name, "sha256": file_sha256(index_dir / name)} for key, name in names.items()}
    per_doc: dict[str, dict[str, Any]] = {}
    for c in data.chunks:
        per_doc.setdefault(c.doc_id, {"n_chunks": 0})["n_chunks"] += 1
    manifest = {
        "format_version": FORMAT_VERSION,
        "generation": gen,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "embedder": {"id": data.embedder_id, "dim": data.dim},
        "chunking": {"size": data.chunk_size, "overlap": data.chunk_overlap, "context": CHUNK_CONTEXT},
        "n_chunks": len(data.chunks),
        "documents": {
            d.doc_id: {
                "sha256": d.sha256,
                "title": d.title,
                "date": d.date,
                "date_source": d.date_source,
                "outlet": d.outlet,
                "n_chunks": per_doc.get(d.doc_id, {}).get("n_chunks", 0),
            }
            for d in data.documents.values()
        },
        "copies": [g.to_dict() for g in data.copies],
        "files": files,
    }
    atomic_write_bytes(index_dir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    data.generation = gen
    _remove_stale(index_dir, keep={f["name"] for f in files.values()})


_DATA_FILE = re.compile(r"^\.?(documents|chunks|embeddings|vectors|lexical|sentences|manifest\.json)[-.]")


def _remove_stale(index_dir: Path, keep: set[str]) -> None:
    """Delete older generations and leftover temp files; never anything else
    (the folder may hold a user's files, e.g. a .gitignore)."""
    for path in index_dir.iterdir():
        if path.name in keep or path.name in (MANIFEST, LOCK) or not _DATA_FILE.match(path.name):
            continue
        with contextlib.suppress(OSError):
            path.unlink()


def check_compatible(manifest: dict[str, Any], index_dir: Path, embedder_id: str | None) -> None:
    """Refuse an index of another format or built with another embedder."""
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index in {index_dir} has format version {version}; this version reads {FORMAT_VERSION}. "
            f"Rebuild it with `rag index --rebuild --index-dir {index_dir}`."
        )
    embedder = manifest.get("embedder")
    built_with = embedder.get("id") if isinstance(embedder, dict) else None
    if not isinstance(built_with, str) or not isinstance(manifest.get("files"), dict):
        raise IndexCorruptError(
            f"The manifest of the index in {index_dir} is incomplete (no embedder or files). "
            f"Rebuild it with `rag index --rebuild --index-dir {index_dir}`."
        )
    # A hand-edited or half-copied manifest: refused here rather than failing later on a missing key.
    chunking = manifest.get("chunking")
    files_ok = all(isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("sha256"), str)
                   for f in manifest["files"].values())
    if (not files_ok or "documents" not in manifest["files"] or not isinstance(embedder.get("dim"), int)
            or not isinstance(chunking, dict) or not all(isinstance(chunking.get(k), int) for k in ("size", "overlap"))
            or not isinstance(manifest.get("generation", 0), int)):
        raise IndexCorruptError(
            f"The manifest of the index in {index_dir} is incomplete (bad files, embedder, chunking or generation). "
            f"Rebuild it with `rag index --rebuild --index-dir {index_dir}`."
        )
    if embedder_id is not None and built_with != embedder_id:
        raise IndexMismatchError(
            f"The index in {index_dir} was built with the embedder '{built_with}', "
            f"not the configured '{embedder_id}'. Rebuild it with `rag index --rebuild --index-dir {index_dir}` "
            f"or set --embedder {built_with}."
        )


def load_index(index_dir: Path, *, embedder_id: str | None = None, verify: bool = True) -> IndexData:
    """Load an index, verifying checksums and the embedder it was built with."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexMissingError(f"No index in {index_dir}. Build one with `rag index FOLDER --index-dir {index_dir}`.")
    check_compatible(manifest, index_dir, embedder_id)
    files = manifest["files"]
    for _key, info in files.items():
        path = index_dir / info["name"]
        if not path.exists():
            raise IndexCorruptError(f"{path} is missing. {rebuild_advice(index_dir)}")
        try:
            altered = verify and file_sha256(path) != info["sha256"]
        except OSError as exc:
            raise IndexCorruptError(
                f"{path} cannot be read ({_reason(exc)}). Make the index folder readable by this user, "
                f"or rebuild it with `rag index --rebuild --index-dir {index_dir}`."
            ) from exc
        if altered:
            raise IndexCorruptError(
                f"{path} is truncated or altered (checksum mismatch). {rebuild_advice(index_dir)}"
            )
    try:
        docs = [Document.from_dict(json.loads(line)) for line in (index_dir / files["documents"]["name"]).read_text("utf-8").splitlines()]
        chunks = [Chunk.from_dict(json.loads(line)) for line in (index_dir / files["chunks"]["name"]).read_text("utf-8").splitlines()]
        embeddings = np.load(index_dir / files["embeddings"]["name"])
        lexical = None
        if "lexical" in files:
            with np.load(index_dir / files["lexical"]["name"], allow_pickle=False) as z:
                lexical = {k: z[k] for k in z.files}
        sentences = None
        if "sentences" in files:
            with np.load(index_dir / files["sentences"]["name"], allow_pickle=False) as z:
                sentences = SentenceTable.from_state({k: z[k] for k in z.files})
        faiss_index = None
        if "vectors" in files:
            from rag.index.vectors import deserialize

            faiss_index = deserialize((index_dir / files["vectors"]["name"]).read_bytes())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"The index in {index_dir} cannot be read ({exc}). {rebuild_advice(index_dir)}") from exc
    if embeddings.shape[0] != len(chunks):
        raise IndexCorruptError(f"The index in {index_dir} is inconsistent (a vector per chunk expected). "
                                f"{rebuild_advice(index_dir)}")
    if lexical is not None:
        from rag.index.lexical import state_problem

        problem = state_problem(lexical)
        if problem:  # an index written by another version: say so now, not at the first question
            raise IndexMismatchError(f"The index in {index_dir} cannot be searched by words ({problem}). "
                                     f"{rebuild_advice(index_dir)}")
    if manifest["chunking"].get("context") != CHUNK_CONTEXT:
        # Still usable, but its chunks lack what retrieval now relies on (found when an
        # evaluation silently ran on an index built before the titles were added).
        log.warning("The index in %s was built by an older version, without the article titles in its chunks: "
                    "passages are found less well. Run `rag index --index-dir %s` to refresh it.", index_dir, index_dir)
    return IndexData(
        embedder_id=manifest["embedder"]["id"],
        dim=int(manifest["embedder"]["dim"]),
        chunk_size=int(manifest["chunking"]["size"]),
        chunk_overlap=int(manifest["chunking"]["overlap"]),
        documents={d.doc_id: d for d in docs},
        chunks=chunks,
        embeddings=embeddings.astype(np.float32, copy=False),
        lexical_state=lexical,
        faiss_index=faiss_index,
        sentences=sentences,
        generation=int(manifest.get("generation", 0)),
        copies=[CopyGroup.from_dict(g) for g in manifest.get("copies") or []],
    )
