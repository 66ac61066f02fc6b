"""Scoring one question: does the answer match, were the gold passages retrieved,
do the citations support the sentences (ALCE scores, :mod:`rag.eval.alce`).

Pure functions from what the assistant returned to a :class:`QuestionResult`;
aggregation and the run loop live in :mod:`rag.eval.run`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rag.answer.echo import degenerate_reason
from rag.answer.judge import SupportJudge
from rag.answer.markers import strip_markers
from rag.answer.prompt import is_abstain_token
from rag.eval.alce import CitationScore, SentenceCheck, citation_evidence, claim_sentences, same_doc, score_citations
from rag.eval.dataset import EvalItem
from rag.eval.grading import answer_language, answer_matches, best_f1, correct, fact_recall
from rag.records import Answer, Citation, Excerpt, Passage
from rag.text.sentences import normalize_text

# Answers are graded in rag.eval.grading, citations scored in rag.eval.alce.
__all__ = ["CitationScore", "SentenceCheck", "answer_language", "answer_matches", "citation_evidence",
           "claim_sentences", "same_doc", "score_citations"]

MIN_COVERAGE = 0.8
# Rank cut-off named in the per-question reasons: the answer prompt usually sees
# about five passages, so a gold passage below that is effectively lost.
REASON_K = 5


# --------------------------------------------------------------------------- numbers


def separation(right: Sequence[float], wrong: Sequence[float]) -> float | None:
    """ROC AUC of a score for right against wrong answers: the chance that a right answer
    scores above a wrong one (ties count half). 0.5 means the score does not tell them
    apart; None without both kinds.

    >>> separation([0.9, 0.8], [0.1]), separation([0.5], [0.5]), separation([0.9], [])
    (1.0, 0.5, None)
    """
    if not right or not wrong:
        return None
    from sklearn.metrics import roc_auc_score

    labels = [1] * len(right) + [0] * len(wrong)
    return float(roc_auc_score(labels, [*right, *wrong]))


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Arithmetic mean of the values that are not None; None when there are none.

    >>> mean([1, 2, True]), mean([]), mean([None, 3.0])
    (1.3333333333333333, None, 3.0)
    """
    xs = [float(v) for v in values if v is not None]
    return float(np.mean(xs)) if xs else None


def rounded(x: float | None, nd: int = 1) -> float | None:
    """``x`` rounded to ``nd`` decimals as a plain float; None stays None.

    >>> rounded(2.345, 2), rounded(None)
    (2.35, None)
    """
    return None if x is None else round(float(x), nd)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation (:func:`numpy.percentile`); None if empty.

    >>> percentile([10, 20, 30, 40], 50), round(percentile([0, 10, 20, 30, 40], 95), 6), percentile([], 50)
    (25.0, 38.0, None)
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {q}")
    xs = [float(v) for v in values]
    return float(np.percentile(xs, q)) if xs else None


# --------------------------------------------------------------------------- retrieval


@dataclass(frozen=True)
class GoldSpan:
    """Where a gold quote sits in the normalised document text."""

    doc: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def locate_quote(doc_text: str, quote: str, *, doc: str = "") -> list[GoldSpan]:
    """Every occurrence of ``quote`` (normalised like documents) in ``doc_text``.

    Falls back to a whitespace-insensitive match, since loaders may reflow spaces.

    >>> locate_quote("Il pleut. Il pleut.", "Il pleut", doc="a")
    [GoldSpan(doc='a', start=0, end=8), GoldSpan(doc='a', start=10, end=18)]
    >>> locate_quote("Il  pleut\\nfort.", "pleut fort", doc="a")
    [GoldSpan(doc='a', start=4, end=14)]
    """
    quote = normalize_text(quote).strip()
    if not quote:
        return []
    spans = []
    start = doc_text.find(quote)
    while start >= 0:
        spans.append(GoldSpan(doc, start, start + len(quote)))
        start = doc_text.find(quote, start + 1)
    if not spans:
        pattern = r"\s+".join(re.escape(tok) for tok in quote.split())
        spans = [GoldSpan(doc, m.start(), m.end()) for m in re.finditer(pattern, doc_text)]
    return spans


def passage_covers(passage: Passage, gold: GoldSpan, *, min_coverage: float = MIN_COVERAGE) -> bool:
    """True when the passage is from the gold document and covers enough of the gold span.

    >>> p = Passage(rank=1, doc_id="a", chunk_id="a#0", start=0, end=80, score=1.0, text="")
    >>> passage_covers(p, GoldSpan("a", 0, 100)), passage_covers(p, GoldSpan("a", 1, 101))
    (True, False)
    """
    if not same_doc(passage.doc_id, gold.doc):
        return False
    length = gold.end - gold.start
    overlap = min(passage.end, gold.end) - max(passage.start, gold.start)
    if length <= 0:
        return passage.start <= gold.start <= passage.end
    # Tolerance: 0.8 * length is not always exact in binary floating point.
    return overlap > 0 and overlap >= min_coverage * length - 1e-9


def first_hit_rank(passages: Sequence[Passage], gold: Sequence[GoldSpan], *,
                   min_coverage: float = MIN_COVERAGE) -> int | None:
    """1-based position of the first passage covering any gold span, None if none does."""
    for i, p in enumerate(passages, start=1):
        if any(passage_covers(p, g, min_coverage=min_coverage) for g in gold):
            return i
    return None


def reads_gold(evidence: Sequence[Excerpt], gold: Sequence[GoldSpan]) -> bool:
    """True when a sentence the model was given overlaps a gold quote in the same document.

    Recall@k says whether a retrieved passage covers the gold quote, and a longer passage
    covers it more often: chunks of 900 characters instead of 500 raised recall@1 on the tune
    splits by 0 to 0.19 (per split and language) while this share moved by -0.06 to +0.03.
    The model reads only the evidence sentences chosen from the passages.

    >>> e = [Excerpt(1, "a.txt", 10, 20, "")]
    >>> reads_gold(e, [GoldSpan("a.txt", 15, 40)]), reads_gold(e, [GoldSpan("a.txt", 20, 40)]), reads_gold([], [])
    (True, False, False)
    """
    return any(gold_anchored(e, gold) for e in evidence)


def cites_gold(citations: Sequence[Citation], gold: Sequence[GoldSpan]) -> bool:
    """True when some citation span overlaps some gold span in the same document."""
    return any(gold_anchored(c, gold) for c in citations)


def gold_anchored(citation: Citation | Excerpt, gold: Sequence[GoldSpan]) -> bool:
    """True when the citation's (or excerpt's) span overlaps a gold quote's span in the same document.

    The independent check of a citation: it uses the QA set's quotes, not the
    support judge the pipeline chose its citations with.

    >>> c = Citation(marker=1, doc_id="a.txt", title="", chunk_id="a#0", start=10, end=20, quote="")
    >>> gold_anchored(c, [GoldSpan("a.txt", 15, 40)]), gold_anchored(c, [GoldSpan("b.txt", 15, 40)])
    (True, False)
    >>> gold_anchored(c, [GoldSpan("a.txt", 20, 40)])
    False
    """
    return any(same_doc(citation.doc_id, g.doc) and citation.start < g.end and g.start < citation.end
               for g in gold)


def shown_citations(citations: Sequence[Citation]) -> list[Citation]:
    """The citations a reader sees as proof: the supported ones, one per span."""
    seen: dict[tuple[str, int, int], Citation] = {}
    for c in citations:
        if c.supported:
            seen.setdefault((c.doc_id, c.start, c.end), c)
    return list(seen.values())


# --------------------------------------------------------------------------- per question


@dataclass
class QuestionResult:
    """Everything measured on one question; the answer fields are None in retrieval-only mode."""

    id: str
    lang: str
    question: str
    answerable: bool
    expected: list[str]
    gold_found: bool
    first_hit_rank: int | None
    retrieved: list[str] = field(default_factory=list)
    # A sentence the model was given overlaps a gold quote (None: answerable questions only,
    # and only when the evidence is known).
    gold_in_evidence: bool | None = None
    answer: str | None = None
    raw_answer: str | None = None  # the model's own words before the checks (read the misses)
    token_probs: list[tuple[str, float]] | None = None  # the model's probability for each of them
    confidence: float | None = None
    abstained: bool | None = None
    citations: list[Citation] = field(default_factory=list)
    # correct: the grade (answerable: contained or F1 >= 0.5; unanswerable: abstained).
    # answer_correct: containment alone, the figure before F1 existed.
    correct: bool | None = None
    answer_correct: bool | None = None
    answer_f1: float | None = None
    fact_recall: float | None = None  # overview questions with facts: share of them the answer gives
    citation_recall: float | None = None
    citation_precision: float | None = None
    sentences: list[SentenceCheck] = field(default_factory=list)
    cites_gold: bool | None = None  # a shown citation overlaps a gold quote
    gold_citation_precision: float | None = None  # share of shown citations that do
    wrong_but_cited: bool | None = None  # an answer graded wrong that shows a citation
    # The model's own words (raw_answer, markers stripped) graded like the answer: what the
    # checks had to sort. None without raw words or on an unanswerable question.
    raw_correct: bool | None = None
    answer_language: str | None = None
    language_match: bool | None = None
    degenerate: bool | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    prompt_tokens: int | None = None
    timings: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["citations"] = [c.to_dict() for c in self.citations]
        d["sentences"] = [s.to_dict() for s in self.sentences]
        return d


def raw_graded(raw: str, expected: Sequence[str]) -> bool | None:
    """The grade of the model's own words before the checks; None when there are none.

    >>> raw_graded("Paul Dupont [1].", ["Dupont"]), raw_graded("NOT_IN_ARTICLES", ["Dupont"]), raw_graded("", ["x"])
    (True, False, None)
    """
    text = strip_markers(raw or "").strip()
    if not text:
        return None
    if is_abstain_token(raw):
        return False
    return correct(answer_matches(text, expected), best_f1(text, expected))


def score_question(item: EvalItem, passages: Sequence[Passage] | None, answer: Answer | None,
                   gold: Sequence[GoldSpan], *, judge: SupportJudge | None = None,
                   language_of: Callable[[str], str | None] = answer_language,
                   min_coverage: float = MIN_COVERAGE, evidence: Sequence[Excerpt] | None = None) -> QuestionResult:
    """Score one question from what the assistant returned (``answer`` None: retrieval only,
    where ``evidence`` may give the sentences the model would read)."""
    row = QuestionResult(id=item.id, lang=item.lang, question=item.question, answerable=item.answerable,
                         expected=list(item.answers), gold_found=bool(gold), first_hit_rank=None)
    if passages is not None:
        row.retrieved = [f"{p.doc_id}#{p.chunk_id}" for p in passages]
        if item.answerable:
            row.first_hit_rank = first_hit_rank(passages, gold, min_coverage=min_coverage)
            row.reasons.extend(_retrieval_reasons(item, row.first_hit_rank, bool(gold), len(passages)))
    if answer is not None:
        evidence = answer.evidence
    if item.answerable and gold and evidence is not None:
        row.gold_in_evidence = reads_gold(evidence, gold)
    if answer is None:
        if item.answerable and passages is not None:
            row.correct = row.first_hit_rank is not None and row.first_hit_rank <= REASON_K
        return row
    if judge is None:
        raise ValueError("scoring an answer needs a support judge")

    row.answer = answer.answer
    row.raw_answer = answer.raw_answer or None
    row.token_probs = answer.token_probs
    row.confidence = answer.confidence
    row.abstained = bool(answer.abstained)
    row.citations = list(answer.citations)
    row.timings = answer.timings.to_dict()
    row.ttft_ms = answer.timings.ttft_ms
    row.total_ms = answer.timings.total_ms
    row.prompt_tokens = answer.timings.prompt_tokens

    if item.answerable:
        row.raw_correct = raw_graded(answer.raw_answer, item.answers)
        row.answer_correct = not row.abstained and answer_matches(answer.answer, item.answers)
        row.answer_f1 = 0.0 if row.abstained else best_f1(answer.answer, item.answers)
        row.correct = not row.abstained and correct(row.answer_correct, row.answer_f1)
        if item.facts:
            row.fact_recall = 0.0 if row.abstained else fact_recall(answer.answer, item.facts)
        if row.abstained:
            row.reasons.append("abstained on answerable question" + _abstained_by(answer.raw_answer))
        elif not row.correct:
            row.reasons.append(f"expected one of {list(item.answers)!r} not in answer (F1 {row.answer_f1:.2f})")
    else:
        row.correct = row.abstained
        if not row.abstained:
            row.reasons.append("answered an unanswerable question (expected abstention)")

    if not row.abstained:
        score = score_citations(claim_sentences(answer.answer), citation_evidence(answer), judge)
        if score is not None:
            row.citation_recall = score.recall
            row.citation_precision = score.precision
            row.sentences = score.sentences
            row.reasons.extend(_citation_reasons(score))
        shown = shown_citations(answer.citations)
        if item.answerable:
            anchored = sum(gold_anchored(c, gold) for c in shown)
            row.cites_gold = anchored > 0
            row.gold_citation_precision = anchored / len(shown) if shown else None
            if not row.cites_gold:
                row.reasons.append("no supported citation overlaps the gold quote")
        row.wrong_but_cited = not row.correct and bool(shown)
        if row.wrong_but_cited:
            row.reasons.append("wrong answer shown with a supported citation")

    row.answer_language = language_of(answer.answer)
    row.language_match = row.answer_language == item.lang
    if not row.language_match:
        row.reasons.append(f"answer in {row.answer_language or 'unknown language'}, question in {item.lang}")

    why = degenerate_reason(answer.answer, item.question)
    row.degenerate = why is not None
    if why:
        row.reasons.append(f"degenerate answer: {why}")
    return row


def _abstained_by(raw: str) -> str:
    """Who abstained: the model, or the checks that rejected what it said.

    >>> _abstained_by("NOT_IN_ARTICLES"), _abstained_by("Paris [1].")
    (' (the model said so)', ' (the checks rejected: Paris [1].)')
    """
    if not raw.strip():
        return ""
    if is_abstain_token(raw):
        return " (the model said so)"
    return f" (the checks rejected: {raw.strip()[:200]})"


def _retrieval_reasons(item: EvalItem, rank: int | None, gold_found: bool, n_retrieved: int) -> list[str]:
    if not gold_found:
        docs = sorted({g.doc for g in item.gold})
        return [f"gold quote not found in {', '.join(docs)}"]
    if rank is None:
        return [f"gold passage not retrieved (not in top {n_retrieved})"]
    if rank > REASON_K:
        return [f"gold passage not in top {REASON_K} (first hit at rank {rank})"]
    return []


def _citation_reasons(score: CitationScore) -> list[str]:
    reasons = []
    for s in score.sentences:
        if not s.markers:
            reasons.append(f"sentence {s.index} has no citation")
        elif s.unknown_markers:
            listed = ", ".join(f"[{m}]" for m in s.unknown_markers)
            reasons.append(f"sentence {s.index} cites unknown marker(s) {listed}")
        elif not s.supported:
            reasons.append(f"sentence {s.index} unsupported")
        else:
            extra = [m for m in s.markers if m not in s.relevant]
            if extra:
                listed = ", ".join(f"[{m}]" for m in extra)
                reasons.append(f"sentence {s.index}: citation {listed} not needed")
    return reasons


