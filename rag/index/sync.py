"""Build and update the index: load → chunk → embed → store, incrementally.

Documents are keyed by ``doc_id`` and compared by the sha256 of their text:
unchanged documents keep their chunks and embeddings (nothing re-embedded),
changed or new ones are re-chunked and embedded, vanished ones are removed.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexMismatchError, IndexMissingError, IngestError, RagError
from rag.index import vectors
from rag.index.chunk import CHUNK_CONTEXT, chunk_document, retrieval_texts, unit_spans
from rag.index.embed import Embedder
from rag.index.load import LoadOutcome, load_file, load_folder
from rag.index.store import (
    IndexData,
    SentenceTable,
    check_compatible,
    index_lock,
    load_index,
    read_documents,
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
    # Why a removed article went, when known ("file not found: seeds/a.txt"): the summary names them.
    removed_reasons: dict[str, str] = field(default_factory=dict)
    rebuilt: bool = False  # every article re-read and re-embedded: all count as added
    # Rebuilt from the text indexed before: their file (a relative path) is not found from here.
    kept_unread: list[str] = field(default_factory=list)
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
            ("rebuilt, " if self.rebuilt else "")
            + f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged"
            + (f" ({len(self.retagged)} with new metadata)" if self.retagged else "")
            + (f", {sum(len(g.copies) for g in self.copies)} copies of another article" if self.copies else "")
            + f"; {self.n_chunks} chunks "
            f"({self.embedded_chunks} embedded in {self.seconds:.1f} s)"
            + (f", {self.index_type} vector index" if self.index_type else "")
            + removed_note(self.removed_reasons)
            + (f"; kept as indexed, their file not found from {Path.cwd()}: {', '.join(self.kept_unread[:10])}"
               + (" …" if len(self.kept_unread) > 10 else "") if self.kept_unread else "")
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "unchanged": self.unchanged, "n_chunks": self.n_chunks,
            "embedded_chunks": self.embedded_chunks, "seconds": round(self.seconds, 3),
            "index_type": self.index_type,
            "files": [o.to_dict() for o in self.outcomes],
            "retagged": self.retagged, "copies": [g.to_dict() for g in self.copies],
            "removed_reasons": self.removed_reasons, "rebuilt": self.rebuilt, "kept_unread": self.kept_unread,
        }


def removed_note(reasons: dict[str, str], limit: int = 10) -> str:
    """The removed articles named with why, for the end of the summary line.

    >>> removed_note({"a.txt": "file not found: seeds/a.txt"})
    '; removed a.txt (file not found: seeds/a.txt)'
    >>> removed_note({f"{i}.txt": "gone" for i in range(3)}, limit=2)
    '; removed 0.txt (gone), 1.txt (gone) and 1 more'
    >>> removed_note({})
    ''
    """
    if not reasons:
        return ""
    items = [f"{doc_id} ({why})" for doc_id, why in list(reasons.items())[:limit]]
    more = f" and {len(reasons) - limit} more" if len(reasons) > limit else ""
    return "; removed " + ", ".join(items) + more


def _existing(index_dir: Path, embedder: Embedder, chunk_size: int, chunk_overlap: int,
              rebuild: bool, current: IndexData | None = None,
              previous: dict[str, Document] | None = None) -> tuple[IndexData | None, dict[str, Document]]:
    """The index whose chunks and vectors can be reused (None: embed everything), and the
    documents the index held before this change (to report what goes, and to keep it)."""
    if rebuild:  # before reading: --rebuild must also replace an unreadable manifest
        return None, previous if previous is not None else read_documents(index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None:
        return None, {}
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
        return None, previous if previous is not None else read_documents(index_dir)
    data = _current_or_load(index_dir, manifest, embedder, current)
    return data, data.documents


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
          current: IndexData | None = None, previous: dict[str, Document] | None = None) -> IndexReport:
    """:func:`sync_documents` with the index lock held.

    ``previous``: the documents the index held, already read by the caller (for a rebuild).
    """
    t0 = time.perf_counter()
    report = IndexReport()
    old, old_docs = _existing(index_dir, embedder, chunk_size, chunk_overlap, rebuild, current, previous)
    # Without a reusable index (--rebuild, new chunk settings) every article is embedded
    # again and counts as added; the articles it held are still kept or reported removed.
    report.rebuilt = old is None and bool(old_docs)
    new_by_id = {d.doc_id: d for d in docs}
    keep_docs: list[Document] = []
    to_embed: list[Document] = []
    for d in docs:
        prev = old_docs.get(d.doc_id) if old is not None else None
        if prev is not None and prev.sha256 == d.sha256:
            report.unchanged.append(d.doc_id)
            # Same text, so chunks and vectors are kept; the metadata (an edited
            # metadata.csv) is taken from the file as loaded now.
            keep_docs.append(d)
            if replace(d, source=prev.source) != prev:  # a path written another way is not new metadata
                report.retagged.append(d.doc_id)
        else:
            (report.updated if prev is not None else report.added).append(d.doc_id)
            to_embed.append(d)
    for doc_id, prev in old_docs.items():
        if doc_id in new_by_id:
            continue
        if remove_missing is True or (callable(remove_missing) and remove_missing(prev)):
            report.removed.append(doc_id)
        elif old is not None:
            report.unchanged.append(doc_id)
            keep_docs.append(prev)
        else:  # kept, but its vectors are not reusable: embedded again from the text indexed before
            report.added.append(doc_id)
            to_embed.append(prev)

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
    those whose file under ``folder`` is gone. Articles from other folders are kept.

    With ``rebuild`` every article is read and embedded again: ``folder``'s, and those
    the index held from other folders, re-read from their files; an article whose file
    is gone or unreadable is removed, and the report says which and why.
    """
    t0 = time.perf_counter()
    docs, outcomes = load_folder(folder, max_bytes=max_bytes)
    root = Path(folder).resolve()
    with index_lock(index_dir):
        previous: dict[str, Document] | None = None
        gone: dict[str, str] = {}
        if rebuild:
            previous = read_documents(index_dir)
            others, gone = reread_other_folders(previous, root, taken={d.doc_id for d in docs}, max_bytes=max_bytes)
            docs = docs + others
        report = _sync(docs, index_dir=index_dir, embedder=embedder, chunk_size=chunk_size,
                       chunk_overlap=chunk_overlap, rebuild=rebuild, progress=progress,
                       remove_missing=lambda d: d.doc_id in gone or _under(d.source, root),
                       index_type=index_type, current=current, previous=previous)
    report.outcomes = outcomes
    why = {o.doc_id or o.path: o.detail for o in outcomes if o.status != "loaded"}
    report.removed_reasons = {doc_id: gone.get(doc_id) or why.get(doc_id) or f"no longer in {folder}"
                              for doc_id in report.removed}
    if previous:
        read = {d.doc_id for d in docs}
        report.kept_unread = sorted(k for k, d in previous.items()
                                    if k not in read and k not in gone and not _under(d.source, root))
    report.seconds = time.perf_counter() - t0
    return report


def _under(source: str, root: Path) -> bool:
    """Whether an article's file lies in ``root`` (relative paths are read from the working folder)."""
    return Path(source).resolve().is_relative_to(root)


def source_folder(source: str | Path, doc_id: str) -> Path:
    """The folder an article was indexed from: its file's path without the ``doc_id`` part
    (a doc_id is the file's path relative to the indexed folder).

    >>> str(source_folder("/data/news/uploads/a.txt", "uploads/a.txt")), str(source_folder("seeds/b.txt", "x.txt"))
    ('/data/news', 'seeds')
    """
    path, parts = Path(source), Path(doc_id).parts
    if parts and path.parts[-len(parts):] == parts and len(path.parts) > len(parts):
        return Path(*path.parts[:-len(parts)])
    return path.parent


def indexed_folder(previous: dict[str, Document]) -> Path | None:
    """The folder most of the indexed articles came from, if it still exists: what a rebuild
    with no folder given reads (the others' articles are read again from theirs).

    >>> indexed_folder({}) is None
    True
    """
    folders = Counter(source_folder(d.source, doc_id) for doc_id, d in previous.items() if d.source)
    return next((f for f, _ in folders.most_common() if f.is_dir()), None)


def reread_other_folders(previous: dict[str, Document], root: Path, *, taken: set[str],
                         max_bytes: int | None = None) -> tuple[list[Document], dict[str, str]]:
    """Read again, from their files, the indexed articles that came from folders other than ``root``.

    Returns the articles read and, for those that could not be, why (``doc_id -> reason``).
    Articles of ``root`` and doc_ids in ``taken`` (just loaded from ``root``) are left out, and
    so are those recorded by a relative path that does not lead to a file from here (the
    caller keeps their indexed text).
    Each is read as indexing its own folder reads it, with that folder's ``metadata.csv``.
    """
    docs: list[Document] = []
    gone: dict[str, str] = {}
    for doc_id, prev in previous.items():
        if doc_id in taken or _under(prev.source, root):
            continue
        path = Path(prev.source)
        if not path.is_file():
            # Indexes written before sources were absolute hold paths relative to where
            # `rag index` ran: such a file may only be out of sight from here, so the
            # article is kept as indexed (left out of both lists) rather than lost.
            if path.is_absolute():
                gone[doc_id] = f"file not found: {prev.source}"
            continue
        try:
            doc, _ = load_file(path, doc_id=doc_id, max_bytes=max_bytes, root=source_folder(path, doc_id))
        except IngestError as exc:
            gone[doc_id] = f"{prev.source}: {exc}"
            continue
        docs.append(doc)
    if gone:
        log.info("rebuild: %d article(s) from other folders cannot be read again: %s", len(gone), gone)
    return docs, gone


def holds(doc_ids: list[str], limit: int = 20) -> str:
    """The doc_ids an index holds, for a message about an unknown one (no command lists them).

    >>> holds(["b.txt", "a.txt"])
    'The index holds 2 documents: a.txt, b.txt.'
    >>> holds([f"{i}.txt" for i in range(4)], limit=2)
    'The index holds 4 documents: 0.txt, 1.txt and 2 more (all in its manifest.json, under "documents").'
    """
    names = sorted(doc_ids)
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        return (f"The index holds {len(names)} documents: {shown} and {len(names) - limit} more "
                f'(all in its manifest.json, under "documents").')
    return f"The index holds {len(names)} document{'s' if len(names) != 1 else ''}: {shown}."


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
            raise RagError(f"Not in the index {index_dir}: {detail}. {holds(list(data.documents))}")
        gone = set(doc_ids)
        keep = [d for doc_id, d in data.documents.items() if doc_id not in gone]
        if not keep:
            raise RagError("Removing every document would leave an empty index; delete the index folder instead.")
        report = _sync(keep, index_dir=index_dir, embedder=embedder, chunk_size=data.chunk_size,
                       chunk_overlap=data.chunk_overlap, rebuild=False, remove_missing=True, progress=False,
                       index_type=index_type, current=data)
    report.seconds = time.perf_counter() - t0
    return report
