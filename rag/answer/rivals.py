"""A figure or date answer against the other figures and dates of its passage.

A short answer that is a value is often read from the right passage but off the wrong value:
"What magnitude of earthquake can many faults produce?" got "Magnitude 8.0" from "Many faults
are able to produce a magnitude 6.7+ earthquake, such as the San Andreas Fault, which can
produce a magnitude 8.0 event"; "When did she return to Roubaix after her deportation?" got
"30 April 1945" from "Elle est libérée … le 30 avril 1945 et rentre à Roubaix le 2 juin 1945".
The support judge accepts both: the value, and the question's words, are in the quote.

This check compares each value of the answer's kind in the cited passage by the words around
it: the clause holding it (a sentence that holds no other value of that kind counts whole).
When another value's words match the question clearly better than the answer's, the answer is
refused. The comparison is relative, which is what the absolute date check could not be
(:func:`rag.answer.claims.check_dates` asks a date's clause to name the event and refused
paraphrased right answers): a paraphrase the question uses ("return" for "rentre") weighs the
same for every value of the passage, so only the words that tell the values apart decide.

Pure functions; the word scoring is :func:`rag.answer.evidence.lexical_scores` (IDF over the
segments compared, word vectors across languages when given ``counterparts``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.answer.clauses import ATTRIBUTION, STOP, WORD, clauses, date_marks, same_date
from rag.answer.events import asked_events, dated_events, same_year_after
from rag.answer.evidence import Counterparts, lexical_scores
from rag.answer.markers import strip_markers
from rag.answer.quantities import Quantity, asked_kind, counts_noun, noun_forms, quantities
from rag.news.dates import MONTHS, format_period
from rag.news.figures import find_figures
from rag.records import Citation, Passage
from rag.text.analysis import fold
from rag.text.sentences import sentence_spans

if TYPE_CHECKING:
    from rag.answer.cite import Verification

log = logging.getLogger(__name__)

# How much better (IDF-weighted share of the question's words, 0 to 1) another value's words
# must match the question than the answer's. Set on the tune splits by re-verifying the same raw
# answers (docs/measurements.md, session 25): at 0.25, 7 wrong answers and 1 unanswerable
# question answered now abstain and no right answer is lost; at 0.15 a right one is (dev-16, the
# revenue "selon le même média" against the losses "selon The Information"), at 0.1 two.
RIVAL_MARGIN = 0.25
# The share of the whole question (:class:`Rival`) said with a rival for it to be shown instead of
# the answer; below, the answer abstains. Tune splits (docs/measurements.md, session 25): the 4
# rivals at 0.75 or more were the right answers; those at 0.43 or less were not, or the question
# had none (an unanswerable one: 0.20).
SWAP_SHARE = 0.5
# The longest answer read as a bare value ("20 dollars par utilisateur", "Magnitude 8.0").
SHORT_WORDS = 6
# A coordinating conjunction starts the clause of the next value ("libérée le 30 avril 1945
# et rentre à Roubaix le 2 juin 1945").
_AND = re.compile(r"\s(?=(?:et|and|puis|then|avant\s+de|before)\s)", re.IGNORECASE)


_LEADING_AND = re.compile(r"^\W*(?:et|and|mais|but)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Value:
    """A date or a quantity of a text: where it is, and what compares it with another."""

    start: int
    end: int
    kind: str  # "date", or a Quantity kind: money, percent, count, measure, duration, number
    key: tuple[object, ...]
    quantity: Quantity | None = None


def _dates(text: str) -> list[Value]:
    return [Value(m[0], m[1], "date", tuple(m[2:])) for m in date_marks(text)]


def _quantities(text: str, lang: str) -> list[Value]:
    dates = [(m[0], m[1]) for m in date_marks(text)]
    out = []
    for q in quantities(text, lang):
        if q.kind == "year" or any(s <= q.start < e for s, e in dates):
            continue
        out.append(Value(q.start, q.end, _kind(q), (q.value,), q))
    return out


def _number(v: Value) -> float | None:
    return None if v.kind == "date" else float(v.key[0])  # type: ignore[arg-type]


def _numbers(text: str) -> set[float]:
    """Every number ``text`` writes, years included."""
    return {q.value for q in quantities(text, "fr")} | {q.value for q in quantities(text, "en")}


def _kind(q: Quantity) -> str:
    # A bare number and a count compare: "3" and "six lignes" answer the same "how many".
    return "count" if q.kind == "number" else q.kind


def values(text: str, lang: str) -> list[Value]:
    """The dates and the quantities (not years of dates) of ``text``.

    >>> [(v.kind, v.key) for v in values("Le 2 juin 1945, 17 % de 600 000 dollars.", "fr")]
    [('date', ('day', 1945, 6, 2)), ('percent', (17.0,)), ('money', (600000.0,))]
    """
    return sorted(_dates(text) + _quantities(text, lang), key=lambda v: v.start)


def _same(a: Value, b: Value) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "date":
        mark = (0, 0, *a.key)
        return bool(same_date(mark, [(0, 0, *b.key)]))  # type: ignore[arg-type]
    x, y = float(a.key[0]), float(b.key[0])  # type: ignore[arg-type]
    return abs(x - y) <= 0.005 * max(abs(x), abs(y))


def _parts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The clauses of ``text[start:end]``, also cut before a coordinating conjunction."""
    out = []
    for s, e in clauses(text[start:end]):
        cuts = [s] + [s + m.start() for m in _AND.finditer(text[start + s:start + e])] + [e]
        out.extend((start + a, start + b) for a, b in zip(cuts, cuts[1:]) if text[start + a:start + b].strip())
    return out


def _bare(part: str) -> bool:
    """Whether ``part`` says nothing but figures and dates (read as French: the figures' language
    hardly matters, the stop words of both are known)."""
    for v in reversed(values(part, "fr")):
        part = part[:v.start] + part[v.end:]
    return not any(fold(w) not in STOP and not w[0].isdigit() and fold(w) not in MONTHS for w in WORD.findall(part))


def _owners(text: str, parts: list[tuple[int, int]], held: list[set[int]]) -> list[set[int]]:
    """Which values each clause speaks of: those it holds; else the nearest clause's (the
    earlier on a tie), or the next one's for an attribution ("mais selon le New York Times,
    Meta prévoit 40 milliards")."""
    with_value = [k for k, h in enumerate(held) if h]
    out = []
    for k, (a, b) in enumerate(parts):
        later = [j for j in with_value if j > k]
        if held[k]:
            out.append(held[k])
        elif later and ATTRIBUTION.match(_LEADING_AND.sub("", text[a:b])):
            out.append(held[later[0]])
        else:
            # Between two clauses with values, the earlier one's when it is only its value ("Le 3
            # mai 1890, il épouse X, et le 5 juin…"), else the later one's ("…à 350 millions, et
            # les financements de recherche furent multipliés par 20, passant de 735 000 dollars à
            # 15 millions").
            near = min(with_value, key=lambda j: (abs(j - k), j > k))
            if near < k and later and later[0] - k == k - near and not _bare(text[slice(*parts[near])]):
                near = later[0]
            out.append(held[near])
    return out


def segments(text: str, found: Sequence[Value]) -> list[str]:
    """The words each value of ``found`` (all of one kind, in ``text``) is said with: its
    sentence when the sentence holds no other of them; else the clause holding it, with the
    clauses that hold none of them going to the nearest value's (:func:`_owners`: "Le 3 mai
    1890, il épouse X" and "il épouse X le 3 mai 1890" both date the marriage). A sentence
    opening "La même année" goes on with the date's words (:func:`rag.answer.events.same_year_after`).

    >>> t = "Elle est libérée le 30 avril 1945 et rentre à Roubaix le 2 juin 1945, pesant 38 kilos. Elle meurt en 1990."
    >>> segments(t, _dates(t))
    ['Elle est libérée le 30 avril 1945', 'et rentre à Roubaix le 2 juin 1945 pesant 38 kilos.', 'Elle meurt en 1990.']
    >>> t = "Elle voyage en Italie en 1885. Son mari meurt en 1893. La même année, elle tombe malade."
    >>> segments(t, _dates(t))
    ['Elle voyage en Italie en 1885.', 'Son mari meurt en 1893. La même année, elle tombe malade.']
    """
    out = []
    sentences = sentence_spans(text)
    for v in found:
        s, e = next(((s, e) for s, e in sentences if s <= v.start < e), (0, len(text)))
        # "… meurt le 4 février 1893. La même année, elle tombe malade.": the year's words go on.
        carried = same_year_after(text, (v.start, v.end), sentences) if v.kind == "date" else None
        others = [w for w in found if s <= w.start < e]
        if len(others) <= 1:
            out.append(" ".join(filter(None, (text[s:e], carried))))
            continue
        parts = _parts(text, s, e)
        owners = _owners(text, parts, [{i for i, w in enumerate(others) if a <= w.start < b} for a, b in parts])
        mine = others.index(v)
        owned = [text[a:b].strip() for (a, b), held in zip(parts, owners) if mine in held]
        out.append(" ".join(filter(None, (" ".join(owned) or text[v.start:v.end], carried))))
    return out


@dataclass(frozen=True)
class Rival:
    """The value of a passage the question's words go with, rather than the answer's."""

    reason: str
    # The rival as an answer in the question's language ("17%", "June 2, 1945"), or None when
    # it cannot be written there without translating ("1,5 milliard de dollars" to English).
    shown: str | None
    # The IDF-weighted share of the whole question said with it (words no value is said with
    # count too, unlike in the comparison).
    share: float


def rival_reason(question: str, question_lang: str, answer: str, passage: str, passage_lang: str,
                 counterparts: Counterparts | None = None, margin: float = RIVAL_MARGIN) -> str | None:
    """A reason when another value of ``passage`` of the kind of ``answer``'s one value is
    said with words that match ``question`` clearly better than the answer's own
    (:func:`rival_of`).

    >>> q = "What magnitude of earthquake can many faults produce?"
    >>> p = ("Many faults are able to produce a magnitude 6.7+ earthquake, such as the San Andreas Fault, "
    ...      "which can produce a magnitude 8.0 event.")
    >>> rival_reason(q, "en", "Magnitude 8.0 [1].", p, "en")
    "rival: 6.7 is said with the question's words, not 8.0"
    >>> rival_reason(q, "en", "6.7 [1].", p, "en") is None
    True
    >>> q = "Quand rentre-t-elle à Roubaix ?"
    >>> p = "Elle est libérée le 30 avril 1945 et rentre à Roubaix le 2 juin 1945."
    >>> rival_reason(q, "fr", "Le 30 avril 1945", p, "fr"), rival_reason(q, "fr", "Le 2 juin 1945", p, "fr")
    ("rival: 2 juin 1945 is said with the question's words, not 30 avril 1945", None)
    """
    rival = rival_of(question, question_lang, answer, passage, passage_lang, counterparts, margin)
    return None if rival is None else rival.reason


def rival_of(question: str, question_lang: str, answer: str, passage: str, passage_lang: str,
             counterparts: Counterparts | None = None, margin: float = RIVAL_MARGIN) -> Rival | None:
    """The value of ``passage`` of the kind of ``answer``'s one value whose words match
    ``question`` better than the answer's own by ``margin`` or more, or None.

    >>> q = "What percentage was the increase of agricultural products in 2003-04?"
    >>> p = ("During 2003–04, the gross value of agricultural production increased by 17% to $8.7 billion. "
    ...      "This represented 24% of national agricultural production total gross value.")
    >>> r = rival_of(q, "en", "24% [1].", p, "en")
    >>> r.shown, round(r.share, 2)
    ('17%', 0.81)
    >>> rival_of("Quand rentre-t-elle à Roubaix ?", "fr", "30 April 1945", "Elle est libérée le 30 avril 1945 "
    ...          "et rentre à Roubaix le 2 juin 1945.", "fr").shown
    '2 juin 1945'
    >>> rival_of("When did she return to Roubaix?", "en", "30 April 1945", "Elle est libérée le 30 avril 1945 "
    ...          "et rentre à Roubaix le 2 juin 1945.", "fr").shown
    'June 2, 1945'
    """
    text = strip_markers(answer)
    mine = values(text, question_lang)
    if len(mine) != 1 or len(text.split()) > SHORT_WORDS:
        return None  # a sentence says with its own words what its figure is: the support judge reads them
    value = mine[0]
    in_passage = values(passage, passage_lang)
    if value.kind == "count" and value.quantity and value.quantity.unit is None:
        # A bare figure ("7 milliards", "13") is of the kind the passage gives it.
        value = next((replace(value, kind=v.kind) for v in in_passage
                      if v.kind != "date" and _same(replace(value, kind=v.kind), v)), value)
    named = _numbers(question)  # "les 1600 victoires": what the question gives is no answer to it
    of_kind = [v for v in in_passage if v.kind == value.kind and _number(v) not in named]
    own = [i for i, v in enumerate(of_kind) if _same(v, value)]
    if not own or len(own) == len(of_kind):
        return None
    texts = segments(passage, of_kind)
    counted = asked_kind(question)
    noun = noun_forms(counted[1], question_lang) if counted and counted[0] == "count" and counted[1] else None
    events = asked_events(question)
    if (noun and any(of_kind[i].quantity and counts_noun(of_kind[i].quantity, noun, question_lang) for i in own)) \
            or (events and any(dated_events(texts[i]) & events for i in own)):
        return None  # "12 seules universités" to "combien d'universités"; "meurt le 22 août 1849"

    def rival(v: Value, words: str) -> bool:
        if _same(v, value):
            return False
        if noun and v.quantity and v.quantity.kind == "count" and not counts_noun(v.quantity, noun, question_lang):
            return False  # "1 600 victoires" counts no universities
        dated = dated_events(words)
        return not dated or bool(dated & events)  # a birth is no rival to a return home

    rivals = [i for i, v in enumerate(of_kind) if rival(v, texts[i])]
    if not rivals:
        return None
    scores = lexical_scores(question, question_lang, [passage_lang] * len(texts), texts, counterparts)
    best_own = max(float(scores[i]) for i in own)
    best_rival = max(rivals, key=lambda i: float(scores[i]))
    if float(scores[best_rival]) - best_own < margin:
        return None
    rival = of_kind[best_rival]
    whole = lexical_scores(question, question_lang, [passage_lang] * len(texts), texts, counterparts,
                           count_absent=True)
    return Rival(f"rival: {passage[rival.start:rival.end]} is said with the question's words, "
                 f"not {text[value.start:value.end]}",
                 _shown(rival, passage, passage_lang, question_lang), float(whole[best_rival]))


def _shown(v: Value, passage: str, passage_lang: str, lang: str) -> str | None:
    """``v`` as an answer in ``lang``: as the passage writes it, a date in ``lang``'s words, a
    share or a figure in digits with its sign; None for an amount in another language's words."""
    if v.kind == "date":
        precision, year, month, day = v.key
        if passage_lang == lang:
            return passage[v.start:v.end]
        if precision == "year":
            return str(year)
        return format_period(dt.date(int(year), int(month), int(day)), precision, lang)  # type: ignore[arg-type]
    figure = next((f for f in find_figures(passage, lang=passage_lang)
                   if f.start <= v.start < f.end and f.kind in ("money", "percent")), None)
    if figure is not None:
        return passage[figure.start:figure.end] if passage_lang == lang or figure.kind == "percent" else None
    written = passage[v.start:v.end]
    if passage_lang != lang and not re.fullmatch(r"[\d.,\s]+", written):
        return None  # "six", "1,5 million": words of the passage's language
    return written + ("+" if passage[v.end:v.end + 1] == "+" else "")


def rejected_by_rival(question: str, question_lang: str, answer: str, citations: Sequence[Citation],
                      passages: Sequence[Passage], counterparts: Counterparts | None = None
                      ) -> tuple[Rival, int] | None:
    """:func:`rival_of` for ``answer`` against each passage a supported citation quotes, with
    that passage's number (its marker in the prompt)."""
    for c in citations:
        if not c.supported:
            continue
        for n, p in enumerate(passages, 1):
            if p.doc_id == c.doc_id and p.start <= c.start < p.end:
                rival = rival_of(question, question_lang, answer, p.text, p.language, counterparts)
                if rival:
                    return rival, n
                break
    return None


def against_rivals(result: Verification, question: str, question_lang: str, passages: Sequence[Passage],
                   counterparts: Counterparts | None, recheck: Callable[[str], Verification | None]
                   ) -> Verification | None:
    """``result`` when no rival value of its cited passage goes with the question better
    (:func:`rejected_by_rival`); else the rival's answer, checked by ``recheck`` like any raw
    answer, when it can be written in the question's language and holds half the question or
    more (:data:`SWAP_SHARE`); else None (an abstention)."""
    found = rejected_by_rival(question, question_lang, result.answer, result.citations, passages, counterparts)
    if found is None:
        return result
    rival, marker = found
    if rival.shown is None or rival.share < SWAP_SHARE:
        return None
    swapped = recheck(f"{rival.shown} [{marker}].")
    if swapped is None or rejected_by_rival(question, question_lang, swapped.answer, swapped.citations, passages,
                                            counterparts):
        return None
    log.info("%s: shown instead", rival.reason)
    return swapped
