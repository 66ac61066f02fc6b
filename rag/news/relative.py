"""Relative time ("cette année", "l'an prochain", "next month", "en mars") made absolute.

A relative phrase means something only against the article's date:
"l'an prochain" in an article of 2 November 2023 is 2024. Each phrase is
resolved only as far as the date's precision allows (a month-precise date
resolves "le mois prochain" but not "demain"), and not at all when the date is
unknown or only inferred (a lower bound would give a confidently wrong year).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

from ._text import fold_same_length
from .dates import MONTH_NAMES, ArticleDate, Precision, format_period

PeriodKind = Literal["day", "week", "month", "season", "year"]
_RANK = {"year": 0, "month": 1, "day": 2}
_SEASONS = {  # meteorological seasons: first month, names
    "spring": (3, "printemps", "spring"),
    "summer": (6, "été", "summer"),
    "autumn": (9, "automne", "autumn"),
    "winter": (12, "hiver", "winter"),
}


@dataclass(frozen=True)
class Period:
    """An absolute period: first and last day (inclusive) and what kind of period it is."""

    kind: PeriodKind
    start: dt.date
    end: dt.date

    def label(self, lang: str = "fr") -> str:
        """The period in words.

        >>> Period("year", dt.date(2024, 1, 1), dt.date(2024, 12, 31)).label()
        '2024'
        >>> Period("week", dt.date(2024, 3, 18), dt.date(2024, 3, 24)).label("en")
        'week of March 18, 2024'
        >>> Period("season", dt.date(2023, 12, 1), dt.date(2024, 2, 29)).label()
        'hiver 2023-2024'
        """
        fr = lang == "fr"
        if self.kind == "week":
            return ("semaine du " if fr else "week of ") + format_period(self.start, "day", lang)
        if self.kind == "season":
            name = next(v[1 if fr else 2] for v in _SEASONS.values() if v[0] == self.start.month)
            years = str(self.start.year) if self.start.year == self.end.year else f"{self.start.year}-{self.end.year}"
            return f"{name} {years}"
        return format_period(self.start, self.kind, lang)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True)
class Resolution:
    """A relative time phrase found in a sentence and, when the date allows, its absolute period."""

    start: int
    end: int
    phrase: str
    period: Period | None
    lang: str

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["period"] = self.period.to_dict() if self.period else None
        return d


def _year(y: int) -> Period:
    return Period("year", dt.date(y, 1, 1), dt.date(y, 12, 31))


def _month(y: int, m: int, shift: int = 0) -> Period:
    y, m = divmod(y * 12 + m - 1 + shift, 12)
    return Period("month", dt.date(y, m + 1, 1), dt.date(y, m + 1, calendar.monthrange(y, m + 1)[1]))


def _day(d: dt.date, shift: int = 0) -> Period:
    d = d + dt.timedelta(days=shift)
    return Period("day", d, d)


def _week(d: dt.date, shift: int = 0) -> Period:
    monday = d - dt.timedelta(days=d.weekday()) + dt.timedelta(weeks=shift)
    return Period("week", monday, monday + dt.timedelta(days=6))


def _season(first_month: int, year: int) -> Period:
    end = _month(year, first_month, 2).end
    return Period("season", dt.date(year, first_month, 1), end)


def _months_apart(a: tuple[int, int], b: tuple[int, int]) -> int:
    return (a[0] * 12 + a[1]) - (b[0] * 12 + b[1])


def _month_occurrence(d: dt.date, month: int, which: str) -> int:
    """Year of the month named without a year: nearest to ``d`` (a tie goes to
    the past, as news more often looks back), or strictly before/after it."""
    candidates = [d.year - 1, d.year, d.year + 1]
    if which == "last":
        return max(y for y in candidates if _months_apart((y, month), (d.year, d.month)) < 0)
    if which == "next":
        return min(y for y in candidates if _months_apart((y, month), (d.year, d.month)) > 0)
    return min(candidates, key=lambda y: (abs(_months_apart((y, month), (d.year, d.month))), y > d.year))


def _season_occurrence(d: dt.date, first_month: int, which: str) -> Period:
    options = [_season(first_month, y) for y in (d.year - 2, d.year - 1, d.year, d.year + 1)]
    if which == "last":
        return max((p for p in options if p.end < d), key=lambda p: p.start)
    if which == "next":
        return min((p for p in options if p.start > d), key=lambda p: p.start)

    def distance(p: Period) -> int:
        return 0 if p.start <= d <= p.end else min(abs((p.start - d).days), abs((p.end - d).days))

    return min(options, key=distance)


_FR_MONTHS = [m for m in (fold_same_length(n) for n in MONTH_NAMES["fr"])]
_EN_MONTHS = [n.lower() for n in MONTH_NAMES["en"]]
_FR_MONTH_RE = "|".join(_FR_MONTHS)
_EN_MONTH_RE = "|".join(_EN_MONTHS)
# Not followed by a year: any year from 1000 to 2099, not only this era's ("le 9 mai 1718", "Né le
# 3 juillet 1826": an encyclopedia page's or a biography's dates are no phrase relative to the
# article's date; read as one, "3 juillet" was glossed "(3 juillet 2024)" inside the quote).
_A_YEAR = r"(?:1\d|20)\d\d(?!\d)"
_NO_YEAR = rf"(?!\s*,?\s*(?:de\s+|of\s+)?{_A_YEAR})"
_WHICH = {"dernier": "last", "derniere": "last", "passe": "last", "passee": "last", "last": "last",
          "prochain": "next", "prochaine": "next", "next": "next", "this": "this", "cet": "this", "ce": "this"}  # fmt: skip

# A year written shortly before a month named without one gives that month its year.
_YEAR_BEFORE = re.compile(rf"(?<!\d){_A_YEAR}")
_YEAR_REACH = 200  # characters: about the sentence before and the month's own

Resolver = Callable[[dt.date, re.Match[str]], Period | None]
# (language, pattern on folded text, precision the article date needs, resolver)
_RULES: list[tuple[str, re.Pattern[str], Precision, Resolver]] = []


def _rule(lang: str, pattern: str, needs: Precision) -> Callable[[Resolver], Resolver]:
    def register(fn: Resolver) -> Resolver:
        _RULES.append((lang, re.compile(pattern), needs, fn))
        return fn

    return register


# --- years
# "Cette année-là", "ce mois-là", "cette semaine-là" are the narrative's, not the article's.
_rule("fr", r"\bcette annee\b(?!-la)", "year")(lambda d, m: _year(d.year))
_rule("fr", r"\bl'an (?:dernier|passe)\b|\bl'annee (?:derniere|passee)\b", "year")(lambda d, m: _year(d.year - 1))
_rule("fr", r"\bl'an prochain\b|\bl'annee prochaine\b", "year")(lambda d, m: _year(d.year + 1))
_rule("en", r"\bthis year\b", "year")(lambda d, m: _year(d.year))
_rule("en", r"\blast year\b", "year")(lambda d, m: _year(d.year - 1))
# "The next year he married": the year after the one just told, not the article's next one.
_rule("en", r"(?<!the )\bnext year\b", "year")(lambda d, m: _year(d.year + 1))
# --- months
_rule("fr", r"\bce mois(?:-ci)?\b(?!\s+de\b|-la)", "month")(lambda d, m: _month(d.year, d.month))
_rule("fr", r"\ble mois (?:dernier|passe)\b", "month")(lambda d, m: _month(d.year, d.month, -1))
_rule("fr", r"\ble mois prochain\b", "month")(lambda d, m: _month(d.year, d.month, 1))
_rule("en", r"\bthis month\b", "month")(lambda d, m: _month(d.year, d.month))
_rule("en", r"\blast month\b", "month")(lambda d, m: _month(d.year, d.month, -1))
_rule("en", r"(?<!the )\bnext month\b", "month")(lambda d, m: _month(d.year, d.month, 1))
# --- weeks and days
_rule("fr", r"\bcette semaine\b(?!-la)", "day")(lambda d, m: _week(d))
_rule("fr", r"\bla semaine (?:derniere|passee)\b", "day")(lambda d, m: _week(d, -1))
_rule("fr", r"\bla semaine prochaine\b", "day")(lambda d, m: _week(d, 1))
_rule("en", r"\bthis week\b", "day")(lambda d, m: _week(d))
_rule("en", r"\blast week\b", "day")(lambda d, m: _week(d, -1))
_rule("en", r"(?<!the )\bnext week\b", "day")(lambda d, m: _week(d, 1))
_rule("fr", r"\baujourd'hui\b", "day")(lambda d, m: _day(d))
_rule("fr", r"\bavant-hier\b", "day")(lambda d, m: _day(d, -2))
_rule("fr", r"\bapres-demain\b", "day")(lambda d, m: _day(d, 2))
_rule("fr", r"(?<![\w-])hier\b", "day")(lambda d, m: _day(d, -1))
_rule("fr", r"(?<![\w-])demain\b", "day")(lambda d, m: _day(d, 1))
_rule("en", r"\btoday\b", "day")(lambda d, m: _day(d))
_rule("en", r"\byesterday\b", "day")(lambda d, m: _day(d, -1))
_rule("en", r"\btomorrow\b", "day")(lambda d, m: _day(d, 1))


# --- seasons
@_rule(
    "fr",
    r"\b(?:cet (?P<s1>ete|hiver|automne)|ce (?P<s2>printemps))\b|\bl'(?P<s3>ete|hiver|automne) (?P<w1>dernier|prochain)\b|\ble (?P<s4>printemps) (?P<w2>dernier|prochain)\b",
    "month",
)
def _fr_season(d: dt.date, m: re.Match[str]) -> Period:
    name = m.group("s1") or m.group("s2") or m.group("s3") or m.group("s4")
    first = {"printemps": 3, "ete": 6, "automne": 9, "hiver": 12}[name]
    return _season_occurrence(d, first, _WHICH.get(m.group("w1") or m.group("w2") or "", "this"))


@_rule("en", r"\b(?P<w>this|last|next) (?P<s>spring|summer|autumn|fall|winter)\b", "month")
def _en_season(d: dt.date, m: re.Match[str]) -> Period:
    first = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}[m.group("s")]
    return _season_occurrence(d, first, m.group("w"))


# --- a month, or a day and month, without a year
@_rule("fr", rf"\b(?P<d>[0-3]?\d|1er)\s+(?P<m>{_FR_MONTH_RE})\b{_NO_YEAR}", "month")
def _fr_day_month(d: dt.date, m: re.Match[str]) -> Period | None:
    month = _FR_MONTHS.index(m.group("m")) + 1
    year = _month_occurrence(d, month, "near")
    try:
        return _day(dt.date(year, month, 1 if m.group("d") == "1er" else int(m.group("d"))))
    except ValueError:
        return None


@_rule(
    "fr",
    rf"(?:\b(?:en|au mois de|debut|fin|des|depuis|courant|jusqu'en)\s+|\bmi-)(?P<m>{_FR_MONTH_RE})\b(?:\s+(?P<w>dernier|prochain))?{_NO_YEAR}|\b(?P<m2>{_FR_MONTH_RE})\s+(?P<w2>dernier|prochain)\b",
    "month",
)
def _fr_month(d: dt.date, m: re.Match[str]) -> Period:
    month = _FR_MONTHS.index(m.group("m") or m.group("m2")) + 1
    which = _WHICH.get(m.group("w") or m.group("w2") or "", "near")
    return _month(_month_occurrence(d, month, which), month)


@_rule(
    "en",
    rf"\b(?P<m>{_EN_MONTH_RE})\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b{_NO_YEAR}|\b(?P<d2>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_EN_MONTH_RE})\b{_NO_YEAR}",
    "month",
)
def _en_day_month(d: dt.date, m: re.Match[str]) -> Period | None:
    month = _EN_MONTHS.index(m.group("m") or m.group("m2")) + 1
    try:
        return _day(dt.date(_month_occurrence(d, month, "near"), month, int(m.group("d") or m.group("d2"))))
    except ValueError:
        return None


@_rule(
    "en",
    rf"\b(?:(?P<w>last|next|this)|in|early|late|mid-|since|until|by)\s+(?:early\s+|late\s+|mid-)?(?P<m>{_EN_MONTH_RE})\b{_NO_YEAR}",
    "month",
)
def _en_month(d: dt.date, m: re.Match[str]) -> Period:
    month = _EN_MONTHS.index(m.group("m")) + 1
    which = {"last": "last", "next": "next"}.get(m.group("w") or "", "near")
    return _month(_month_occurrence(d, month, which), month)


def _as_date(article_date: ArticleDate | dt.date | None) -> tuple[dt.date | None, Precision]:
    if isinstance(article_date, ArticleDate):
        if article_date.inferred:
            return None, article_date.precision
        return article_date.date, article_date.precision
    return article_date, "day"


def resolve_relative(
    sentence: str, article_date: ArticleDate | dt.date | None, lang: str | None = None
) -> list[Resolution]:
    """Relative time phrases in ``sentence``, each with its span and absolute period.

    ``lang`` is "fr", "en" or None for both. ``period`` is None when the date
    is unknown, only inferred, or too coarse for the phrase ("demain" needs a day).

    >>> r = resolve_relative("Elle prévoit 200 embauches l'an prochain.", dt.date(2023, 11, 2), "fr")
    >>> [(x.phrase, x.period.label(), x.start) for x in r]
    [("l'an prochain", '2024', 27)]
    >>> [(x.phrase, x.period.label("en")) for x in resolve_relative("Sales fell last month; in March they rose.", dt.date(2024, 9, 2), "en")]
    [('last month', 'August 2024'), ('in March', 'March 2024')]
    >>> resolve_relative("Il l'a dit hier.", ArticleDate(dt.date(2024, 3, 1), "month", "x"), "fr")[0].period is None
    True
    """
    folded = fold_same_length(sentence)
    day, precision = _as_date(article_date)
    found: list[Resolution] = []
    for rule_lang, pattern, needs, resolve in _RULES:
        if lang is not None and rule_lang != lang:
            continue
        for m in pattern.finditer(folded):
            if rule_lang == "en" and "m" in m.re.groupindex:
                # English month names are capitalised; "in may" is the modal.
                start = m.start("m") if m.group("m") else m.start("m2") if "m2" in m.re.groupindex else m.start()
                if not sentence[start].isupper():
                    continue
            if "m" in m.re.groupindex and _YEAR_BEFORE.search(folded, max(0, m.start() - _YEAR_REACH), m.start()):
                continue  # "En 1850, il part ; en mai, il revient": that year's May, not the article's
            period = None
            if day is not None and _RANK[precision] >= _RANK[needs]:
                period = resolve(day, m)
            found.append(Resolution(m.start(), m.end(), sentence[m.start() : m.end()], period, rule_lang))
    # Longest match wins where phrases overlap ("avant-hier" over "hier").
    found.sort(key=lambda r: (r.start, -(r.end - r.start)))
    kept: list[Resolution] = []
    for r in found:
        if not kept or r.start >= kept[-1].end:
            kept.append(r)
    return kept


def gloss(sentence: str, article_date: ArticleDate | dt.date | None, lang: str | None = None) -> str:
    """The sentence with each resolved phrase followed by its absolute period in brackets.

    Unchanged when the date is unknown or only inferred; a gloss already
    present is not repeated, so ``gloss(gloss(s)) == gloss(s)``.

    >>> gloss("Nébula prévoit 200 embauches l'an prochain.", dt.date(2023, 11, 2), "fr")
    "Nébula prévoit 200 embauches l'an prochain (2024)."
    >>> gloss("The loss will widen next month.", dt.date(2024, 3, 14), "en")
    'The loss will widen next month (April 2024).'
    >>> gloss("Une perte cette année.", ArticleDate(dt.date(2024, 2, 1), "month", "inferred from text", True))
    'Une perte cette année.'
    """
    out: list[str] = []
    last = 0
    for r in resolve_relative(sentence, article_date, lang):
        if r.period is None:
            continue
        text = f" ({r.period.label(lang or r.lang)})"
        out.append(sentence[last : r.end])
        if not sentence.startswith(text, r.end):
            out.append(text)
        last = r.end
    out.append(sentence[last:])
    return "".join(out)
