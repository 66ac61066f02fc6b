"""Load articles from a folder: .txt, .md, .html, .pdf.

Every file gets an outcome (indexed, decoded as X, skipped because Y,
duplicate of Z) so a messy folder never stops the rest from being indexed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.errors import IngestError
from rag.news.sidecar import SIDECAR_NAME
from rag.records import Document
from rag.text.sentences import DATE_PREFIX, normalize_text

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
_ISO_DATE = re.compile(r"\b((?:19|20)\d{2}-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)\b")


@dataclass(frozen=True)
class LoadOutcome:
    """What happened to one file."""

    path: str
    status: str  # "loaded" | "skipped" | "duplicate"
    detail: str = ""
    doc_id: str | None = None
    date: str | None = None
    date_source: str | None = None
    outlet: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def dated(self) -> str:
        """The article's date, where it came from and its outlet, for the index report.

        >>> LoadOutcome("a.txt", "loaded", "", "a.txt", "2024-03-15", "metadata.csv line 2", "L'Écho").dated()
        "2024-03-15 (metadata.csv line 2) · L'Écho"
        >>> LoadOutcome("b.txt", "loaded").dated()
        'no date'
        """
        text = f"{self.date} ({self.date_source})" if self.date else "no date"
        return f"{text} · {self.outlet}" if self.outlet else text


def megabytes(n_bytes: float) -> str:
    """A size for messages, with enough digits to tell two sizes apart.

    >>> megabytes(50_000_000), megabytes(20_480), megabytes(100_001)
    ('50 MB', '0.02048 MB', '0.100001 MB')
    """
    return f"{n_bytes / 1e6:.6g} MB"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def safe_filename(name: str) -> str:
    """A file name safe to create inside a folder: no directories, no traversal.

    >>> safe_filename("../../etc/passwd.txt"), safe_filename("Mon article (1).md")
    ('passwd.txt', 'Mon_article_1_.md')
    """
    base = os.path.basename(name.replace("\\", "/")).strip()
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._")
    return base[:120] or "upload.txt"


# Byte-order marks (UTF-32 before UTF-16: its little-endian mark starts the same).
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode file bytes, returning ``(text, encoding)``.

    UTF-16/32 when a byte-order mark says so; else UTF-8 (with or without BOM);
    then Windows-1252, which also covers Latin-1 text in practice. Binary
    content raises :class:`IngestError`; a stray NUL byte in text is dropped.

    >>> decode_bytes("café".encode("cp1252"))
    ('café', 'cp1252')
    >>> decode_bytes("\\ufeffÉté".encode("utf-16-le")), decode_bytes(b"caf\\xc3\\xa9\\x00 ok")
    (('Été', 'utf-16'), ('café ok', 'utf-8'))
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec).lstrip("\ufeff"), codec
            except UnicodeDecodeError:
                break
    sample = data[:8192]
    # Binary formats are full of NUL bytes; text has none, bar the odd stray one.
    stray_nul = sample.count(b"\x00")
    if stray_nul > 1:
        raise IngestError("binary content (NUL bytes), not text")
    data = data.replace(b"\x00", b"")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
        if not stray_nul:
            return text, encoding
    except UnicodeDecodeError:
        text = ""
    if not text:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.05 * max(1, min(len(text), 8192)):
        raise IngestError("binary content (control characters), not text")
    return text, encoding


def extract_title(text: str) -> str:
    """First non-empty line (Markdown marks removed) that is not labelled metadata, at most 200 chars.

    A ``Titre :``/``Title:`` line gives the title without its label; ``Date :``,
    ``Source :``, ``Auteur :``, ``Publié le …`` lines at the head are never the title.
    Only the metadata is read: the document text is left as it is.

    >>> extract_title("\\n# Le titre\\nCorps")
    'Le titre'
    >>> extract_title("Date : 2024-05-02\\nHélios lève 45 M€\\nCorps"), extract_title("Titre : Hélios\\nCorps")
    ('Hélios lève 45 M€', 'Hélios')
    >>> extract_title(" date 2023-10 La Silicon Valley a misé gros")
    'La Silicon Valley a misé gros'
    """
    from rag.news.head import HEAD_LINES, metadata_line, strip_marks

    head = 0
    for raw in text.split("\n"):
        line = strip_marks(raw)
        if not line:
            continue
        head += 1
        dated = DATE_PREFIX.match(line)
        if dated and line[dated.end():].strip():  # " date 2023-10 Le titre…": the title follows the date
            return line[dated.end():].strip()[:200]
        meta = metadata_line(line) if head <= HEAD_LINES else None
        if meta is None:
            return line[:200]
        if meta[0] in ("titre", "title") and meta[1]:
            return meta[1][:200]
    return ""


def extract_date(text: str) -> str | None:
    """A date given by the text itself: a leading ``date YYYY-MM`` or an ISO date near the top.

    >>> extract_date(" date 2023-10 La Silicon Valley")
    '2023-10'
    >>> extract_date("Pas de date ici") is None
    True
    """
    m = DATE_PREFIX.match(text)
    if m:
        return m.group(1)
    m = _ISO_DATE.search(text[:300])
    return m.group(1) if m else None


def _html_text(raw: str) -> tuple[str, str | None]:
    try:
        import trafilatura
    except ImportError as exc:  # pragma: no cover - dependency of the project
        from rag.errors import missing_dependency

        raise missing_dependency("trafilatura", "Reading HTML") from exc
    text = trafilatura.extract(raw, include_comments=False, include_tables=True, favor_recall=True)
    meta = trafilatura.extract_metadata(raw)
    title = getattr(meta, "title", None) if meta is not None else None
    if not text:
        raise IngestError("no main text found in the HTML")
    return text, title


class _PdfRepairs(logging.Handler):
    """Collects what pypdf logs while one thread reads one file, instead of printing it.

    pypdf logs a WARNING for every defect it works around ("EOF marker not found",
    "Ignoring wrong pointing object 6 0"): printed as they come, they interleave with
    the report of ``rag index`` and name no file. They become one line per file.
    """

    _lock = threading.Lock()
    _active = 0  # readers in progress: pypdf's records stay off the terminal while any runs
    _propagate = True

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            try:
                self.messages.append(" ".join(record.getMessage().split()))
            except Exception:  # a record that cannot be formatted still counts as a repair
                self.messages.append(str(record.msg))

    @classmethod
    @contextlib.contextmanager
    def collect(cls) -> Iterator[list[str]]:
        logger = logging.getLogger("pypdf")
        handler = cls()
        with cls._lock:
            if cls._active == 0:
                cls._propagate = logger.propagate
                logger.propagate = False
            cls._active += 1
            logger.addHandler(handler)
        try:
            yield handler.messages
        finally:
            with cls._lock:
                logger.removeHandler(handler)
                cls._active -= 1
                if cls._active == 0:
                    logger.propagate = cls._propagate


def pdf_note(repairs: list[str]) -> str:
    """The load note of a PDF: ``pdf``, plus how many defects pypdf worked around.

    >>> pdf_note([])
    'pdf'
    >>> pdf_note(["invalid pdf header: b'this '", "EOF marker not found"])
    "pdf, read despite 2 defects (invalid pdf header: b'this '; …): its text may be incomplete"
    """
    if not repairs:
        return "pdf"
    first = repairs[0][:80] + ("; …" if len(repairs) > 1 else "")
    return (f"pdf, read despite {len(repairs)} defect{'s' if len(repairs) > 1 else ''} ({first}): "
            "its text may be incomplete")


def _pdf_text(path: Path) -> tuple[str, str | None, list[str]]:
    """The text of a PDF, its creation date, and the defects pypdf worked around while reading it."""
    try:
        from pypdf import PdfReader
    except ImportError as exc:  # pragma: no cover
        from rag.errors import missing_dependency

        raise missing_dependency("pypdf", "Reading PDF") from exc
    with _PdfRepairs.collect() as repairs:
        try:
            reader = PdfReader(str(path))
            pages = [page.extract_text() or "" for page in reader.pages]
            created = (reader.metadata or {}).get("/CreationDate")
        except Exception as exc:  # pypdf raises many types on malformed files
            raise IngestError(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    text = "\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise IngestError("the PDF has no extractable text (scanned image?)")
    return text, str(created) if created else None, list(repairs)


def load_file(path: str | os.PathLike[str], *, doc_id: str | None = None, max_bytes: int | None = None,
              root: str | os.PathLike[str] | None = None) -> tuple[Document, str]:
    """Load one file into a :class:`Document`; returns it and a note (encoding used).

    The article's date, outlet, URL and author come from :func:`rag.news.dates.article_meta`:
    ``metadata.csv`` in ``root`` (default: the file's folder) or front matter, a header
    line, HTML or PDF metadata, the file name, or else a lower bound inferred from the text.
    A sidecar row that cannot be read raises :class:`IngestError` saying how to fix it.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"unsupported file type {suffix or '(none)'}; use {', '.join(SUPPORTED_SUFFIXES)}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"cannot read file ({exc.strerror})") from exc
    if max_bytes is not None and size > max_bytes:
        raise IngestError(f"file too large ({megabytes(size)} > {megabytes(max_bytes)} limit)")
    if size == 0:
        raise IngestError("empty file")
    note = ""
    title: str | None = None
    html: str | None = None
    created: str | None = None
    try:
        if suffix == ".pdf":
            text, created, repairs = _pdf_text(path)
            note = pdf_note(repairs)
            if repairs:  # the report prints no line for a loaded file: this is its one line
                log.warning("%s %s", path.name, note.removeprefix("pdf, "))
        else:
            text, encoding = decode_bytes(path.read_bytes())
            note = f"decoded as {encoding}"
            if suffix in (".html", ".htm"):
                html = text
                text, title = _html_text(text)
    except OSError as exc:
        raise IngestError(f"cannot read file ({exc.strerror})") from exc
    text = normalize_text(text)
    if not text.strip():
        raise IngestError("no text content")
    from rag.text.analysis import detect_language

    doc_id = doc_id or path.name
    meta = _article_meta(text, root if root is not None else path.parent,
                         doc_id if root is not None else path.name, html, created)
    doc = Document(
        doc_id=doc_id,
        title=(title or extract_title(text)),
        text=text,
        source=str(path.absolute()),  # a rebuild reads it again, from whatever folder it is run
        sha256=sha256_text(text),
        language=detect_language(text[:2000]),
        **meta,
    )
    return doc, note


def _article_meta(text: str, folder: str | os.PathLike[str], file_name: str, html: str | None,
                  pdf_created: str | None) -> dict[str, object]:
    """The Document fields that describe the article (date and its source, outlet, URL, author)."""
    from rag.news.dates import SidecarError, article_meta

    try:
        # Inferred dates never lie in the future: "d'ici 2030" is a target, not a date.
        meta = article_meta(text=text, folder=folder, file_name=file_name, html=html,
                            pdf_creation_date=pdf_created, not_after=dt.date.today())
    except SidecarError as exc:
        raise IngestError(str(exc)) from exc
    d = meta.date
    return {"date": d.iso(), "date_source": d.source if d.date else None,
            "date_inferred": d.inferred if d.date else None,
            "date_note": d.note or None, "outlet": meta.outlet, "url": meta.url, "author": meta.author}


def load_folder(folder: str | os.PathLike[str], *, max_bytes: int | None = None) -> tuple[list[Document], list[LoadOutcome]]:
    """Load every supported file under ``folder`` (recursively, sorted by path).

    Symlinks that leave the folder, unreadable, empty, binary or oversized files
    and exact duplicates are skipped with an outcome saying why.
    """
    root = Path(folder)
    if not root.is_dir():
        raise IngestError(f"{folder} is not a folder of articles.")
    root_real = root.resolve()
    docs: list[Document] = []
    outcomes: list[LoadOutcome] = []
    seen: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        rel = str(path.relative_to(root))
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if rel == SIDECAR_NAME:
            outcomes.append(LoadOutcome(rel, "metadata", "dates, outlets and URLs of the articles"))
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            outcomes.append(LoadOutcome(rel, "skipped", f"unsupported type {path.suffix or '(none)'}"))
            continue
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            outcomes.append(LoadOutcome(rel, "skipped", "broken link"))
            continue
        if root_real not in real.parents:
            outcomes.append(LoadOutcome(rel, "skipped", "link pointing outside the folder"))
            continue
        try:
            doc, note = load_file(path, doc_id=rel, max_bytes=max_bytes, root=root)
        except IngestError as exc:
            outcomes.append(LoadOutcome(rel, "skipped", str(exc)))
            log.info("skipped %s: %s", rel, exc)  # the report lists it: no second warning
            continue
        if doc.sha256 in seen:
            outcomes.append(LoadOutcome(rel, "duplicate", f"duplicate of {seen[doc.sha256]}"))
            continue
        seen[doc.sha256] = doc.doc_id
        docs.append(doc)
        outcomes.append(LoadOutcome(rel, "loaded", note, doc.doc_id, doc.date, doc.date_source, doc.outlet))
    return docs, outcomes
