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
from rag.eval.judges import judge_label
from rag.eval.metrics import (
    MIN_COVERAGE,
    GoldSpan,
    QuestionResult,
    answer_language,
    locate_quote,
    mean,
    percentile,
    score_question,
    separation,
)
from rag.records import Answer, Excerpt, Passage
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
    # Answers, graded against the QA set (rag.eval.grading): accuracy counts an
    # answer right when a gold answer is contained in it or its token F1 >= 0.5;
    # answer_accuracy is containment alone (the figure before F1).
    accuracy: float | None = None
    answer_accuracy: float | None = None
    answer_f1: float | None = None
    # Overview questions that list their main facts: the share of those facts the answers give.
    fact_recall: float | None = None
    abstention_accuracy: float | None = None
    false_abstention_rate: float | None = None
    # Among answers given (not abstentions), to any question: graded wrong yet
    # showing a supported citation, the worst outcome for a reader.
    wrong_but_cited_rate: float | None = None
    # Beside it, among answers given: graded wrong whatever their citations show, and shown
    # with no verified citation (an answer the model was unsure of is shown unconfirmed,
    # rag.answer.confidence.unconfirmed: it leaves wrong_but_cited, not wrong_given).
    wrong_given_rate: float | None = None
    unconfirmed_rate: float | None = None
    # Do the checks sort the model's answers? Graded against the QA set, not by a judge:
    # raw_accuracy is the model's own words graded as answers (before any check);
    # checks_keep_right / checks_keep_wrong are the shares of right / wrong raw answers
    # (answerable questions) that were shown rather than turned into abstentions. Checks
    # that tell right from wrong keep far more of the first than of the second.
    raw_accuracy: float | None = None
    checks_keep_right: float | None = None
    checks_keep_wrong: float | None = None
    # Does the model's own confidence (rag.answer.confidence) sort its raw answers? ROC AUC
    # for right against wrong ones, 0.5 = no better than chance; None without token probabilities.
    confidence_auc: float | None = None
    # Headline citation figures, anchored on the QA set's gold quotes (not on a judge).
    gold_citation_precision: float | None = None
    gold_citation_recall: float | None = None
    # ALCE precision/recall by a support judge: written as citation_precision[<judge>].
    citation_precision: float | None = None
    citation_recall: float | None = None
    citation_judge: str | None = None
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
        judge = d.pop("citation_judge")
        if judge:  # the name says whose verdict it is, so it is never read as the independent figure
            for key in ("citation_precision", "citation_recall"):
                d[judged_key(key, judge)] = d.pop(key)
        return d


def judged_key(metric: str, judge: str) -> str:
    """The name of a judge-made metric.

    >>> judged_key("citation_precision", "lexical")
    'citation_precision[lexical]'
    """
    return f"{metric}[{judge}]"


def summarize(rows: Sequence[QuestionResult], *, retrieval_only: bool = False,
              judge: str | None = None) -> Metrics:
    """Aggregate question rows; ``judge`` names the judge of the ALCE citation scores.

    Citation scores, ALCE and gold-anchored precision, are averaged per answer, as in ALCE.
    """
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    ranks = [r.first_hit_rank for r in answerable]
    retrieval: dict[str, float | None] = {
        f"recall@{k}": mean(rank is not None and rank <= k for rank in ranks) for k in RECALL_KS
    }
    retrieval[f"mrr@{MRR_K}"] = mean(1 / rank if rank is not None and rank <= MRR_K else 0.0 for rank in ranks)
    # What reaches the model, not only the passages (rag.eval.metrics.reads_gold).
    retrieval["gold_in_evidence"] = mean(bool(r.gold_in_evidence) for r in answerable if r.gold_in_evidence is not None)
    metrics = Metrics(retrieval=retrieval, n_questions=len(rows), n_answerable=len(answerable),
                      n_unanswerable=len(unanswerable))
    if retrieval_only:
        return metrics
    answered = [r for r in rows if r.answer is not None]
    graded = [r for r in answerable if r.answer is not None]
    metrics.accuracy = mean(bool(r.correct) for r in graded)
    metrics.answer_accuracy = mean(bool(r.answer_correct) for r in graded)
    metrics.answer_f1 = mean(r.answer_f1 or 0.0 for r in graded)
    metrics.fact_recall = mean(r.fact_recall for r in graded if r.fact_recall is not None)
    metrics.abstention_accuracy = mean(bool(r.abstained) for r in unanswerable if r.answer is not None)
    metrics.false_abstention_rate = mean(bool(r.abstained) for r in graded)
    metrics.wrong_but_cited_rate = mean(bool(r.wrong_but_cited) for r in answered if not r.abstained)
    metrics.wrong_given_rate = mean(not r.correct for r in answered if not r.abstained)
    metrics.unconfirmed_rate = mean(not any(c.supported for c in r.citations) for r in answered if not r.abstained)
    raw = [r for r in graded if r.raw_correct is not None]
    metrics.raw_accuracy = mean(bool(r.raw_correct) for r in raw)
    metrics.checks_keep_right = mean(not r.abstained for r in raw if r.raw_correct)
    metrics.checks_keep_wrong = mean(not r.abstained for r in raw if not r.raw_correct)
    metrics.confidence_auc = separation([r.confidence for r in raw if r.raw_correct and r.confidence is not None],
                                        [r.confidence for r in raw if not r.raw_correct and r.confidence is not None])
    metrics.gold_citation_precision = mean(r.gold_citation_precision for r in graded)
    metrics.gold_citation_recall = mean(r.cites_gold for r in graded)
    metrics.citation_precision = mean(r.citation_precision for r in answered if r.citation_precision is not None)
    metrics.citation_recall = mean(r.citation_recall for r in answered if r.citation_recall is not None)
    metrics.citation_judge = judge
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


def build_result(rows: Sequence[QuestionResult], *, retrieval_only: bool = False, judge: str | None = None,
                 **settings: Any) -> EvalResult:
    """Aggregate rows overall and for each of ``fr`` and ``en``; ``judge`` is the citation judge's label."""
    return EvalResult(
        questions=list(rows),
        overall=summarize(rows, retrieval_only=retrieval_only, judge=judge),
        by_language={lang: summarize([r for r in rows if r.lang == lang], retrieval_only=retrieval_only, judge=judge)
                     for lang in LANGUAGES},
        judge=judge,
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
    ``rag.answer.judge.LexicalJudge`` (see :func:`rag.eval.judges.make_judge` for the
    others) and ``language_of`` to :func:`~rag.eval.grading.answer_language`.
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
    # Without answers, the sentences the model would read, when the assistant can tell.
    read = getattr(assistant, "evidence", None) if retrieval_only else None
    asked: list[tuple[EvalItem, list[Passage], Answer | None, list[GoldSpan], list[Excerpt] | None]] = []
    for item in tqdm(items, desc="eval", unit="q", disable=not progress):
        gold = gold_spans(assistant, item, doc_cache)
        passages = list(assistant.retrieve(item.question, k=k))
        answer = None if retrieval_only else assistant.ask(item.question, k=answer_k)
        evidence = read(item.question, k=answer_k) if read is not None and item.answerable else None
        asked.append((item, passages, answer, gold, evidence))
    # Citations are judged once every question is answered: an LLM judge sharing the
    # model would otherwise evict the answer prompt's cached prefix and slow the timings.
    rows: list[QuestionResult] = []
    for item, passages, answer, gold, evidence in tqdm(asked, desc="judge", unit="q",
                                                        disable=not progress or retrieval_only):
        row = score_question(item, passages, answer, gold, judge=judge, evidence=evidence,
                             language_of=language_of or answer_language, min_coverage=min_coverage)
        rows.append(row)
        LOG.debug("%s: correct=%s reasons=%s", item.id, row.correct, row.reasons)
    elapsed = time.perf_counter() - started
    if answer_k is None and not retrieval_only:  # the assistant's own k: recorded as the number it is
        answer_k = getattr(getattr(assistant, "settings", None), "k", None)
    result = build_result(rows, retrieval_only=retrieval_only, k=k, answer_k=answer_k,
                          judge=judge_label(judge) if judge is not None else None, elapsed_s=elapsed)
    LOG.info("evaluated %d questions in %.1f s: recall@5=%s accuracy=%s", len(rows), elapsed,
             result.overall.retrieval.get("recall@5"), result.overall.accuracy)
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
