"""Quantities in sentences, and passages that give different values for the same one.

A figure is a number with what it measures: money (with its currency),
percent, a count of something, or a year. Two figures are taken to measure the
same quantity when they are of the same kind and unit, their sentences share a
named entity (a capitalised name such as "Nébula Robotique"), the words just
before or after the number share a financial concept ("perte", "loss") or,
failing one, a content word, and the years they are about (when stated) agree.
When such figures from different passages differ, :func:`conflicting` reports
them, oldest first, so the answer can give the latest as current and the
earlier ones as what was said before.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from ._text import fold, fold_same_length
from .dates import MONTHS, ArticleDate, find_dates
from .relative import resolve_relative

Kind = Literal["money", "percent", "count", "year"]
# Values closer than this (relative) are the same figure written twice.
SAME_VALUE = 0.005
# Words either side of a number searched for the concept it measures; the
# window stops at the previous or next figure of the sentence.
LEFT_WORDS, RIGHT_WORDS = 10, 4

# Generic financial concepts, French and English, as folded word prefixes.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "loss": ("perte", "perd", "deficit", "loss", "lose", "lost"),
    "profit": ("benefice", "profit", "earning", "resultat net", "net income"),
    "revenue": ("chiffre d'affaires", "revenu", "recette", "vente", "revenue", "sales", "turnover"),
    "spending": ("depense", "depenser", "cout", "spend", "cost", "expense"),
    "funding": ("leve", "levee", "financement", "tour de table", "raise", "funding", "funded", "round"),
    "valuation": ("valoris", "valuation", "valued"),
    "investment": ("invest",),
    "jobs": (
        "embauch",
        "recrut",
        "emploi",
        "salarie",
        "effectif",
        "hire",
        "hiring",
        "job",
        "employ",
        "staff",
        "workforce",
    ),
    "layoffs": ("licenci", "suppression", "layoff"),
    "price": ("prix", "tarif", "abonnement", "price", "subscription"),
    "growth": ("croissance", "hausse", "baisse", "growth", "increase", "decrease", "rise", "fall"),
}
# Function words that start sentences with a capital but name nothing, and
# words that belong to the number itself; neither identifies a subject.
_STOP = frozenset(
    """le la les l un une des du de d selon cette ce cet ces en au aux a pour par dans sur avec mais et ou il elle ils
    elles on nous vous son sa ses leur leurs qui que quoi dont ou apres avant depuis lors malgre contre chez toutefois
    cependant ainsi enfin alors si tout tous the an according this that these those in on at for by with but and or it
    its they we he she his her their after before since as of to from while however also than
    mille millier milliers million millions milliard milliards billion billions thousand trillion md mds bn
    euro euros dollar dollars livre livres pound pounds eur usd gbp pour cent percent cents environ about some
    pres plus moins more less over under""".split()
) | frozenset(MONTHS)

_CURRENCY_SYMBOL = {"€": "EUR", "$": "USD", "us$": "USD", "£": "GBP"}
_CURRENCY_WORD = {
    "euro": "EUR",
    "dollar": "USD",
    "livre": "GBP",
    "pound": "GBP",
    "eur": "EUR",
    "usd": "USD",
    "gbp": "GBP",
}
_SCALE = {"mille": 1e3, "millier": 1e3, "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "mio": 1e6, "m": 1e6,
          "milliard": 1e9, "md": 1e9, "mds": 1e9, "mrd": 1e9, "mrds": 1e9, "bn": 1e9, "billion": 1e9, "trillion": 1e12}  # fmt: skip

_NUMBER = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:[ \u00a0\u202f.]\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?)"
_FIGURE = re.compile(
    r"(?<![\w.,-])(?:(?P<pre>us\$|\$|€|£)\s?)?"
    + _NUMBER
    + r"(?![.,]\d)"
    + r"(?:\s?(?P<scale>milliers?|mille|millions?|milliards?|billions?|trillions?|thousand|mds?|mrds?|bn|mio|mn|k|m)(?!\w))?"
    + r"(?:\s?(?P<post>€|\$|£|%|(?:d'|de\s+)?(?:euros?|dollars?|livres?|pounds?|usd|eur|gbp)\b|pour\s?cent\b|per\s?cent\b|percent\b))?"
    + r"(?!\w)"
)


@dataclass(frozen=True)
class Figure:
    """A quantity stated in a sentence.

    ``unit`` is the currency for money ("EUR"), "%" for percent and the
    counted noun for a count ("embauches"). ``period`` is the year the figure
    is about when the sentence says so near the number.
    """

    value: float
    kind: Kind
    unit: str | None
    text: str
    start: int
    end: int
    entities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    period: int | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_number(text: str) -> float:
    """A number written the French or English way.

    Groups of exactly three digits after a comma are English thousands; a
    comma otherwise is the French decimal mark; spaces and dots group thousands.

    >>> parse_number("3,4"), parse_number("1,500"), parse_number("20 000"), parse_number("1.5"), parse_number("1.500.000")
    (3.4, 1500.0, 20000.0, 1.5, 1500000.0)
    """
    t = text.replace("\u00a0", " ").replace("\u202f", " ")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", t):
        return float(t.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:[ .]\d{3})+(?:,\d+)?", t):
        return float(t.replace(" ", "").replace(".", "").replace(",", "."))
    return float(t.replace(",", "."))


def _entities(sentence: str) -> tuple[str, ...]:
    names: list[str] = []
    for m in re.finditer(r"(?<![\w'’])[A-ZÀ-ÖØ-Þ][\w’'-]*", sentence):
        token = fold(m.group()).split("'")[-1]
        for part in token.split("-"):
            if len(part) >= 2 and part not in _STOP and part not in names:
                names.append(part)
    return tuple(names)


def concepts_in(text: str) -> list[str]:
    """The financial concepts (:data:`CONCEPTS`) named anywhere in ``text``.

    >>> concepts_in("Quel est le chiffre d'affaires d'Anthropic ?"), concepts_in("How much will OpenAI lose?")
    (['revenue'], ['loss'])
    """
    return _concepts(fold(text))


def _concepts(window: str) -> list[str]:
    found = []
    toks = re.findall(r"[\w']+", window)
    for concept, prefixes in CONCEPTS.items():
        if any((" " in p and p in window) or any(t.startswith(p) for t in toks) for p in prefixes):
            found.append(concept)
    return found


def _content_stems(window: str) -> list[str]:
    return [w[:6] for w in re.findall(r"[a-z]{5,}", window) if w not in _STOP]


def find_figures(
    sentence: str, *, lang: str | None = None, article_date: ArticleDate | dt.date | None = None
) -> list[Figure]:
    """Figures in one sentence: money, percent, counts and years.

    ``article_date`` lets "cette année"/"last year" set a figure's ``period``.
    "billion" is 10^12 when ``lang`` is "fr" or when followed by "de"/"d'".
    A bare scaled number right after a money figure ("contre 28 millions")
    is money in the same currency about the same thing.

    >>> [(f.value, f.kind, f.unit) for f in find_figures("Selon The Information, OpenAI perdra 5 milliards de dollars, soit 40 M€ par semaine et 12 % de plus qu'en 2023.")]
    [(5000000000.0, 'money', 'USD'), (40000000.0, 'money', 'EUR'), (12.0, 'percent', '%'), (2023.0, 'year', None)]
    >>> fs = find_figures("Nébula Robotique prévoit une perte de 40 millions d'euros cette année, contre 28 millions l'an dernier.", article_date=dt.date(2024, 3, 14))
    >>> [(f.value, f.unit, f.keywords, f.period) for f in fs]
    [(40000000.0, 'EUR', ('loss',), 2024), (28000000.0, 'EUR', ('loss',), 2023)]
    >>> fs[0].entities
    ('nebula', 'robotique')
    >>> [(f.value, f.kind, f.unit) for f in find_figures("The company, valued at $5bn, will add 200 engineers on March 3.")]
    [(5000000000.0, 'money', 'USD'), (200.0, 'count', 'engineers')]
    """
    folded = fold_same_length(sentence)
    raws: list[_Raw] = []
    dates = [(d.start, d.end) for d in find_dates(sentence) if d.precision != "year"]
    for m in _FIGURE.finditer(folded):
        if any(s <= m.start() < e for s, e in dates):
            continue  # part of "14 mars 2024" or "2024-03-14", not a quantity
        raw = _read(m, folded, lang, raws)
        if raw is not None:
            raws.append(raw)
    marks = _time_marks(sentence, article_date, lang)
    figures: list[Figure] = []
    for i, r in enumerate(raws):
        lo = raws[i - 1].end if i else 0
        hi = raws[i + 1].start if i + 1 < len(raws) else len(folded)
        left = " ".join(folded[lo : r.start].split()[-LEFT_WORDS:])
        right = " ".join(folded[r.end : hi].split()[:RIGHT_WORDS])
        window = f"{left} {right}"
        keywords = _concepts(window) or [f"~{w}" for w in _content_stems(window)]
        if r.elliptic and figures and not _concepts(window):
            keywords = list(figures[-1].keywords)
        period = int(r.value) if r.kind == "year" else _nearest_year(r, marks, raws, folded)
        figures.append(Figure(r.value, r.kind, r.unit, sentence[r.start : r.end], r.start, r.end,
                              _entities(sentence), tuple(dict.fromkeys(keywords)), period))  # fmt: skip
    return figures


@dataclass(frozen=True)
class _Raw:
    start: int
    end: int
    value: float
    kind: Kind
    unit: str | None
    elliptic: bool = False


def _read(m: re.Match[str], folded: str, lang: str | None, previous: list[_Raw]) -> _Raw | None:
    num, pre, scale = m.group("num"), m.group("pre"), m.group("scale")
    post = (m.group("post") or "").strip()
    end = m.end()
    percent = post.startswith(("%", "pour", "per"))
    unit: str | None = None
    if pre:
        unit = _CURRENCY_SYMBOL[pre]
    elif post in _CURRENCY_SYMBOL:
        unit = _CURRENCY_SYMBOL[post]
    elif post and not percent:
        unit = next(v for k, v in _CURRENCY_WORD.items() if k in post)
    if scale in ("m", "k") and unit is None:
        # "100 m" is metres: a lone letter is a scale only beside a currency ("40 M€", "$5m").
        scale, end = None, m.end("num")
    factor = 1.0
    if scale:
        factor = _SCALE.get(scale, _SCALE.get(scale.rstrip("s"), 1.0))
        if scale.startswith("billion") and (lang == "fr" or re.match(r"\s+(?:de\s|d')", folded[m.end("scale") :])):
            factor = 1e12  # the French "billion" is a million million
    value = parse_number(num) * factor
    if percent:
        return _Raw(m.start(), end, value, "percent", "%")
    if unit is not None:
        return _Raw(m.start(), end, value, "money", unit)
    if not scale and re.fullmatch(r"(?:19|20)\d\d", num):
        return _Raw(m.start(), end, value, "year", None)
    if scale and previous and previous[-1].kind == "money":
        # "une perte de 40 M€, contre 28 millions": the second figure repeats the first's unit.
        return _Raw(m.start(), end, value, "money", previous[-1].unit, elliptic=True)
    before = folded[max(0, m.start() - 12) : m.start()].split()
    after = re.match(r"\s*(?:er|st|nd|rd|th)?\s*([a-z]+)", folded[end:])
    if (after and after.group(1) in MONTHS) or (before and before[-1].strip(".,") in MONTHS):
        return None  # the day of a date
    noun = re.match(r"\s*(?:(?:de|of)\s+|d')?([a-z][a-z-]{2,})", folded[end:])
    if noun is None or noun.group(1) in _STOP:
        return _Raw(m.start(), end, value, "count", None) if scale else None
    return _Raw(m.start(), end, value, "count", noun.group(1))


def _time_marks(
    sentence: str, article_date: ArticleDate | dt.date | None, lang: str | None
) -> list[tuple[int, int, int]]:
    marks = [(d.start, d.end, d.date.year) for d in find_dates(sentence)]
    for r in resolve_relative(sentence, article_date, lang):
        if r.period is not None and r.period.start.year == r.period.end.year:
            marks.append((r.start, r.end, r.period.start.year))
    return marks


def _nearest_year(r: _Raw, marks: list[tuple[int, int, int]], raws: list[_Raw], folded: str) -> int | None:
    best: tuple[int, int] | None = None
    for start, end, year in marks:
        if start < r.end and r.start < end:
            continue  # the figure itself ("en 2023" read as a year figure)
        lo, hi = (r.end, start) if start >= r.end else (end, r.start)
        if any(lo <= o.start < hi for o in raws if o is not r):
            continue  # another figure sits between: the year is about that one
        # A clause break between number and year makes the link weaker, not impossible.
        distance = (hi - lo) + (50 if re.search(r"[,;:()]", folded[lo:hi]) else 0)
        if best is None or distance < best[0]:
            best = (distance, year)
    return best[1] if best else None


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"“(\[]?[A-ZÀ-ÖØ-Þ0-9])|\n+")


def figures_in_text(
    text: str, *, lang: str | None = None, article_date: ArticleDate | dt.date | None = None
) -> list[Figure]:
    """:func:`find_figures` over every sentence of a text; offsets refer to ``text``.

    A sentence that names no one ("La société prévoit…") is taken to be
    about the names of the closest earlier sentence that has some.

    >>> fs = figures_in_text("Nébula Robotique publie ses comptes.\\nLa perte atteint 65 M€. Elle double.")
    >>> [(f.text, f.start, f.entities) for f in fs]
    [('65 M€', 54, ('nebula', 'robotique'))]
    """
    out: list[Figure] = []
    start = 0
    names: tuple[str, ...] = ()
    for piece in [*_SENTENCE_END.finditer(text), None]:
        end = piece.start() if piece else len(text)
        sentence = text[start:end]
        names = _entities(sentence) or names
        for f in find_figures(sentence, lang=lang, article_date=article_date):
            out.append(
                Figure(
                    f.value,
                    f.kind,
                    f.unit,
                    f.text,
                    f.start + start,
                    f.end + start,
                    f.entities or names,
                    f.keywords,
                    f.period,
                )
            )
        start = piece.end() if piece else end
    return out


@dataclass(frozen=True)
class Claim:
    """One passage's value for a quantity, with the passage's date when known."""

    passage_id: str
    figure: Figure
    date: dt.date | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "passage_id": self.passage_id,
            "figure": self.figure.to_dict(),
            "date": self.date.isoformat() if self.date else None,
        }


@dataclass(frozen=True)
class Conflict:
    """Passages giving different values for what looks like the same quantity, oldest first (undated last)."""

    kind: Kind
    unit: str | None
    claims: tuple[Claim, ...]

    @property
    def values(self) -> tuple[float, ...]:
        """Distinct values in the order they were first stated."""
        out: list[float] = []
        for c in self.claims:
            if not any(_same_value(c.figure.value, v) for v in out):
                out.append(c.figure.value)
        return tuple(out)

    @property
    def current(self) -> Claim | None:
        """The claim to present as current, or None when the claims are concurrent.

        It is the value the latest-dated passages add to what earlier ones
        said (a September article may repeat March's figure beside its own);
        None when those passages add no value or more than one (two outlets
        disagreeing the same day), or when an undated passage disagrees.
        """
        dated = [c for c in self.claims if c.date is not None]
        if not dated:
            return None
        latest = max(c.date for c in dated)  # type: ignore[type-var]
        earlier = [c for c in dated if c.date < latest]  # type: ignore[operator]
        new = [
            c
            for c in dated
            if c.date == latest and not any(_same_value(c.figure.value, e.figure.value) for e in earlier)
        ]
        if not new or any(not _same_value(c.figure.value, new[0].figure.value) for c in new):
            return None
        undated = [c for c in self.claims if c.date is None]
        if any(not _same_value(c.figure.value, new[0].figure.value) for c in undated):
            return None
        return new[0]

    @property
    def previous(self) -> tuple[Claim, ...]:
        """Claims with a value other than the current one, oldest first (empty when concurrent)."""
        cur = self.current
        if cur is None:
            return ()
        return tuple(c for c in self.claims if not _same_value(c.figure.value, cur.figure.value))

    def to_dict(self) -> dict[str, object]:
        cur = self.current
        return {"kind": self.kind, "unit": self.unit, "values": list(self.values),
                "current": cur.passage_id if cur else None, "claims": [c.to_dict() for c in self.claims]}  # fmt: skip


def _same_value(a: float, b: float) -> bool:
    return abs(a - b) <= SAME_VALUE * max(abs(a), abs(b))


def same_quantity(a: Figure, b: Figure) -> bool:
    """Whether two figures measure the same thing (kind, unit, subject, year).

    >>> x = find_figures("Nébula Robotique prévoit une perte de 40 M€ en 2024.")[0]
    >>> y = find_figures("La perte de Nébula atteindra 65 millions d'euros en 2024, selon la direction.")[0]
    >>> z = find_figures("Nébula Robotique vise un chiffre d'affaires de 120 M€ en 2024.")[0]
    >>> same_quantity(x, y), same_quantity(x, z)
    (True, False)
    >>> a = find_figures("The state of Victoria represented 24% of national agricultural production.")[0]
    >>> b = find_figures("The farms of Victoria produce 90% of pears.")[0]
    >>> c = find_figures("The state of Victoria now represents 30% of national agricultural output.")[0]
    >>> same_quantity(a, b), same_quantity(a, c)
    (False, True)
    """
    if a.kind != b.kind or a.kind == "year" or a.unit != b.unit:
        return False
    if a.period is not None and b.period is not None and a.period != b.period:
        return False
    if not set(a.entities) & set(b.entities):
        return False
    concepts_a = {k for k in a.keywords if not k.startswith("~")}
    concepts_b = {k for k in b.keywords if not k.startswith("~")}
    if concepts_a or concepts_b:
        return bool(concepts_a & concepts_b)
    # Without a known concept, the words around each figure must share two stems: one common
    # word is no evidence of one quantity ("24% of national agricultural production" and "90%
    # of Australian pears" share only "produc"; fresh tune split, an encyclopedia page).
    # The subject's own name, compared above, does not count among them.
    names = set(a.entities) | set(b.entities)
    shared = {k for k in set(a.keywords) & set(b.keywords) if not any(n.startswith(k[1:]) for n in names)}
    return len(shared) >= 2


def _as_day(value: ArticleDate | dt.date | None) -> dt.date | None:
    return value.date if isinstance(value, ArticleDate) else value


def conflicting(
    figures_by_passage: Mapping[str, Sequence[Figure]],
    *,
    dates: Mapping[str, ArticleDate | dt.date | None] | None = None,
) -> list[Conflict]:
    """Groups of figures from different passages that give different values for the same quantity.

    A group needs at least two passages and two distinct values; figures of
    one passage are never compared with each other (a passage that says "40,
    up from 28" is not in conflict with itself). Claims are sorted by passage
    date; :attr:`Conflict.current` is the latest when one date stands alone.

    >>> march = "Nébula Robotique prévoit une perte de 40 millions d'euros cette année."
    >>> sept = "Nébula Robotique relève sa prévision de perte à 65 millions d'euros cette année."
    >>> dates = {"mars": dt.date(2024, 3, 14), "sept": dt.date(2024, 9, 2)}
    >>> found = conflicting({k: find_figures(t, article_date=dates[k]) for k, t in [("sept", sept), ("mars", march)]}, dates=dates)
    >>> [(c.values, c.current.passage_id, [p.passage_id for p in c.previous]) for c in found]
    [((40000000.0, 65000000.0), 'sept', ['mars'])]
    """
    items = [(pid, f) for pid, figs in figures_by_passage.items() for f in figs if f.kind != "year"]
    parent = list(range(len(items)))
    years = [{f.period} - {None} for _, f in items]  # known years of each group, kept at its root

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = [(i, j) for i in range(len(items)) for j in range(i + 1, len(items))
             if items[i][0] != items[j][0] and same_quantity(items[i][1], items[j][1])]  # fmt: skip
    # Pairs with both years known first; a figure of unknown year then joins a
    # group only if that keeps one year per group, so it cannot bridge the
    # 2023 and 2024 losses into one quantity.
    pairs.sort(key=lambda p: (items[p[0]][1].period is None) + (items[p[1]][1].period is None))
    for i, j in pairs:
        ri, rj = root(i), root(j)
        if ri != rj and len(years[ri] | years[rj]) <= 1:
            parent[rj] = ri
            years[ri] |= years[rj]
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(root(i), []).append(i)
    order = {pid: n for n, pid in enumerate(figures_by_passage)}
    conflicts = []
    for members in groups.values():
        claims = [Claim(items[i][0], items[i][1], _as_day((dates or {}).get(items[i][0]))) for i in members]
        if len({c.passage_id for c in claims}) < 2:
            continue
        claims.sort(key=lambda c: (c.date is None, c.date or dt.date.max, order[c.passage_id], c.figure.start))
        conflict = Conflict(claims[0].figure.kind, claims[0].figure.unit, tuple(claims))
        if len(conflict.values) >= 2:
            conflicts.append(conflict)
    return conflicts
