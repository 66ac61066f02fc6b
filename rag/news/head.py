"""An article's head: the labelled lines at its top ("Titre : …", "Date : …", "*Published 12
September 2024*") that are metadata, never its title or a sentence of evidence, and the date
such a line gives. Pure functions on text."""

from __future__ import annotations

import re

from ._text import fold, fold_same_length
from .dates import ArticleDate, DateMention, find_dates

# Labels of a date line at the head of an article: "Date : …", "Publié le …", "Published …".
_DATE_LABEL = r"date(?:\s+de\s+publication)?|publie\s+le|mis\s+en\s+ligne\s+le|published(?:\s+on)?"
_HEADER = re.compile(r"\A\s*(?:" + _DATE_LABEL + r")\s*:?\s*(?P<value>[^\n]{1,60})", re.IGNORECASE)
# Any labelled line of an article's head, on folded text: "Titre :", "Source :", "Auteur :"…
_META_LINE = re.compile(r"(?P<label>titre|title|sources?|auteurs?|authors?|" + _DATE_LABEL + r")(?:\s*:\s*|\s+(?=\S))")
# How far down an article's head metadata lines are looked for (non-empty lines).
HEAD_LINES = 5


def strip_marks(line: str) -> str:
    """A line without its Markdown heading, quote and emphasis marks.

    >>> strip_marks("*Published 12 September 2024*"), strip_marks("## **Le titre** "), strip_marks("> Date : 2024")
    ('Published 12 September 2024', 'Le titre', 'Date : 2024')
    """
    return line.strip().lstrip("#>").strip().strip("*_").strip()


def head_lines(text: str, n: int = HEAD_LINES) -> list[str]:
    """The first ``n`` non-empty lines of an article, without Markdown marks.

    >>> head_lines("# Orbital Data signe\\n\\n*Published 12 September 2024*\\n\\nTexte.", 2)
    ['Orbital Data signe', 'Published 12 September 2024']
    """
    out: list[str] = []
    for line in text[:5000].split("\n"):
        clean = strip_marks(line)
        if clean:
            out.append(clean)
            if len(out) == n:
                break
    return out


def _leading_date(value: str) -> DateMention | None:
    """The date that ``value`` starts with (it may run on into the article), or None."""
    for mention in find_dates(value):
        if value[: mention.start].strip(" :,.-"):
            return None
        return mention
    return None


def metadata_line(line: str) -> tuple[str, str] | None:
    """``(label, value)`` when a head line of an article is labelled metadata, else None.

    Such a line is never the article's title. Labels: Titre/Title, Source, Auteur/Author
    followed by a colon; Date, Publié le, Published followed by a colon or by a date.
    The label comes back folded, the value as written.

    >>> metadata_line("Titre : Hélios lève 45 M€"), metadata_line("Date: 2 mai 2024")
    (('titre', 'Hélios lève 45 M€'), ('date', '2 mai 2024'))
    >>> metadata_line("*Published 12 September 2024*"), metadata_line("Publié le 2 mai 2024 à 10h")
    (('published', '12 September 2024'), ('publie le', '2 mai 2024 à 10h'))
    >>> metadata_line("Published papers show a rise"), metadata_line("Sources of growth: AI")
    (None, None)
    """
    clean = strip_marks(line)
    m = _META_LINE.match(fold_same_length(clean))
    if not m:
        return None
    label, value = " ".join(m.group("label").split()), clean[m.end():].strip()
    if ":" in m.group(0) or (re.fullmatch(_DATE_LABEL, label) and _leading_date(fold(value))):
        return label, value
    return None


def date_from_header(text: str) -> ArticleDate | None:
    """A date given on a labelled line at the head of the article (its first :data:`HEAD_LINES`
    non-empty lines): ``Date : 2023-10``, `` date 2023-10 Texte…``, ``*Published 12 September 2024*``.

    Accepts what the loader's ``date YYYY-MM(-DD)`` prefix accepts, plus
    French and English dates in words and "Publié le".

    >>> date_from_header(" date 2023-10 La Silicon Valley a misé gros").iso()
    '2023-10'
    >>> date_from_header("Date : 14 mars 2024\\nNébula Robotique…").label()
    '14 mars 2024'
    >>> date_from_header("Hélios lève 45 M€\\nDate : 2024-05-02\\nTexte").iso()
    '2024-05-02'
    >>> date_from_header("La date 2023-10 n'est pas en tête") is None
    True
    """
    for line in head_lines(text):
        m = _HEADER.match(fold(line))
        if not m:
            continue
        # The value may run on into the article ("date 2023-10 La Silicon…"):
        # take the longest leading date.
        mention = _leading_date(m.group("value"))
        if mention is not None:
            return ArticleDate(mention.date, mention.precision, "header line")
    return None


def is_metadata(sentence: str) -> bool:
    """Whether a sentence is made only of labelled head lines (:func:`metadata_line`).

    >>> is_metadata("Date: 2024-07-22"), is_metadata("Title: Harbor Line results"), is_metadata("Revenue rose.")
    (True, True, False)
    """
    lines = [line for line in sentence.split("\n") if line.strip()]
    return bool(lines) and all(metadata_line(line) is not None for line in lines)
