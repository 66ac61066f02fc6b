"""The evaluation run: ask every question, score it (:mod:`rag.eval.metrics`),
aggregate the rows overall and per language.

Used by ``rag eval DATASET.jsonl`` and the Python API::

    items = load_dataset("eval/dev.jsonl")
    result = run_eval(assistant, items)
    print(format_table(result))
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from rag.answer.judge import LexicalJudge, SupportJudge
from rag.errors import RagError
from rag.eval.dataset import EvalItem
from rag.eval.metrics import (
    MIN_COVERAGE,
    GoldSpan,
    QuestionResult,
    answer_language,
    locate_quote,
    mean,
    percentile,
    score_question,
)
from rag.records import Answer, Passage
from rag.text.analysis import LANGUAGES

LOG = logging.getLogger(__name__)

RECALL_KS = (1, 3, 5, 10)
MRR_K = 10
DEFAULT_K = 10


class Assistant(Protocol):
    """What the evaluation needs from the assistant."""

    def retrieve(self, question: str, *, k: int | None = None) -> list[Passage]: ...

    def ask(self, question: str, *, k: int | None = None) -> Answer: ...

    def document_text(self, doc_id: str) -> str: ...


# --------------------------------------------------------------------------- aggregation


@dataclass
class Metrics:
    """Aggregated metrics over a set of questions; None where nothing was measured."""

    retrieval: dict[str, float | None]
    answer_accuracy: float | None = None
    abstention_accuracy: float | None = None
    false_abstention_rate: float | None = None
    citation_precision: float | None = None
    citation_recall: float | None = None
    gold_citation_rate: float | None = None
    language_match: float | None = None
    degenerate_rate: float | None = None
    ttft_ms_p50: float | None = None
    ttft_ms_p95: float | None = None
    total_ms_p50: float | None = None
    total_ms_p95: float | None = None
    prompt_tokens_mean: float | None = None
    n_questions: int = 0
    n_answerable: int = 0
    n_unanswerable: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["retrieval"] = dict(self.retrieval)
        return d


def summarize(rows: Sequence[QuestionResult], *, retrieval_only: bool = False) -> Metrics:
    """Aggregate question rows. Citation scores are averaged per answer, as in ALCE."""
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    ranks = [r.first_hit_rank for r in answerable]
    retrieval: dict[str, float | None] = {
        f"recall@{k}": mean(rank is not None and rank <= k for rank in ranks) for k in RECALL_KS
    }
    retrieval[f"mrr@{MRR_K}"] = mean(1 / rank if rank is not None and rank <= MRR_K else 0.0 for rank in ranks)
    metrics = Metrics(retrieval=retrieval, n_questions=len(rows), n_answerable=len(answerable),
                      n_unanswerable=len(unanswerable))
    if retrieval_only:
        return metrics
    answered = [r for r in rows if r.answer is not None]
    metrics.answer_accuracy = mean(bool(r.answer_correct) for r in answerable if r.answer is not None)
    metrics.abstention_accuracy = mean(bool(r.abstained) for r in unanswerable if r.answer is not None)
    metrics.false_abstention_rate = mean(bool(r.abstained) for r in answerable if r.answer is not None)
    metrics.citation_precision = mean(r.citation_precision for r in answered if r.citation_precision is not None)
    metrics.citation_recall = mean(r.citation_recall for r in answered if r.citation_recall is not None)
    metrics.gold_citation_rate = mean(r.cites_gold for r in answered if r.cites_gold is not None)
    metrics.language_match = mean(bool(r.language_match) for r in answered)
    metrics.degenerate_rate = mean(bool(r.degenerate) for r in answered)
    ttft = [r.ttft_ms for r in answered if r.ttft_ms is not None]
    total = [r.total_ms for r in answered if r.total_ms is not None]
    metrics.ttft_ms_p50, metrics.ttft_ms_p95 = percentile(ttft, 50), percentile(ttft, 95)
    metrics.total_ms_p50, metrics.total_ms_p95 = percentile(total, 50), percentile(total, 95)
    # Only answers that sent a prompt: an abstention decided before generation has 0 tokens.
    metrics.prompt_tokens_mean = mean(r.prompt_tokens for r in answered if r.prompt_tokens)
    return metrics


@dataclass
class EvalResult:
    """Per-question rows plus metrics overall and per language."""

    questions: list[QuestionResult]
    overall: Metrics
    by_language: dict[str, Metrics]
    retrieval_only: bool = False
    k: int = DEFAULT_K
    answer_k: int | None = None
    judge: str | None = None
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(),
            "by_language": {lang: m.to_dict() for lang, m in self.by_language.items()},
            "questions": [q.to_dict() for q in self.questions],
            "settings": {"retrieval_only": self.retrieval_only, "k": self.k, "answer_k": self.answer_k,
                         "judge": self.judge, "min_coverage": MIN_COVERAGE},
            "elapsed_s": self.elapsed_s,
        }


def build_result(rows: Sequence[QuestionResult], *, retrieval_only: bool = False, **settings: Any) -> EvalResult:
    """Aggregate rows overall and for each of ``fr`` and ``en``."""
    return EvalResult(
        questions=list(rows),
        overall=summarize(rows, retrieval_only=retrieval_only),
        by_language={lang: summarize([r for r in rows if r.lang == lang], retrieval_only=retrieval_only)
                     for lang in LANGUAGES},
        retrieval_only=retrieval_only,
        **settings,
    )


# --------------------------------------------------------------------------- the run


def run_eval(assistant: Assistant, items: Sequence[EvalItem], *, k: int | None = DEFAULT_K, answer_k: int | None = None,
             retrieval_only: bool = False, judge: SupportJudge | None = None,
             language_of: Callable[[str], str | None] | None = None,
             min_coverage: float = MIN_COVERAGE, progress: bool = True) -> EvalResult:
    """Ask every question and score it.

    ``k`` passages (None: 10) are retrieved for the retrieval metrics, so
    recall@10 needs k >= 10; answers use ``answer_k`` (None: the assistant's default). ``judge`` defaults to
    ``rag.answer.judge.LexicalJudge`` and ``language_of`` to :func:`~rag.eval.metrics.answer_language`.
    """
    if not items:
        raise ValueError("no questions to evaluate")
    k = DEFAULT_K if k is None else k
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if k < max(RECALL_KS):
        LOG.warning("k=%d: recall@%d and MRR@%d only see the top %d passages", k, max(RECALL_KS), MRR_K, k)
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage}")
    if not retrieval_only and judge is None:
        judge = LexicalJudge()
    from tqdm.auto import tqdm

    started = time.perf_counter()
    doc_cache: dict[str, str | None] = {}
    rows: list[QuestionResult] = []
    bar = tqdm(items, desc="eval", unit="q", disable=not progress)
    for item in bar:
        gold = gold_spans(assistant, item, doc_cache)
        passages = list(assistant.retrieve(item.question, k=k))
        answer = None if retrieval_only else assistant.ask(item.question, k=answer_k)
        row = score_question(item, passages, answer, gold, judge=judge,
                             language_of=language_of or answer_language, min_coverage=min_coverage)
        rows.append(row)
        LOG.debug("%s: correct=%s reasons=%s", item.id, row.correct, row.reasons)
        scored = [r.correct for r in rows if r.correct is not None]
        if scored:
            bar.set_postfix(correct=f"{sum(scored)}/{len(scored)}")
    elapsed = time.perf_counter() - started
    result = build_result(rows, retrieval_only=retrieval_only, k=k, answer_k=answer_k,
                          judge=type(judge).__name__ if judge is not None else None, elapsed_s=elapsed)
    LOG.info("evaluated %d questions in %.1f s: recall@5=%s answer_accuracy=%s", len(rows), elapsed,
             result.overall.retrieval.get("recall@5"), result.overall.answer_accuracy)
    return result


def gold_spans(assistant: Assistant, item: EvalItem, cache: dict[str, str | None]) -> list[GoldSpan]:
    spans: list[GoldSpan] = []
    for g in item.gold:
        if g.doc not in cache:
            cache[g.doc] = _document_text(assistant, g.doc)
        text = cache[g.doc]
        if text is None:
            continue
        found = locate_quote(text, g.quote, doc=g.doc)
        if not found:
            LOG.warning("%s: gold quote not found in %s: %r", item.id, g.doc, g.quote[:80])
        spans.extend(found)
    return spans


def _document_text(assistant: Assistant, doc: str) -> str | None:
    # The dataset names files ("000_x.txt"); the index may key them without the extension.
    for candidate in dict.fromkeys([doc, Path(doc).name, Path(doc).stem]):
        try:
            return assistant.document_text(candidate)
        except (LookupError, ValueError, OSError, RagError):
            continue
    LOG.warning("gold document %s is not in the index", doc)
    return None
