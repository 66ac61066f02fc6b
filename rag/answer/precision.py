"""A date answer as precise as the sentence it cites.

Asked "When did Amédée Brassac defend his doctoral thesis?", the 1.5B model answered "En
1829", cited to "Le 17 juin 1829, il soutient sa thèse…": the sentence gives the day, the
answer only the year. A reader grading against the source calls that incomplete, and a
question that asks *when* (not *in what year*) wants the date the article gives. So a bare
year answering a "when" question is replaced by the full date its cited quote gives for that
year, when the quote gives exactly one: a quote that also has the bare year, or two dates of
that year, leaves the answer as it is (which of them the model meant is not known).

A date alone is also no answer to a question asking where or who ("Où est né Lucien
Marquèze ?" answered "3 juillet 1826", from the sentence that gives both): :func:`check_date_type`.

Pure text logic; the dates are read by :func:`rag.answer.clauses.date_marks` (any century),
and a date quoted across languages is written in the answer's language with the month names
of :mod:`rag.news.dates`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.answer.clauses import content_besides_date, date_marks
from rag.answer.markers import strip_markers
from rag.news.dates import format_period
from rag.text.analysis import detect_language

if TYPE_CHECKING:
    from rag.answer.cite import Verification

# A question asking when, not only which year ("Quand…", "À quelle date…", "When…", "On what day…").
_WHEN = re.compile(r"\b(?:quand|quelle\s+date|quel\s+jour|date|when|what\s+date|which\s+date|what\s+day|which\s+day)\b",
                   re.IGNORECASE)
_YEAR_ASKED = re.compile(r"\b(?:ann[ée]es?|years?)\b", re.IGNORECASE)
# An answer that is only a year, with an optional preposition: "En 1829", "1829", "in 1829".
_BARE_YEAR = re.compile(r"^\s*(?:(?:en|in|le|on|the\s+year)\s+)?(?P<year>1\d{3}|20\d\d)\s*[.!]?\s*$",
                        re.IGNORECASE)


def asks_when(question: str) -> bool:
    """True when ``question`` asks when something happened, not only in which year.

    >>> asks_when("When did Brassac defend his thesis?"), asks_when("Roumagnac mariage date ?")
    (True, True)
    >>> asks_when("En quelle année Brassac fonde-t-il son laboratoire ?"), asks_when("In what year was it built?")
    (False, False)
    """
    return bool(_WHEN.search(question)) and not _YEAR_ASKED.search(question)


# A question asking where or who, by its first words ("Où…", "D'où…", "À qui…", "Where…", "Who…"),
# or a terse one ending so ("Marquèze né où ?"). Not "qui"/"où" inside a question: "l'année où…".
_WHERE_WHO = re.compile(r"^\W*(?:(?:d['’]\s?)?o[ùu]|(?:[àa]|de|par|avec|pour|chez)?\s*qui|where|who|whom|whose)\b"
                        r"|\bo[ùu]\s*\?\s*$", re.IGNORECASE)


def check_date_type(question: str, answer: str) -> str | None:
    """A reason when ``answer`` is nothing but a date or a number and ``question`` asks where or who.

    >>> check_date_type("Où est né Lucien Marquèze ?", "3 juillet 1826 [1]."), check_date_type("Who won?", "In 1985.")
    ('type: a date or a number does not say where or who', 'type: a date or a number does not say where or who')
    >>> [check_date_type(q, a) for q, a in (("Où est-il né ?", "À Bayonne, le 3 juillet 1826."),
    ...  ("Quand est-il né ?", "3 juillet 1826"), ("En quelle année l'homme qui l'a fondé est-il mort ?", "1924"))]
    [None, None, None]
    """
    text = strip_markers(answer)
    if not _WHERE_WHO.search(question) or not re.search(r"\d", text) or content_besides_date(text):
        return None
    return "type: a date or a number does not say where or who"


def precise_date(answer: str, question: str, quote: str, language: str) -> str | None:
    """``answer`` with its bare year replaced by the one full date ``quote`` gives for it, or None.

    ``answer`` keeps its markers; ``language`` is the answer's. Only for questions that
    :func:`asks_when`.

    >>> precise_date("En 1829 [1].", "When did he defend his thesis?", "Le 17 juin 1829, il soutient sa thèse.", "en")
    'On June 17, 1829 [1].'
    >>> precise_date("1734 [1].", "Quand est née Odile Santerre ?", "Odile Santerre, née le 19 janvier 1734 à Caen.", "fr")
    'Le 19 janvier 1734 [1].'
    >>> precise_date("En 1829 [1].", "Quand soutient-il sa thèse ?", "En 1829, il part ; le 17 juin 1829, il soutient.", "fr")
    >>> precise_date("1829 [1].", "En quelle année soutient-il sa thèse ?", "Le 17 juin 1829, il soutient.", "fr")
    >>> precise_date("En 1931 [1].", "Quand tombe-t-elle malade ?", "En mars 1931, elle tombe malade.", "fr")
    'En mars 1931 [1].'
    """
    if not asks_when(question):
        return None
    bare = _BARE_YEAR.match(strip_markers(answer))
    if bare is None:
        return None
    year = int(bare.group("year"))
    same_year = [m for m in date_marks(quote) if m[3] == year]
    if not same_year or any(m[2] == "year" for m in same_year) or len({m[2:] for m in same_year}) != 1:
        return None
    start, end, precision, _, month, day = same_year[0]
    if detect_language(quote) == language:
        written = quote[start:end]
    else:
        written = format_period(dt.date(year, month, day), "day" if precision == "day" else "month", language)
    if precision == "day":
        lead = "Le " if language == "fr" else "On "
    else:
        lead = "En " if language == "fr" else "In "
    where = answer.find(bare.group("year"))
    before = answer[:where]
    if strip_markers(before).strip():  # a preposition the model wrote: replaced by the right one
        before = ""
    return f"{before}{lead}{written}{answer[where + len(bare.group('year')):]}"


def with_precise_date(result: Verification, question: str, language: str) -> Verification:
    """``result`` with its one-sentence bare-year answer made as precise as its one supported
    quote (:func:`precise_date`); ``result`` itself otherwise."""
    quotes = {c.quote for c in result.citations if c.supported}
    if len(result.sentences) != 1 or len(quotes) != 1:
        return result
    quote = quotes.pop()
    shown = precise_date(result.answer, question, quote, language)
    if shown is None:
        return result
    sentence = result.sentences[0]
    return replace(result, answer=shown,
                   sentences=[replace(sentence, text=precise_date(sentence.text, question, quote, language) or shown)])
