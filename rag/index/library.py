"""The index of a running assistant: load it (or build it from ``docs_dir``),
notice when another process rewrote it, and change it (reindex, remove, add an
uploaded file).

A write adopts the index it has just written: no reload, no second checksum
pass. Thread-safe: one lock around every change.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import replace
from pathlib import Path

from rag.errors import ConfigError, IndexMissingError, IngestError, RagError
from rag.index.embed import Embedder
from rag.index.load import SUPPORTED_SUFFIXES, load_file, megabytes, safe_filename
from rag.index.store import MANIFEST, IndexData, load_index, read_manifest
from rag.index.sync import IndexReport, index_folder, remove_documents, sync_documents
from rag.settings import Settings

log = logging.getLogger(__name__)


class Library:
    """One index folder and the articles it was built from (``settings.docs_dir``)."""

    def __init__(self, settings: Settings, embedder: Embedder, *, data: IndexData | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self._data = data
        self._stamp = self._stamp_now() if data is not None else None
        self._lock = threading.RLock()

    @property
    def index_dir(self) -> Path:
        return self.settings.index_path

    @property
    def loaded(self) -> IndexData | None:
        """The index in memory, or None before the first use (loads nothing)."""
        return self._data

    @property
    def data(self) -> IndexData:
        """The index, loaded (or built from ``docs_dir`` when there is none) on first use."""
        with self._lock:
            if self._data is None:
                self._check_folder()
                if read_manifest(self.index_dir) is None:
                    self._build()
                else:
                    self._reload()
            assert self._data is not None
            return self._data

    def _check_folder(self) -> None:
        if self.index_dir.exists() and not self.index_dir.is_dir():
            raise ConfigError(f"{self.index_dir} is a file, not an index folder: "
                              "give --index-dir a folder (new or holding an index).")

    def _build(self) -> None:
        docs = Path(self.settings.docs_dir)
        if not docs.is_dir():
            raise IndexMissingError(
                f"No index in {self.index_dir} and no folder {docs} to build one from. "
                f"Run `rag index FOLDER --index-dir {self.index_dir}`."
            )
        log.info("no index in %s: building it from %s", self.index_dir, docs)
        self.reindex(docs)

    def _stamp_now(self) -> tuple[int, int] | None:
        try:
            st = (self.index_dir / MANIFEST).stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _reload(self) -> None:
        """Load the index from disk again (callers hold the lock)."""
        stamp = self._stamp_now()
        self._data = load_index(self.index_dir, embedder_id=self.embedder.id)
        self._stamp = stamp

    def _adopt(self, report: IndexReport) -> IndexReport:
        """Keep the index a write has just produced (callers hold the lock)."""
        self._data = report.data if report.data is not None else self._data
        self._stamp = self._stamp_now()
        return report

    def refresh(self) -> bool:
        """Pick up an index rewritten by another process (``rag index``, another web worker).

        Costs one ``stat`` per question; the manifest is replaced atomically and
        last, so a changed stamp means a complete new generation. On failure the
        index in memory stays in use. Returns True when it reloaded.
        """
        with self._lock:
            if self._data is None or self._stamp_now() in (None, self._stamp):
                return False
            try:
                self._reload()
            except RagError as exc:
                log.warning("keeping the loaded index: %s", exc)
                self._stamp = self._stamp_now()
                return False
            log.info("index %s changed on disk: reloaded", self.index_dir)
            return True

    def reindex(self, folder: str | Path | None = None, *, rebuild: bool = False, progress: bool = True) -> IndexReport:
        """Index ``folder`` (default: settings.docs_dir) incrementally."""
        s = self.settings
        with self._lock:
            self._check_folder()
            return self._adopt(index_folder(
                folder or s.docs_dir, index_dir=self.index_dir, embedder=self.embedder,
                chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap, max_bytes=int(s.max_file_mb * 1e6),
                rebuild=rebuild, progress=progress, index_type=s.index_type, current=self._data,
            ))

    def remove(self, doc_ids: list[str]) -> IndexReport:
        """Remove documents from the index by ``doc_id`` (their files are left alone)."""
        with self._lock:
            return self._adopt(remove_documents(list(doc_ids), index_dir=self.index_dir, embedder=self.embedder,
                                                index_type=self.settings.index_type, current=self._data))

    def add_file(self, source: str | Path, *, filename: str | None = None, progress: bool = False) -> IndexReport:
        """Copy one uploaded file into ``<docs_dir>/uploads/`` and index it (others untouched).

        The file name is sanitised (no path parts, safe characters) and never
        overwrites another article: a clash gets a numbered name. Unreadable
        files raise :class:`IngestError`.
        """
        s = self.settings
        max_bytes = s.max_file_mb * 1e6
        name = safe_filename(filename or Path(source).name)
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise IngestError(f"{name}: unsupported file type; use {', '.join(SUPPORTED_SUFFIXES)}.")
        size = Path(source).stat().st_size
        if size > max_bytes:
            raise IngestError(f"{name}: file too large ({megabytes(size)} > {megabytes(max_bytes)}).")
        uploads = Path(s.docs_dir) / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        target = uploads / name
        stem, suffix, n = target.stem, target.suffix, 1
        while target.exists():
            n += 1
            target = uploads / f"{stem}-{n}{suffix}"
        doc_id = str(target.relative_to(Path(s.docs_dir)))
        doc, _ = load_file(source, doc_id=doc_id, max_bytes=int(max_bytes))
        doc = replace(doc, source=str(target.absolute()))
        with self._lock:
            duplicate = next((d.doc_id for d in self.data.documents.values() if d.sha256 == doc.sha256), None)
            if duplicate:
                raise IngestError(f"{name} is a duplicate of {duplicate}, already indexed.")
            shutil.copyfile(source, target)
            return self._adopt(sync_documents(
                [doc], index_dir=self.index_dir, embedder=self.embedder, chunk_size=s.chunk_size,
                chunk_overlap=s.chunk_overlap, remove_missing=False, progress=progress,
                index_type=s.index_type, current=self._data,
            ))

    def document_text(self, doc_id: str) -> str:
        return self.data.documents[doc_id].text

    def documents(self) -> list[dict[str, object]]:
        """Indexed articles: doc_id, title, date, language, number of chunks."""
        counts: dict[str, int] = {}
        for c in self.data.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return [
            {"doc_id": d.doc_id, "title": d.title, "date": d.date, "language": d.language,
             "chunks": counts.get(d.doc_id, 0)}
            for d in self.data.documents.values()
        ]
