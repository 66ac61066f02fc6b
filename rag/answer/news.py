"""News-aware steps of the answer stage: article dates in the prompt, time in questions,
copies in retrieval, and revised or conflicting figures in the answer.

The pure building blocks live in :mod:`rag.news` (dates, relative time, copies,
figures); this module applies them to passages and answers. Nothing here calls
a model: every step is a pure function of the records it is given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from rag.news.copies import CopyGroup, shingles
from rag.news.dates import ArticleDate, Precision, find_dates, format_period
from rag.news.figures import Claim, Conflict, Figure, conflicting, figures_in_text
from rag.news.relative import gloss, resolve_relative
from rag.records import Answer, Chunk, Citation, Document, Passage, iso_day
from rag.text.sentences import sentence_spans

# A chunk of a copy is dropped when this share of its 5-word shingles (of the
# smaller of the two chunks) is also in a chunk already kept from the same
# story. Measured on tests/data/news: the reprint's chunks against the March
# dispatch's share 0.55-1.0 with the nearest one (chunk borders fall at
# different places, so containment, not Jaccard); its added boilerplate
# paragraph shares 0.0, and is kept.
SAME_TEXT = 0.5
# Retrieval boost of chunks whose article date matches the time a question names
# ("en 2023", "depuis mars 2024", "latest"): fused RRF scores are multiplied by
# this. Ranks 1 and 20 of one channel differ by 1/61 vs 1/80 (x1.31). x1.25 lifted
# a matching chunk about fifteen ranks, and that cost the dev set a question whose
# year names the event, not the article ("investi … en février 2024": gold rank
# 1 -> 4; French recall@1 1.00 -> 0.90). x1.05 (a few ranks) keeps the dev set at
# 1.00 and the outside-fr tune split unchanged: a tie-breaker, not a filter.
DATE_BOOST = 1.05
# "Le plus récent", "latest": the question asks for the newest article itself, so the
# newest gets the full x1.25 (about fifteen ranks), older ones in proportion.
LATEST_BOOST = 1.25

_PRECISION: dict[int, Precision] = {4: "year", 7: "month", 10: "day"}


def passage_date(p: Passage | Document | Citation) -> ArticleDate | None:
    """The article date of a passage as an :class:`ArticleDate` (None when unknown).

    >>> passage_date(Passage(1, "a", "a:0-1", 0, 1, 1.0, "x", date="2024-03", date_source="header line")).label()
    'mars 2024'
    """
    day = iso_day(p.date)
    if day is None:
        return None
    inferred = bool(getattr(p, "date_inferred", False))
    return ArticleDate(day, _PRECISION.get(len(p.date or ""), "day"), getattr(p, "date_source", "") or "", inferred)


def article_label(p: Passage, lang: str, text: str | None = None) -> str:
    """How the prompt names a passage's article: outlet and date, or what is known of the date.

    An inferred date (a lower bound read from the article's own mentions) is given only
    when ``text``, the passage as sent, has a relative time phrase it would bear on
    ("cette année"): elsewhere it tells the model nothing the text does not.

    >>> p = Passage(1, "a", "a:0-1", 0, 1, 1.0, "x", date="2024-03-14", outlet="L'Écho")
    >>> article_label(p, "fr"), article_label(replace(p, outlet=None), "en")
    ("L'Écho, article du 14 mars 2024", 'article of March 14, 2024')
    >>> guess = replace(p, date="2024-02", date_inferred=True, outlet=None)
    >>> article_label(guess, "en", "Sales fell this year."), article_label(guess, "en", "Sales fell in 2023.")
    ('date ≥ February 2024', '')
    >>> article_label(replace(p, date=None, outlet=None), "fr")
    ''

    Kept short: every word of the header is prompt time and a distraction for a small
    model (on eval/dev.jsonl, "(date inferred: no earlier than June 11, 2024)" before
    each passage came with three more wrong answers than the bare passages; on fresh
    tune's English questions, dropping "date ≥ …" from passages without relative time
    gave 0.73 instead of 0.71).
    """
    fr = lang == "fr"
    d = passage_date(p)
    if d is None:
        when = ""
    elif d.inferred:
        relative = text is None or bool(resolve_relative(text, None))
        when = "date ≥ " + format_period(d.date, d.precision, lang) if relative else ""  # type: ignore[arg-type]
    else:
        when = ("article " if fr else "article of ") + _of_date(d, lang)
    return ", ".join(x for x in (p.outlet, when) if x)


def _of_date(d: ArticleDate, lang: str) -> str:
    """ "du 14 mars 2024", "de mars 2024" (French); "March 14, 2024" (English)."""
    words = format_period(d.date, d.precision, lang)  # type: ignore[arg-type]
    if lang != "fr":
        return words
    return f"du {words}" if d.precision == "day" else f"d'{words}" if words[0] in "aeiouéèê" else f"de {words}"


def gloss_passage(text: str, p: Passage) -> str:
    """``text`` of passage ``p`` with each relative time phrase followed by its absolute period.

    Unchanged when the article date is unknown or only inferred: the words stay as written.

    >>> p = Passage(1, "a", "a:0-1", 0, 1, 1.0, "x", date="2023-11-02")
    >>> gloss_passage("Elle prévoit 200 embauches l'an prochain.", p)
    "Elle prévoit 200 embauches l'an prochain (2024)."
    """
    return gloss(text, passage_date(p), p.language if p.language in ("fr", "en") else None)


# --- time in questions ----------------------------------------------------------------

_SINCE = re.compile(r"(?:depuis|since|apres|after|a partir d[e']|from)\s*(?:le\s+|la\s+|l'|the\s+)?$")
_UNTIL = re.compile(r"(?:avant|before|until|jusqu'(?:a|en|au)|up to)\s*(?:le\s+|la\s+|l'|the\s+)?$")
_LATEST = re.compile(r"\b(?:le plus recent|la plus recente|les plus recents|dernieres? nouvelles|latest|most recent|"
                     r"newest|a ce jour|actuellement|currently|aujourd'hui|now|maintenant)\b")


@dataclass(frozen=True)
class QuestionTime:
    """The time a question is about: a period of article dates, and/or "the latest"."""

    start: dt.date | None = None
    end: dt.date | None = None
    latest: bool = False

    def __bool__(self) -> bool:
        return self.start is not None or self.end is not None or self.latest


def question_time(question: str, today: dt.date | None = None) -> QuestionTime:
    """What time a question names, relative phrases read against ``today``.

    >>> question_time("Combien Nébula a-t-elle perdu en 2023 ?")
    QuestionTime(start=datetime.date(2023, 1, 1), end=datetime.date(2023, 12, 31), latest=False)
    >>> question_time("What happened since March 2024?").start, question_time("Quoi de neuf depuis mars 2024 ?").end
    (datetime.date(2024, 3, 1), None)
    >>> question_time("Qu'a-t-elle perdu l'an dernier ?", dt.date(2025, 6, 1)).start
    datetime.date(2024, 1, 1)
    >>> question_time("What is the latest loss forecast?").latest, bool(question_time("Qui dirige Nébula ?"))
    (True, False)
    """
    from rag.news._text import fold_same_length

    today = today or dt.date.today()
    folded = fold_same_length(question)
    spans = [(m.start, m.end, m.date, _period_end(m.date, m.precision)) for m in find_dates(question)]
    for r in resolve_relative(question, today):
        if r.period is not None and not any(s < r.end and r.start < e for s, e, _, _ in spans):
            spans.append((r.start, r.end, r.period.start, r.period.end))
    start: dt.date | None = None
    end: dt.date | None = None
    for pos, _, s, e in spans:
        before = folded[max(0, pos - 20):pos]
        lo, hi = (s, None) if _SINCE.search(before) else (None, e) if _UNTIL.search(before) else (s, e)
        start = min(start, lo) if start and lo else (start or lo)
        end = max(end, hi) if end and hi else (end or hi)
    return QuestionTime(start, end, bool(_LATEST.search(folded)))


def _period_end(day: dt.date, precision: str) -> dt.date:
    if precision == "year":
        return dt.date(day.year, 12, 31)
    if precision == "month":
        nxt = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    return day


def parse_bound(value: str | dt.date | None, *, end: bool = False) -> dt.date | None:
    """A ``since``/``until`` bound: an ISO date cut to any precision; ``end`` takes the period's last day.

    >>> parse_bound("2024-03"), parse_bound("2024-03", end=True), parse_bound("2023", end=True)
    (datetime.date(2024, 3, 1), datetime.date(2024, 3, 31), datetime.date(2023, 12, 31))
    >>> parse_bound("mars")
    Traceback (most recent call last):
    ...
    ValueError: 'mars' is not a date: write it as YYYY-MM-DD, YYYY-MM or YYYY.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    text = value.strip()
    day = iso_day(text) if re.fullmatch(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", text) else None
    if day is None:
        raise ValueError(f"{value!r} is not a date: write it as YYYY-MM-DD, YYYY-MM or YYYY.")
    return _period_end(day, _PRECISION[len(text)]) if end else day


Hit = tuple[Chunk, float, float]


def in_range(doc: Document, since: dt.date | None, until: dt.date | None) -> bool:
    """Whether an article's date lies in ``[since, until]``; an undated article never does
    when a bound is set (nothing says it belongs there)."""
    if since is None and until is None:
        return True
    day = doc.day
    if day is None:
        return False
    if until is not None and day > until:
        return False
    return since is None or _period_end(day, _PRECISION.get(len(doc.date or ""), "day")) >= since


def date_ranked(hits: Sequence[Hit], documents: Mapping[str, Document], question: str, *,
                since: dt.date | None = None, until: dt.date | None = None,
                today: dt.date | None = None, boost: bool = True) -> list[Hit]:
    """Hits outside ``[since, until]`` removed; hits of articles dated as the question asks boosted.

    A question naming a period ("en 2023") boosts articles of that period; one asking
    for the latest boosts newer articles (up to :data:`LATEST_BOOST` for the newest).
    ``boost=False`` keeps the range and the order.
    """
    kept = [h for h in hits if in_range(documents[h[0].doc_id], since, until)]
    when = question_time(question, today) if boost else None
    if not when or not kept:
        return kept

    def real_day(doc: Document) -> dt.date | None:
        # An inferred date is a lower bound read from the article's own mentions ("2015" for a
        # page whose latest year is 2015): it says the text names that year, which the
        # question's words already match, not that the article is of that time.
        return None if doc.date_inferred else doc.day

    days = sorted({d for h in kept if (d := real_day(documents[h[0].doc_id])) is not None})

    def weight(doc: Document) -> float:
        day = real_day(doc)
        if day is None:
            return 1.0
        w = 1.0
        if (when.start or when.end) and in_range(doc, when.start, when.end):
            w = DATE_BOOST
        if when.latest and len(days) > 1:
            w = max(w, 1 + (LATEST_BOOST - 1) * days.index(day) / (len(days) - 1))
        return w

    boosted = [(c, f * weight(documents[c.doc_id]), d) for c, f, d in kept]
    return sorted(boosted, key=lambda h: -h[1])


def without_copies(hits: Sequence[Hit], groups: Sequence[CopyGroup]) -> list[Hit]:
    """Hits with the chunks of a copy dropped when a better-ranked chunk of the same story says the same.

    The best-ranked text of a story is kept whichever article it comes from; a chunk of a
    copy with text of its own (an added paragraph) is kept too.
    """
    story = {doc_id: i for i, g in enumerate(groups) for doc_id in g.doc_ids}
    kept: list[Hit] = []
    seen: dict[int, list[tuple[str, set[str]]]] = {}
    for hit in hits:
        chunk = hit[0]
        g = story.get(chunk.doc_id)
        if g is None:
            kept.append(hit)
            continue
        mine = shingles(chunk.text)
        if any(doc != chunk.doc_id and _containment(mine, other) >= SAME_TEXT for doc, other in seen.get(g, [])):
            continue
        seen.setdefault(g, []).append((chunk.doc_id, mine))
        kept.append(hit)
    return kept


def _containment(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def copies_of(doc_id: str, groups: Sequence[CopyGroup]) -> list[str]:
    """The other articles of ``doc_id``'s story (empty when it has no copy)."""
    for g in groups:
        if doc_id in g.doc_ids:
            return [d for d in g.doc_ids if d != doc_id]
    return []


def passage_fields(doc: Document, groups: Sequence[CopyGroup]) -> dict[str, object]:
    """The news fields a passage takes from its article."""
    return {"date_source": doc.date_source, "date_inferred": doc.date_inferred, "outlet": doc.outlet,
            "copies": copies_of(doc.doc_id, groups)}


# --- revised and conflicting figures ----------------------------------------------------


def add_news_context(answer: Answer, *, figures: bool = True) -> None:
    """Finish a verified answer for news: citations get their article's date source,
    outlet and copies, and (with ``figures``) a sentence gives every revised or disputed
    figure the answer relies on, latest as current, each value dated and cited
    (:func:`figure_sentences`)."""
    by_doc = {p.doc_id: p for p in reversed(answer.passages)}
    for c in answer.citations:
        p = by_doc.get(c.doc_id)
        if p is not None:
            c.date_source, c.outlet, c.copies = p.date_source, p.outlet, list(p.copies)
    extra = figure_sentences(answer) if figures else []
    if extra:
        answer.answer = f"{answer.answer.rstrip()} {' '.join(extra)}"


def _doc_figures(passages: Sequence[Passage]) -> tuple[dict[str, list[Figure]], dict[str, ArticleDate | None]]:
    """Figures of each article's retrieved passages, offsets in the document."""
    figures: dict[str, list[Figure]] = {}
    dates: dict[str, ArticleDate | None] = {}
    for p in passages:
        d = passage_date(p)
        # An inferred date is a lower bound read from the article's own mentions: it cannot
        # make one article's figure "the latest" (the answer calls such an article undated).
        dates[p.doc_id] = None if d is not None and d.inferred else d
        lang = p.language if p.language in ("fr", "en") else None
        for f in figures_in_text(p.text, lang=lang, article_date=d):
            figures.setdefault(p.doc_id, []).append(replace(f, start=f.start + p.start, end=f.end + p.start))
    return figures, dates


def figure_sentences(answer: Answer) -> list[str]:
    """Sentences (with their citations appended to ``answer.citations``) for each quantity
    whose values differ between retrieved articles, when the answer cites one of them.

    Never picks one silently: a revision gives the latest value as current and the
    earlier ones beside it; articles disagreeing on the same date are all shown.
    """
    if answer.abstained or not answer.citations:
        return []
    figures, dates = _doc_figures(answer.passages)
    lang = answer.language if answer.language in ("fr", "en") else None
    stated = [f.value for f in figures_in_text(answer.answer, lang=lang)]
    sentences = []
    for conflict in conflicting(figures, dates=dates):
        if not any(_cited(claim, answer.citations) for claim in conflict.claims):
            continue
        # The answer itself must state one of the values: on the outside tune split,
        # sport scores and counts of undated encyclopedia pages ("19", "39", "45") were
        # grouped as one quantity and appended to answers that named a player.
        if not any(_same(v, c.figure.value) for v in stated for c in conflict.claims):
            continue
        if len({c.passage_id for c in conflict.claims}) < 2 or len(_distinct(conflict.claims)) > MAX_VALUES:
            continue
        if _rests_on_two_value_sentences(conflict, answer):
            continue
        sentences.append(_conflict_sentence(conflict, answer))
    return [s for s in sentences if s]


def _rests_on_two_value_sentences(conflict: Conflict, answer: Answer) -> bool:
    """Whether the disagreement rests only on sentences that state two of its values.

    Such a sentence tells two quantities apart ("… un écart d'âge de 13 ans et 48 jours
    (Manning avait 39 ans, Newton 26)": an age gap and an age, which appended "latest
    figure: 13" to a right answer of 39 on outside-fr check) or tells a revision itself
    ("… 65 millions d'euros cette année, contre 40 millions annoncés en mars"). Its
    figures are set aside; the conflict stands only if the other claims still give two
    values from two articles.
    """
    by_sentence: dict[tuple[str, int], list[Claim]] = {}
    for c in conflict.claims:
        p = _passage_of(c, answer)
        # A figure outside every sentence span stands alone (keyed by its own offset).
        start = next((s for s, e in sentence_spans(p.text) if p.start + s <= c.figure.start < p.start + e),
                     c.figure.start - p.start)
        by_sentence.setdefault((c.passage_id, p.start + start), []).append(c)
    rest = [c for cs in by_sentence.values() if len(_distinct(cs)) < 2 for c in cs]
    if len(rest) == len(conflict.claims):
        return False
    return len(_distinct(rest)) < 2 or len({c.passage_id for c in rest}) < 2


# More distinct values than this are not one quantity revised or disputed, but
# different quantities grouped together: no sentence is added.
MAX_VALUES = 3


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 0.005 * max(abs(a), abs(b))


def _cited(claim: Claim, citations: Sequence[Citation]) -> bool:
    return any(c.supported and c.doc_id == claim.passage_id and c.start <= claim.figure.start < c.end
               for c in citations)


def _distinct(claims: Sequence[Claim]) -> list[Claim]:
    """The first claim of each distinct value."""
    out: list[Claim] = []
    for c in claims:
        if not any(_same(c.figure.value, o.figure.value) for o in out):
            out.append(c)
    return out


def _conflict_sentence(conflict: Conflict, answer: Answer) -> str:
    fr = answer.language == "fr"
    current = conflict.current
    if current is not None:
        cur = f"{current.figure.text} {_according(current, answer, fr)} {_cite(current, answer)}"
        before = [f"{c.figure.text} {_announced(c, answer, fr)} {_cite(c, answer)}"
                  for c in _distinct(conflict.previous)]
        lead = "Chiffre le plus récent : " if fr else "Latest figure: "
        return f"{lead}{cur}, {'contre' if fr else 'against'} {' et '.join(before) if fr else ' and '.join(before)}."
    parts = [f"{c.figure.text} {_according(c, answer, fr)} {_cite(c, answer)}" for c in _distinct(conflict.claims)]
    lead = "Les articles divergent : " if fr else "The articles disagree: "
    return lead + " ; ".join(parts) + "."


def _passage_of(claim: Claim, answer: Answer) -> Passage:
    return next(p for p in answer.passages if p.doc_id == claim.passage_id and p.start <= claim.figure.start < p.end)


def _according(claim: Claim, answer: Answer, fr: bool) -> str:
    p = _passage_of(claim, answer)
    d = passage_date(p)
    when = _of_date(d, "fr" if fr else "en") if d is not None and not d.inferred else None
    if p.outlet:
        who = f"selon {p.outlet}" if fr else f"according to {p.outlet}"
        return f"{who} ({'article ' + when if fr else 'article of ' + when})" if when else who
    if fr:
        return f"selon l'article {when}" if when else "selon un article non daté"
    return f"according to the article of {when}" if when else "according to an undated article"


def _announced(claim: Claim, answer: Answer, fr: bool) -> str:
    d = passage_date(_passage_of(claim, answer))
    if d is None or d.inferred:
        return "annoncés à une date inconnue" if fr else "announced at an unknown date"
    words = format_period(d.date, d.precision, "fr" if fr else "en")  # type: ignore[arg-type]
    if fr:
        return f"annoncés le {words}" if d.precision == "day" else f"annoncés en {words}"
    return f"announced on {words}" if d.precision == "day" else f"announced in {words}"


def _cite(claim: Claim, answer: Answer) -> str:
    """A marker for the sentence stating ``claim``: an existing citation of that sentence, or a new one."""
    p = _passage_of(claim, answer)
    local = claim.figure.start - p.start
    s, e = next(((s, e) for s, e in sentence_spans(p.text) if s <= local < e), (local, claim.figure.end - p.start))
    start, end = p.start + s, p.start + e
    for c in answer.citations:
        if c.doc_id == p.doc_id and c.start == start and c.end == end:
            return f"[{c.marker}]"
    marker = max((c.marker for c in answer.citations), default=0) + 1
    answer.citations.append(Citation(
        marker=marker, doc_id=p.doc_id, title=p.title, chunk_id=p.chunk_id, start=start, end=end,
        quote=p.text[s:e], supported=True, date=p.date, passage_start=p.start, passage_end=p.end,
        date_source=p.date_source, outlet=p.outlet, copies=list(p.copies),
    ))
    return f"[{marker}]"
