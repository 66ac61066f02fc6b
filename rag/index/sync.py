"""Build and update the index: load → chunk → embed → store, incrementally.

Documents are keyed by ``doc_id`` and compared by the sha256 of their text:
unchanged documents keep their chunks and embeddings (nothing re-embedded),
changed or new ones are re-chunked and embedded, vanished ones are removed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexMismatchError, IndexMissingError, RagError
from rag.index import vectors
from rag.index.chunk import CHUNK_CONTEXT, chunk_document, retrieval_texts, unit_spans
from rag.index.embed import Embedder
from rag.index.load import LoadOutcome, load_folder
from rag.index.store import (
    IndexData,
    SentenceTable,
    check_compatible,
    index_lock,
    load_index,
    read_manifest,
    save_index,
)
from rag.news.copies import CopyGroup, find_copies
from rag.records import Chunk, Document

log = logging.getLogger(__name__)


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    outcomes: list[LoadOutcome] = field(default_factory=list)
    retagged: list[str] = field(default_factory=list)  # same text, new date/outlet (metadata.csv edited)
    copies: list[CopyGroup] = field(default_factory=list)
    n_chunks: int = 0
    embedded_chunks: int = 0
    seconds: float = 0.0
    index_type: str = ""
    # The index as written (or kept), so the caller can use it without reading
    # and checksumming the files again; not part of the report's JSON.
    data: IndexData | None = field(default=None, repr=False, compare=False)

    @property
    def chunks_per_s(self) -> float:
        return self.embedded_chunks / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged"
            + (f" ({len(self.retagged)} with new metadata)" if self.retagged else "")
            + (f", {sum(len(g.copies) for g in self.copies)} copies of another article" if self.copies else "")
            + f"; {self.n_chunks} chunks "
            f"({self.embedded_chunks} embedded in {self.seconds:.1f} s)"
            + (f", {self.index_type} vector index" if self.index_type else "")
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "unchanged": self.unchanged, "n_chunks": self.n_chunks,
            "embedded_chunks": self.embedded_chunks, "seconds": round(self.seconds, 3),
            "index_type": self.index_type,
            "files": [o.to_dict() for o in self.outcomes],
            "retagged": self.retagged, "copies": [g.to_dict() for g in self.copies],
        }


def _existing(index_dir: Path, embedder: Embedder, chunk_size: int, chunk_overlap: int,
              rebuild: bool, current: IndexData | None = None) -> IndexData | None:
    if rebuild:  # before reading: --rebuild must also replace an unreadable manifest
        return None
    manifest = read_manifest(index_dir)
    if manifest is None:
        return None
    check_compatible(manifest, index_dir, None)  # a readable, complete manifest of this format
    built_with = manifest["embedder"]["id"]
    if built_with != embedder.id:
        raise IndexMismatchError(
            f"The index in {index_dir} was built with the embedder '{built_with}', not '{embedder.id}'. "
            f"Run `rag index --rebuild --index-dir {index_dir}` to rebuild it with the new embedder."
        )
    chunking = manifest.get("chunking", {})
    if chunking != {"size": chunk_size, "overlap": chunk_overlap, "context": CHUNK_CONTEXT}:
        log.info("chunk settings changed: every document is re-chunked")
        return None
    return _current_or_load(index_dir, manifest, embedder, current)


def _current_or_load(index_dir: Path, manifest: dict[str, Any], embedder: Embedder,
                     current: IndexData | None) -> IndexData:
    """``current`` when it is the generation on disk (no second read and checksum pass), else the files."""
    documents = manifest.get("documents") or {}
    if (current is not None and current.generation == manifest.get("generation")
            and current.embedder_id == embedder.id and len(documents) == len(current.documents)
            and all(documents.get(k, {}).get("sha256") == d.sha256 for k, d in current.documents.items())):
        return current
    return load_index(index_dir, embedder_id=embedder.id)


def lexical_state(chunks: list[Chunk], documents: dict[str, Document]) -> dict[str, np.ndarray] | None:
    from rag.index.lexical import LexicalIndex

    return LexicalIndex.build(retrieval_texts(chunks, documents), [c.language for c in chunks]).to_state()


def _sentences(old: IndexData | None, keep_docs: list[Document], to_embed: list[Document],
               embedder: Embedder, chunk_size: int, progress: bool) -> SentenceTable:
    """Sentence table: kept documents' rows reused, new documents' sentences embedded once."""
    parts: list[SentenceTable] = []
    if old is not None and old.sentences is not None:
        keep_ids = np.array(sorted(d.doc_id for d in keep_docs), dtype=np.str_)
        parts.append(old.sentences.select(np.isin(old.sentences.doc_ids, keep_ids)))
    elif keep_docs:
        to_embed = keep_docs + to_embed  # an index from before sentence vectors: embed them all
    doc_ids, starts, ends, texts = [], [], [], []
    for d in to_embed:
        for s, e in unit_spans(d.text, chunk_size):
            doc_ids.append(d.doc_id)
            starts.append(s)
            ends.append(e)
            texts.append(d.text[s:e])
    if texts:
        vecs = embedder.encode_passages(texts, progress=progress).astype(np.float16)
        parts.append(SentenceTable(np.array(doc_ids, dtype=np.str_), np.array(starts, np.int32),
                                   np.array(ends, np.int32), vecs))
    return SentenceTable.concat(parts, embedder.dim)


def sync_documents(docs: list[Document], *, index_dir: Path, embedder: Embedder, chunk_size: int,
                   chunk_overlap: int, rebuild: bool = False, remove_missing: bool | Callable[[Document], bool] = True,
                   progress: bool = True, index_type: str = "auto", current: IndexData | None = None) -> IndexReport:
    """Make the index hold ``docs`` (and, unless ``remove_missing``, keep the others).

    ``remove_missing`` may be a predicate: only the absent documents it accepts are removed.

    Chunk ids (``doc_id:start-end``) depend only on a document's text, so they
    stay stable across updates; unchanged documents are not re-embedded.
    ``current`` is the index already in memory, used instead of reading the
    files again when it is still the generation on disk.
    """
    with index_lock(index_dir):
        return _sync(docs, index_dir=index_dir, embedder=embedder, chunk_size=chunk_size,
                     chunk_overlap=chunk_overlap, rebuild=rebuild, remove_missing=remove_missing,
                     progress=progress, index_type=index_type, current=current)


def _sync(docs: list[Document], *, index_dir: Path, embedder: Embedder, chunk_size: int, chunk_overlap: int,
          rebuild: bool, remove_missing: bool | Callable[[Document], bool], progress: bool, index_type: str,
          current: IndexData | None = None) -> IndexReport:
    """:func:`sync_documents` with the index lock held."""
    t0 = time.perf_counter()
    report = IndexReport()
    old = _existing(index_dir, embedder, chunk_size, chunk_overlap, rebuild, current)
    old_docs = old.documents if old else {}
    new_by_id = {d.doc_id: d for d in docs}
    keep_docs: list[Document] = []
    to_embed: list[Document] = []
    for d in docs:
        prev = old_docs.get(d.doc_id)
        if prev is not None and prev.sha256 == d.sha256:
            report.unchanged.append(d.doc_id)
            # Same text, so chunks and vectors are kept; the metadata (an edited
            # metadata.csv) is taken from the file as loaded now.
            keep_docs.append(d)
            if d != prev:
                report.retagged.append(d.doc_id)
        else:
            (report.updated if prev is not None else report.added).append(d.doc_id)
            to_embed.append(d)
    for doc_id, prev in old_docs.items():
        if doc_id in new_by_id:
            continue
        if remove_missing is True or (callable(remove_missing) and remove_missing(prev)):
            report.removed.append(doc_id)
        else:
            report.unchanged.append(doc_id)
            keep_docs.append(prev)

    chunks: list[Chunk] = []
    rows: list[np.ndarray] = []
    if old is not None:
        keep_ids = {d.doc_id for d in keep_docs}
        mask = np.array([c.doc_id in keep_ids for c in old.chunks], dtype=bool)
        chunks.extend(c for c, m in zip(old.chunks, mask) if m)
        if mask.any():
            rows.append(old.embeddings[mask])
    new_chunks = [c for d in to_embed for c in chunk_document(d, chunk_size, chunk_overlap)]
    if new_chunks:
        log.info("embedding %d chunks from %d documents", len(new_chunks), len(to_embed))
        rows.append(embedder.encode_passages(retrieval_texts(new_chunks, {d.doc_id: d for d in to_embed}),
                                             progress=progress))
    chunks.extend(new_chunks)
    # float32 as the store writes it, so the index kept in memory equals a fresh load.
    embeddings = np.vstack(rows).astype(np.float32, copy=False) if rows else np.zeros((0, embedder.dim), np.float32)
    sentences = _sentences(old, keep_docs, to_embed, embedder, chunk_size, progress)
    if not chunks:
        raise RagError("No document could be indexed: the folder holds no readable article.")
    documents = {d.doc_id: d for d in keep_docs + to_embed}
    copies = find_copies({k: d.text for k, d in documents.items()}, dates={k: d.day for k, d in documents.items()})
    report.copies = copies
    changed = (bool(report.added or report.updated or report.removed or report.retagged) or old is None
               or old.sentences is None or copies != old.copies)
    kind = vectors.choose_kind(len(embeddings), index_type)
    if not changed and old is not None and old.faiss_index is not None and vectors.describe(old.faiss_index) == kind:
        faiss_index = old.faiss_index  # nothing changed: no rebuild (an IVF index would be retrained)
    else:
        faiss_index = vectors.build(embeddings, kind=kind, threads=os.cpu_count() or 1)
        changed = True
    data = IndexData(
        embedder_id=embedder.id, dim=int(embeddings.shape[1]), chunk_size=chunk_size,
        chunk_overlap=chunk_overlap, documents=documents, chunks=chunks, embeddings=embeddings,
        lexical_state=lexical_state(chunks, documents), sentences=sentences, faiss_index=faiss_index,
        generation=old.generation if old else 0, copies=copies,
    )
    if changed:
        save_index(data, index_dir)
    report.data = data
    report.n_chunks = len(chunks)
    report.embedded_chunks = len(new_chunks)
    report.index_type = vectors.describe(data.faiss_index)
    report.seconds = time.perf_counter() - t0
    return report


def index_folder(folder: str | Path, *, index_dir: Path, embedder: Embedder, chunk_size: int,
                 chunk_overlap: int, max_bytes: int | None = None, rebuild: bool = False,
                 progress: bool = True, index_type: str = "auto", current: IndexData | None = None) -> IndexReport:
    """Index every article of ``folder``: add new ones, update changed ones, and remove
    those whose file under ``folder`` is gone. Articles from other folders are kept."""
    t0 = time.perf_counter()
    docs, outcomes = load_folder(folder, max_bytes=max_bytes)
    root = Path(folder).resolve()
    report = sync_documents(docs, index_dir=index_dir, embedder=embedder, chunk_size=chunk_size,
                            chunk_overlap=chunk_overlap, rebuild=rebuild, progress=progress,
                            remove_missing=lambda d: Path(d.source).resolve().is_relative_to(root),
                            index_type=index_type, current=current)
    report.outcomes = outcomes
    report.seconds = time.perf_counter() - t0
    return report


def remove_documents(doc_ids: list[str], *, index_dir: Path, embedder: Embedder,
                     index_type: str = "auto", current: IndexData | None = None) -> IndexReport:
    """Remove documents from the index by ``doc_id``; the others are kept as they are.

    Unknown ids raise :class:`RagError` naming the closest known ones, and
    nothing is changed.
    """
    import difflib

    t0 = time.perf_counter()
    with index_lock(index_dir):
        manifest = read_manifest(index_dir)
        if manifest is None:
            raise IndexMissingError(f"No index in {index_dir}. Build one with `rag index FOLDER --index-dir {index_dir}`.")
        data = _current_or_load(index_dir, manifest, embedder, current)
        unknown = [d for d in doc_ids if d not in data.documents]
        if unknown:
            hints = {u: difflib.get_close_matches(u, list(data.documents), n=3, cutoff=0.6) for u in unknown}
            detail = "; ".join(f"{u!r}" + (f" (did you mean {', '.join(h)}?)" if h else "") for u, h in hints.items())
            raise RagError(f"Not in the index {index_dir}: {detail}. `rag index --json` lists the documents.")
        gone = set(doc_ids)
        keep = [d for doc_id, d in data.documents.items() if doc_id not in gone]
        if not keep:
            raise RagError("Removing every document would leave an empty index; delete the index folder instead.")
        report = _sync(keep, index_dir=index_dir, embedder=embedder, chunk_size=data.chunk_size,
                       chunk_overlap=data.chunk_overlap, rebuild=False, remove_missing=True, progress=False,
                       index_type=index_type, current=data)
    report.seconds = time.perf_counter() - t0
    return report
