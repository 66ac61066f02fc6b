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
And a figure answering a question about one year is not another year's figure in its quote
("Combien d'habitants en 1911 ?" is not answered by "8 412 habitants en 2020"):
:func:`check_asked_year`.

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
from rag.answer.events import same_year_after
from rag.answer.markers import strip_markers
from rag.news.dates import format_period
from rag.text.analysis import canonical_number, detect_language
from rag.text.sentences import sentence_spans

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


_YEAR = re.compile(r"(?<![\w.,-])(?:1\d{3}|20\d\d)(?![\w-]|[.,]\d)")
# A figure as written: digits grouped by spaces (also narrow and no-break ones), dots or commas.
_FIGURE = re.compile(r"\d+(?:[ \u00a0\u202f.,]\d+)*")
_SEGMENT_END = re.compile(r"[.;!?](?!\d)")


def asked_year(question: str) -> str | None:
    """The one year ``question`` asks about ("Quel montant en 2019 ?", "population 1990
    Kerbrenec"), or None: none, several, or a year that is part of a name ("l'Euro 2016").

    >>> asked_year("Quel montant en 2019 ?"), asked_year("population 1990 Kerbrenec"), asked_year("Qui a gagné l'Euro 2016 ?")
    ('2019', '1990', None)
    >>> asked_year("Combien de visiteurs au Salon Lyon 2019 ?"), asked_year("Combien de salariés de 2019 à 2021 ?")
    (None, None)
    """
    years = {m.group() for m in _YEAR.finditer(question)}
    if len(years) != 1:
        return None
    (year,) = years
    words = question[:question.index(year)].split()
    if len(words) > 1 and re.sub(r"^[«“\"(]*(?:[dDlL]['’])?", "", words[-1])[:1].isupper():
        return None
    return year


def _same_figure(a: str, b: str) -> bool:
    """Whether two written figures are one number, read either language's way ("8 412" /
    "8,412"; "1,5" is not "15")."""
    return bool({canonical_number(a, lang) for lang in ("fr", "en")} & {canonical_number(b, lang) for lang in ("fr", "en")})


def check_asked_year(question: str, answer: str, evidence: str) -> str | None:
    """A reason when the figure answering a question about one year is, in ``evidence``, the
    figure of another year: every place the evidence gives it, its sentence (or the part of it
    between semicolons) names another year and not the one asked.

    Asked "Combien d'habitants en 1911 ?", "8 412 habitants" was supported by "La commune
    compte 8 412 habitants en 2020.": the judge found the figure and the words, and the year
    the question names was nowhere in the quote. A part that names no year tells nothing, and
    neither does a part naming both.

    >>> t = "En 2018, le chiffre d'affaires atteint 5 millions ; en 2019, il monte à 7 millions."
    >>> [check_asked_year("Quel chiffre d'affaires en 2019 ?", a, t) is None for a in ("5 millions", "7 millions")]
    [False, True]
    >>> check_asked_year("Combien d'habitants en 1911 ?", "8 412 habitants [1].", "Elle compte 8 412 habitants en 2020.")
    'year: the figure 8 412 is of another year than 1911 in the quote'
    >>> check_asked_year("Combien d'habitants en 1911 ?", "8 412 habitants", "Elle compte 8 412 habitants.") is None
    True
    """
    year = asked_year(question)
    if year is None:
        return None
    figures = [f for f in _FIGURE.findall(strip_markers(answer)) if not _YEAR.fullmatch(f) and f != year]
    if not figures:
        return None
    figure = figures[0]
    places = [m for m in _FIGURE.finditer(evidence) if _same_figure(m.group(), figure)]
    if not places:
        return None
    for m in places:
        start = max((e.end() for e in _SEGMENT_END.finditer(evidence, 0, m.start())), default=0)
        end = next((e.start() for e in _SEGMENT_END.finditer(evidence, m.end())), len(evidence))
        segment = evidence[start:m.start()] + " " + evidence[m.end():end]
        years = {y.group() for y in _YEAR.finditer(segment)}
        if not years or year in years:
            return None
    return f"year: the figure {figure} is of another year than {year} in the quote"


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
    >>> precise_date("En 1829 [1].", "Quand se marie-t-il ?", "Le 17 juin 1829, il soutient. La même année, il se marie.",
    ...              "fr")
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
    if any(same_year_after(quote, m, sentence_spans(quote)) for m in same_year):
        return None  # "Le 17 juin 1829, il soutient sa thèse. La même année, il épouse…": the year only
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
