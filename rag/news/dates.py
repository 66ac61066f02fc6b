"""A date for every article, and where it came from.

Sources are tried in order of trust (:func:`article_meta`): a sidecar the user
controls (``metadata.csv`` beside the articles, or front matter at the top of a
file), a ``Date :`` header line, HTML metadata, PDF metadata, a date in the
file name; failing those a lower bound inferred from the latest dated mention
in the text, marked ``inferred``. Dates that name only a month or a year keep
that precision instead of pretending to a day.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Literal

from ._text import fold, fold_same_length
from .sidecar import SidecarError, parse_front_matter, sidecar_fields

log = logging.getLogger(__name__)

Precision = Literal["day", "month", "year"]
INFERRED_SOURCE = "inferred from text"
# A sidecar note starting with this word marks a date the user could only bound
# from the text, so relative phrases ("l'an dernier") are not resolved from it.
_INFERRED_NOTE = "inferred"

# Folded month names and abbreviations, French and English. "mar" is English
# "Mar."; French "mars" is listed in full.
MONTHS: dict[str, int] = {
    "janvier": 1, "janv": 1, "january": 1, "jan": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "february": 2, "feb": 2,
    "mars": 3, "march": 3, "mar": 3,
    "avril": 4, "avr": 4, "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juin": 6, "june": 6, "jun": 6,
    "juillet": 7, "juil": 7, "july": 7, "jul": 7,
    "aout": 8, "august": 8, "aug": 8,
    "septembre": 9, "sept": 9, "september": 9, "sep": 9,
    "octobre": 10, "october": 10, "oct": 10,
    "novembre": 11, "november": 11, "nov": 11,
    "decembre": 12, "dec": 12, "december": 12,
}  # fmt: skip
MONTH_NAMES = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}  # fmt: skip

# Longest names first so "septembre" wins over "sept"; accents are matched on
# the folded text, where "août" is "aout".
_MONTH = r"(?P<{name}>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<{name}>(?:19|20)\d{{2}})"
_DAY = r"(?P<{name}>[0-3]?\d)(?:er|st|nd|rd|th)?"


def _pat(template: str, **groups: str) -> str:
    return template.format(**{k: v.format(name=k) for k, v in groups.items()})


_PATTERNS: list[tuple[re.Pattern[str], Precision]] = [
    # 2024-03-14, 2024/03/14, 2024-03-14T08:00:00+02:00
    (re.compile(_pat(r"(?<!\d){y}[-/.](?P<m>0?[1-9]|1[0-2])[-/.](?P<d>[0-3]?\d)(?![\d/])", y=_YEAR)), "day"),
    # 14/03/2024 and 14.03.2024, read day first as in French and British usage
    (re.compile(_pat(r"(?<![\d/.])(?P<d>[0-3]?\d)[/.](?P<m>0?[1-9]|1[0-2])[/.]{y}(?!\d)", y=_YEAR)), "day"),
    # 14 mars 2024, 1er septembre 2024, 14 March 2024
    (re.compile(_pat(r"(?<!\w){d}\s+(?:de\s+)?{m}\s*,?\s+{y}(?!\d)", d=_DAY, m=_MONTH, y=_YEAR)), "day"),
    # March 14, 2024 / March 14th 2024
    (re.compile(_pat(r"(?<!\w){m}\s+{d},?\s+{y}(?!\d)", d=_DAY, m=_MONTH, y=_YEAR)), "day"),
    # 2024-03
    (re.compile(_pat(r"(?<![\d-]){y}-(?P<m>0[1-9]|1[0-2])(?![\d-])", y=_YEAR)), "month"),
    # mars 2024, March 2024, sept. 2024
    (re.compile(_pat(r"(?<!\w){m}\s*,?\s+{y}(?!\d)", m=_MONTH, y=_YEAR)), "month"),
    # 2024
    (re.compile(_pat(r"(?<![\w,.-]){y}(?![\w-]|[.,]\d)", y=_YEAR)), "year"),
]
# Labels that may precede a date value: "Date :", "Publié le", "published on".
_LABEL = re.compile(
    r"^\s*(?:date(?:\s+de\s+publication)?|publie\s+le|mis\s+en\s+ligne\s+le|published(?:\s+on)?|le|on)\s*:?\s*",
    re.IGNORECASE,
)
# A time of day or a zone after a date value: "T08:00:00+02:00", " à 8h00", " 10:15 CET".
_TIME_TAIL = r"(?:\s*(?:t|a|at|,)?\s*\d{1,2}[:h]\d{2}\S*(?:\s*[a-z]{2,4})?)?\s*$"
_WHOLE_PATTERNS = [(re.compile(p.pattern + _TIME_TAIL), precision) for p, precision in _PATTERNS]


@dataclass(frozen=True)
class ArticleDate:
    """When an article was published, how precisely, and how we know.

    ``date`` is the first day of the period when ``precision`` is "month" or
    "year". When ``inferred`` is true the date is only a lower bound read from
    the text ("no earlier than February 2024").
    """

    date: dt.date | None
    precision: Precision = "day"
    source: str = ""
    inferred: bool = False
    note: str = ""

    def iso(self) -> str | None:
        """The date cut to its precision.

        >>> ArticleDate(dt.date(2023, 10, 1), "month", "header line").iso()
        '2023-10'
        """
        if self.date is None:
            return None
        return self.date.isoformat()[: {"day": 10, "month": 7, "year": 4}[self.precision]]

    def label(self, lang: str = "fr") -> str:
        """The date in words, with "no earlier than" when inferred.

        >>> ArticleDate(dt.date(2024, 3, 14), "day", "header line").label()
        '14 mars 2024'
        >>> ArticleDate(dt.date(2024, 2, 1), "month", INFERRED_SOURCE, True).label("en")
        'no earlier than February 2024'
        >>> ArticleDate(None, "day", "none").label()
        'date inconnue'
        """
        if self.date is None:
            return "date inconnue" if lang == "fr" else "unknown date"
        text = format_period(self.date, self.precision, lang)
        if self.inferred:
            text = ("pas avant " if lang == "fr" else "no earlier than ") + text
        return text

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["date"] = self.iso()
        return d


@dataclass(frozen=True)
class ArticleMeta:
    """An article's date plus what the user's sidecar says about it."""

    date: ArticleDate
    outlet: str | None = None
    url: str | None = None
    author: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"date": self.date.iso(), "date_source": self.date.source, "date_precision": self.date.precision,
                "date_inferred": self.date.inferred, "date_note": self.date.note,
                "outlet": self.outlet, "url": self.url, "author": self.author}  # fmt: skip


def format_period(day: dt.date, precision: Precision, lang: str = "fr") -> str:
    """A date in words at a given precision, French or English.

    >>> format_period(dt.date(2024, 9, 1), "day"), format_period(dt.date(2024, 9, 2), "day", "en")
    ('1er septembre 2024', 'September 2, 2024')
    >>> format_period(dt.date(2024, 3, 1), "month"), format_period(dt.date(2024, 1, 1), "year", "en")
    ('mars 2024', '2024')
    """
    names = MONTH_NAMES["fr" if lang == "fr" else "en"]
    if precision == "year":
        return str(day.year)
    if precision == "month":
        return f"{names[day.month - 1]} {day.year}"
    if lang == "fr":
        return f"{'1er' if day.day == 1 else day.day} {names[day.month - 1]} {day.year}"
    return f"{names[day.month - 1]} {day.day}, {day.year}"


def _build(m: re.Match[str], precision: Precision) -> tuple[dt.date, Precision] | None:
    g = m.groupdict()
    month = 1
    if precision != "year":
        month = MONTHS[g["m"]] if not g["m"].isdigit() else int(g["m"])
    try:
        return dt.date(int(g["y"]), month, int(g["d"]) if precision == "day" else 1), precision
    except ValueError:  # 31 février, 2023-02-30
        return None


@dataclass(frozen=True)
class DateMention:
    """A date written in a text, with its character span."""

    start: int
    end: int
    date: dt.date
    precision: Precision


def find_dates(text: str) -> list[DateMention]:
    """Every explicit date in a text, most precise reading first, in text order.

    Spans cover the date only; a year inside a full date is not repeated.

    >>> [(m.date.isoformat(), m.precision) for m in find_dates("Le 1er septembre 2024, puis en mars 2025 et 2026.")]
    [('2024-09-01', 'day'), ('2025-03-01', 'month'), ('2026-01-01', 'year')]
    """
    folded = fold_same_length(text)
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for pattern, precision in _PATTERNS:
        for m in pattern.finditer(folded):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            built = _build(m, precision)
            if built is None:
                continue
            taken.append((m.start(), m.end()))
            found.append(DateMention(m.start(), m.end(), *built))
    return sorted(found, key=lambda d: d.start)


def parse_date(text: str) -> tuple[dt.date, Precision] | None:
    """Read a date value: ISO, French or English words, with an optional label.

    The whole string must be the date (a time of day may follow); use
    :func:`find_dates` to look for dates inside running text.

    >>> parse_date("14 mars 2024")
    (datetime.date(2024, 3, 14), 'day')
    >>> parse_date("March 14, 2024"), parse_date("1er septembre 2024")[0]
    ((datetime.date(2024, 3, 14), 'day'), datetime.date(2024, 9, 1))
    >>> parse_date("Date : 2023-10"), parse_date("mars 2024")[1], parse_date("2024")[1]
    ((datetime.date(2023, 10, 1), 'month'), 'month', 'year')
    >>> parse_date("2024-09-02T08:00:00+02:00")[0], parse_date("pas une date") is None
    (datetime.date(2024, 9, 2), True)
    """
    value = _LABEL.sub("", fold(text).strip(), count=1)
    for pattern, precision in _WHOLE_PATTERNS:
        m = pattern.match(value)
        if m:
            return _build(m, precision)
    return None


def _sidecar_date(value: str, source: str, note: str) -> ArticleDate | None:
    value = (value or "").strip()
    if not value:
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise SidecarError(f"{source}: cannot read the date {value!r}; write it as YYYY-MM-DD, YYYY-MM or YYYY.")
    inferred = fold(note).startswith(_INFERRED_NOTE)
    return ArticleDate(parsed[0], parsed[1], source, inferred, note)


def _meta_from_fields(fields: dict[str, str], source: str) -> ArticleMeta:
    note = fields.get("date_source", "") or fields.get("note", "")
    date = _sidecar_date(fields.get("date", ""), source, note) or ArticleDate(None, "day", "", False, note)
    return ArticleMeta(date, fields.get("outlet") or None, fields.get("url") or None, fields.get("author") or None)


def date_from_sidecar(folder: str | os.PathLike[str], file_name: str, *, text: str | None = None) -> ArticleMeta | None:
    """Date, outlet, URL and author from ``metadata.csv`` or the file's front matter.

    ``metadata.csv`` (columns ``file,date,outlet,url,author,date_source``) wins
    over front matter, field by field; a ``date_source`` note starting with
    "inferred" marks the date as a lower bound. Raises :class:`SidecarError`
    when the row for this file has a date that cannot be read. Front matter
    is read from ``text`` when given (the file is then not opened).

    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "metadata.csv").write_text("file,date,outlet,date_source\\na.txt,2023-11,L'Usine,header\\n")
    >>> _ = (d / "a.txt").write_text("---\\ndate: 2023-11-20\\nauthor: Jo\\n---\\nTexte")
    >>> meta = date_from_sidecar(d, "a.txt")
    >>> meta.date.iso(), meta.date.source, meta.outlet, meta.author
    ('2023-11', 'metadata.csv line 2', "L'Usine", 'Jo')
    >>> date_from_sidecar(d, "b.txt") is None
    True
    """
    found = sidecar_fields(folder, file_name, text=text)
    return _meta_from_fields(*found) if found else None


class _MetaParser(HTMLParser):
    PROPS = ("article:published_time", "og:article:published_time", "datepublished", "dc.date.issued", "date")

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        key = (a.get("property") or a.get("name") or a.get("itemprop") or "").lower()
        if key in self.PROPS and a.get("content"):
            self.found.setdefault(key, a["content"])


def date_from_html(html: str) -> ArticleDate | None:
    """Publication date from HTML: ``article:published_time`` first, then htmldate.

    htmldate is asked for the original date, not the last update, and only
    from metadata and markup (no guessing from the running text).

    >>> page = '<html><head><meta property="article:published_time" content="2024-09-02T08:00:00+02:00"></head></html>'
    >>> date_from_html(page).iso(), date_from_html(page).source
    ('2024-09-02', 'HTML article:published_time')
    """
    parser = _MetaParser()
    try:
        parser.feed(html[:200_000])
    except Exception:  # malformed markup: htmldate below is more forgiving
        pass
    for key in _MetaParser.PROPS:
        parsed = parse_date(parser.found.get(key, ""))
        if parsed:
            return ArticleDate(parsed[0], parsed[1], f"HTML {key}")
    try:
        from htmldate import find_date
    except ImportError as exc:  # pragma: no cover - installed with trafilatura
        raise ImportError(
            "Reading dates from HTML needs htmldate: pip install htmldate (comes with trafilatura)."
        ) from exc
    try:
        found = find_date(html, original_date=True, extensive_search=False, outputformat="%Y-%m-%d")
    except Exception as exc:  # htmldate raises on odd markup; a missing date is not an error
        log.debug("htmldate failed: %s", exc)
        found = None
    if not found:
        return None
    return ArticleDate(dt.date.fromisoformat(found), "day", "HTML metadata (htmldate)")


def date_from_pdf_metadata(creation_date: str | None) -> ArticleDate | None:
    """A PDF ``/CreationDate`` such as ``D:20240314093000+01'00'``; month and day may be absent.

    >>> date_from_pdf_metadata("D:20240314093000+01'00'").iso()
    '2024-03-14'
    >>> date_from_pdf_metadata("D:202403").precision, date_from_pdf_metadata("garbage")
    ('month', None)
    """
    m = re.match(r"\s*(?:D:)?((?:19|20)\d{2})(\d{2})?(\d{2})?", creation_date or "")
    if not m:
        return None
    year, month, day = m.group(1), m.group(2), m.group(3)
    precision: Precision = "day" if day else "month" if month else "year"
    try:
        value = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    return ArticleDate(value, precision, "PDF metadata")


_FILENAME_DAY = re.compile(r"(?<![0-9a-z])((?:19|20)\d{2})([-_.]?)(0[1-9]|1[0-2])\2([0-3]\d)(?![0-9a-z])")
_FILENAME_MONTH = re.compile(r"(?<![0-9a-z])((?:19|20)\d{2})[-_](0[1-9]|1[0-2])(?![0-9a-z]|[-_.]\d)")


def date_from_filename(name: str) -> ArticleDate | None:
    """A date written in the file name: ``2024-03-14-openai.txt``, ``20240314_x.html``, ``2024-03_x.md``.

    >>> date_from_filename("2024-03-14-openai.txt").iso(), date_from_filename("20240314_x.html").iso()
    ('2024-03-14', '2024-03-14')
    >>> date_from_filename("2024-03_bilan.md").iso(), date_from_filename("001_a20240314b.txt")
    ('2024-03', None)
    """
    base = os.path.basename(str(name)).lower()
    m = _FILENAME_DAY.search(base)
    if m:
        try:
            return ArticleDate(dt.date(int(m.group(1)), int(m.group(3)), int(m.group(4))), "day", "file name")
        except ValueError:
            pass
    m = _FILENAME_MONTH.search(base)
    if m:
        return ArticleDate(dt.date(int(m.group(1)), int(m.group(2)), 1), "month", "file name")
    return None


# Words before a year that make it a target, not an event: "d'ici 2030", "by 2030".
_TARGET_BEFORE = re.compile(r"(?:d'ici(?:\s+a)?|jusqu'(?:en|a)|a\s+l'horizon|horizon|by|until|through|avant)\s*$")


def infer_date(text: str, *, not_after: dt.date | None = None) -> ArticleDate | None:
    """A lower bound from the latest dated mention in the text.

    Years, months and full dates count; targets ("d'ici 2030", "by 2030") and
    dates after ``not_after`` (today, say) do not. Among mentions the latest
    start wins, the more precise on a tie.

    >>> infer_date("Valorisée en février 2024, elle vise 20 pays d'ici 2030.").label("en")
    'no earlier than February 2024'
    >>> d = infer_date("Fondée en 2021, elle a levé 10 M€ en 2023.")
    >>> d.iso(), d.source, d.inferred
    ('2023', 'inferred from text', True)
    >>> infer_date("Sans date.") is None
    True
    """
    folded = fold(text)
    best: DateMention | None = None
    rank = {"year": 0, "month": 1, "day": 2}
    for mention in find_dates(text):
        if _TARGET_BEFORE.search(folded[max(0, mention.start - 25) : mention.start]):
            continue
        if not_after is not None and mention.date > not_after:
            continue
        if best is None or (mention.date, rank[mention.precision]) > (best.date, rank[best.precision]):
            best = mention
    if best is None:
        return None
    return ArticleDate(best.date, best.precision, INFERRED_SOURCE, True)


def article_meta(
    *,
    text: str = "",
    folder: str | os.PathLike[str] | None = None,
    file_name: str | None = None,
    html: str | None = None,
    pdf_creation_date: str | None = None,
    not_after: dt.date | None = None,
) -> ArticleMeta:
    """Date and metadata of one article, from the most trusted source that has a date.

    Order: sidecar/front matter (needs ``folder`` and ``file_name``), header
    line of ``text``, ``html`` metadata, ``pdf_creation_date``, file name,
    inferred from ``text``. Sidecar outlet/URL/author are kept even when the
    date comes from further down.

    >>> article_meta(text="Date : 2024-03-14\\nNébula…", file_name="2023-01-01-x.txt").date.source
    'header line'
    >>> article_meta(text="Fondée en 2021.", file_name="x.txt").date.label()
    'pas avant 2021'
    >>> article_meta(text="Rien.").date
    ArticleDate(date=None, precision='day', source='none', inferred=False, note='')
    """
    if folder is not None and file_name:
        side = date_from_sidecar(folder, file_name, text=text or None)
    else:
        fields = parse_front_matter(text)[0] if text else {}
        side = _meta_from_fields(fields, "front matter") if fields else None
    if side is not None and side.date.date is not None:
        return side
    from .head import date_from_header  # imports this module (the date grammar)

    body = parse_front_matter(text)[1] if text else ""
    found = (
        date_from_header(body)
        or (date_from_html(html) if html else None)
        or date_from_pdf_metadata(pdf_creation_date)
        or (date_from_filename(file_name) if file_name else None)
        or infer_date(body, not_after=not_after)
        or ArticleDate(None, "day", "none")
    )
    if side is not None:
        return ArticleMeta(found, side.outlet, side.url, side.author)
    return ArticleMeta(found)


def article_date(**sources: object) -> ArticleDate:
    """Just the date of :func:`article_meta` (same keyword arguments).

    >>> article_date(text="Publié le 2 septembre 2024 — Nébula…").iso()
    '2024-09-02'
    """
    return article_meta(**sources).date  # type: ignore[arg-type]
