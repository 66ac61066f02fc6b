"""``rag bench``, the answering side: the pipeline, the same final prompt through
llama.cpp alone (the "raw" replay) and a naive baseline, timed and scored
(fairness choices in :mod:`rag.eval.bench`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rag.answer.judge import LexicalJudge
from rag.answer.markers import parse_markers, strip_markers
from rag.answer.pipeline import STOP
from rag.answer.prompt import baseline_messages, build_messages, is_abstain_token
from rag.eval.dataset import EvalItem
from rag.eval.metrics import QuestionResult, mean, percentile, rounded, score_question
from rag.eval.run import gold_spans, summarize
from rag.records import Answer, Citation, Passage, Timings

log = logging.getLogger(__name__)

# The raw replay must stop where the pipeline stops.
PIPELINE_STOP = STOP
BASELINE_K = 5


# --------------------------------------------------------------------------- records


@dataclass
class QuestionTiming:
    """Timings of one question through one system (``pipeline`` or ``baseline``).

    ``raw_*`` are the pipeline's final prompt through llama.cpp alone (None when
    the pipeline abstained before calling the LLM, and for the baseline).
    """

    id: str
    system: str
    ttft_ms: float
    total_ms: float
    llm_called: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    correct: bool | None = None
    raw_ttft_ms: float | None = None
    raw_total_ms: float | None = None
    raw_completion_tokens: int | None = None
    raw_same_output: bool | None = None
    reused_prefix_tokens: int | None = None
    llm_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StreamTiming:
    """One ``stream_chat`` call timed from the call: first piece, end, the text, pieces."""

    ttft_ms: float
    total_ms: float
    text: str
    pieces: int


# --------------------------------------------------------------------------- pure helpers


def user_ttft_ms(answer: Answer) -> float:
    """Time until the user sees text: the first token, or the whole answer if none was streamed.

    >>> user_ttft_ms(Answer("q", "a", "fr", timings=Timings(ttft_ms=120.0, total_ms=900.0, completion_tokens=5)))
    120.0
    >>> user_ttft_ms(Answer("q", "a", "fr", abstained=True, timings=Timings(total_ms=35.0)))
    35.0
    """
    t = answer.timings
    return t.ttft_ms if t.completion_tokens > 0 and t.ttft_ms > 0 else t.total_ms


def baseline_answer(question: str, raw: str, passages: Sequence[Passage], *, language: str,
                    timings: Timings | None = None) -> Answer:
    """An unverified :class:`Answer` from the baseline's raw output, for the eval code.

    Each ``[n]`` marker cites the whole passage ``n`` (quote = its text); markers
    without a passage are left in the text and get no citation, so the citation
    metrics count them as wrong. Empty output or the abstain token is an abstention.

    >>> p = Passage(rank=1, doc_id="a.txt", chunk_id="a.txt:10-30", start=10, end=30, score=0.5,
    ...             text="Acme a levé 30 M€.", title="Acme")
    >>> a = baseline_answer("Combien ?", "Acme a levé 30 M€ [1][3].", [p], language="fr")
    >>> [(c.marker, c.doc_id, c.start, c.end, c.quote) for c in a.citations], a.abstained
    ([(1, 'a.txt', 10, 30, 'Acme a levé 30 M€.')], False)
    """
    raw = raw.strip()
    abstained = not strip_markers(raw) or is_abstain_token(raw)
    citations = []
    if not abstained:
        for n in parse_markers(raw):
            if 1 <= n <= len(passages):
                p = passages[n - 1]
                citations.append(Citation(marker=n, doc_id=p.doc_id, title=p.title, chunk_id=p.chunk_id,
                                          start=p.start, end=p.end, quote=p.text, supported=False,
                                          date=p.date, passage_start=p.start, passage_end=p.end))
    return Answer(question=question, answer=raw, language=language, abstained=abstained, citations=citations,
                  passages=list(passages), timings=timings or Timings(), raw_answer=raw)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the common prefix of two token sequences.

    >>> common_prefix([1, 2, 3, 4], [1, 2, 5]), common_prefix([], [1])
    (2, 0)
    """
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, None when either is missing or ``b`` is 0.

    >>> ratio(1.0, 4.0), ratio(None, 2.0), ratio(1.0, 0.0)
    (0.25, None, None)
    """
    if a is None or b is None or b == 0:
        return None
    return a / b


def tokens_per_s(tokens: Sequence[int], seconds: Sequence[float]) -> float | None:
    """Ratio of sums over the items that decoded more than one token in positive time.

    >>> tokens_per_s([10, 1, 30], [1.0, 0.5, 2.0])
    13.333333333333334
    """
    pairs = [(n, s) for n, s in zip(tokens, seconds) if n > 1 and s > 0]
    total = sum(s for _, s in pairs)
    return sum(n for n, _ in pairs) / total if total > 0 else None


# --------------------------------------------------------------------------- the LLM, timed


def llama_of(llm: Any) -> Any:
    """The llama.cpp object behind ``llm`` (loading it), or None for other LLMs (fakes)."""
    return getattr(llm, "llama", None)


def kv_tokens(llm: Any) -> np.ndarray | None:
    """Tokens held in the LLM's KV cache, or None when it has no llama.cpp context."""
    llama = llama_of(llm)
    if llama is None or not hasattr(llama, "input_ids"):
        return None
    return np.array(llama.input_ids[: llama.n_tokens])


def truncate_kv(llm: Any, n_tokens: int) -> None:
    """Keep only the first ``n_tokens`` of the KV cache (0 clears it): the next prompt
    reuses at most that prefix. No-op for LLMs without a llama.cpp context."""
    llama = llama_of(llm)
    if llama is None:
        return
    if n_tokens <= 0 and hasattr(llama, "reset"):
        llama.reset()
    elif hasattr(llama, "n_tokens"):
        # llama-cpp-python compares new prompts with input_ids[:n_tokens] and drops
        # the KV entries past the common prefix before decoding.
        llama.n_tokens = min(int(n_tokens), int(llama.n_tokens))


def time_stream(llm: Any, messages: list[dict[str, str]], *, max_tokens: int, temperature: float,
                stop: list[str] | None) -> StreamTiming:
    """Run ``llm.stream_chat`` alone and time it (first piece and end, from the call)."""
    t0 = time.perf_counter()
    first = None
    pieces: list[str] = []
    for piece in llm.stream_chat(messages, max_tokens=max_tokens, temperature=temperature, stop=stop):
        if first is None:
            first = time.perf_counter()
        pieces.append(piece)
    end = time.perf_counter()
    return StreamTiming(ttft_ms=((first or end) - t0) * 1000, total_ms=(end - t0) * 1000,
                        text="".join(pieces).strip(), pieces=len(pieces))


# --------------------------------------------------------------------------- pipeline and baseline


def dense_passages(assistant: Any, question: str, k: int = BASELINE_K) -> list[Passage]:
    """Top-``k`` whole chunks by dense similarity alone: no BM25, no merging, no threshold."""
    from rag.index import vectors
    data = assistant.data
    qv = assistant.embedder.encode_queries([question])[0]
    out = []
    for rank, (row, score) in enumerate(vectors.search(assistant.retriever.index, qv, k), 1):
        c = data.chunks[row]
        doc = data.documents[c.doc_id]
        out.append(Passage(rank=rank, doc_id=c.doc_id, chunk_id=c.chunk_id, start=c.start, end=c.end,
                           score=round(score, 4), text=c.text, title=doc.title, date=doc.date,
                           language=c.language))
    return out


def ask_baseline(assistant: Any, question: str) -> Answer:
    """The naive baseline: dense top-5 whole chunks, plain prompt, empty KV cache."""
    settings = assistant.settings
    llm = assistant.llm
    lang = assistant.language_of(question)
    with getattr(llm, "lock", threading.RLock()):
        truncate_kv(llm, 0)  # no caching: every prompt is processed in full
        t0 = time.perf_counter()
        passages = dense_passages(assistant, question)
        messages = baseline_messages(question, passages)
        first = None
        pieces: list[str] = []
        for piece in llm.stream_chat(messages, max_tokens=settings.max_tokens, temperature=settings.temperature,
                                     stop=PIPELINE_STOP):
            if first is None:
                first = time.perf_counter()
            pieces.append(piece)
        answer = baseline_answer(question, "".join(pieces), passages, language=lang)
        end = time.perf_counter()
    t = answer.timings
    t.ttft_ms = round(((first or end) - t0) * 1000, 1)
    t.total_ms = round((end - t0) * 1000, 1)
    t.completion_tokens = len(pieces)
    try:  # counted outside the timed region: it is not part of the baseline's work
        t.prompt_tokens = llm.count_tokens(messages)
    except Exception:
        log.debug("token count failed", exc_info=True)
    return answer


def _progress(items: Sequence[Any], desc: str, enabled: bool) -> Iterator[Any]:
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=desc, unit="q", disable=not enabled)


def bench_answers(assistant: Any, items: Sequence[EvalItem], *, progress: bool = True) -> dict[str, Any]:
    """Pipeline (+ raw replay) then baseline over ``items``; timings and eval metrics of both."""
    settings = assistant.settings
    llm = assistant.llm
    judge = LexicalJudge()
    lock = getattr(llm, "lock", threading.RLock())
    # Warm-up outside the measurements: loads the model and puts the pipeline's
    # fixed prefix (system prompt + example) in the KV cache, as after any earlier question.
    with lock:
        for _ in llm.stream_chat(build_messages("?", [], "fr"), max_tokens=1, temperature=0.0):
            pass
    gold_cache: dict[str, str | None] = {}
    rows: dict[str, list[QuestionResult]] = {"pipeline": [], "baseline": []}
    timings: dict[str, list[QuestionTiming]] = {"pipeline": [], "baseline": []}

    for item in _progress(items, "pipeline", progress):
        gold = gold_spans(assistant, item, gold_cache)
        before = kv_tokens(llm)
        answer = assistant.ask(item.question)
        after = kv_tokens(llm)
        # The exact messages the pipeline sent, from the pipeline itself (retrieval re-run, cached vectors).
        messages = assistant.pipeline().prepare(item.question).messages
        qt = QuestionTiming(id=item.id, system="pipeline", ttft_ms=user_ttft_ms(answer),
                            total_ms=answer.timings.total_ms, llm_called=messages is not None,
                            prompt_tokens=answer.timings.prompt_tokens,
                            completion_tokens=answer.timings.completion_tokens,
                            llm_ms=answer.timings.llm_ms)
        if messages is not None:
            with lock:
                if before is not None and after is not None:
                    # Give the replay exactly the cached prefix the pipeline had.
                    qt.reused_prefix_tokens = common_prefix(before, after)
                    truncate_kv(llm, qt.reused_prefix_tokens)
                raw = time_stream(llm, messages, max_tokens=settings.max_tokens,
                                  temperature=settings.temperature, stop=PIPELINE_STOP)
            qt.raw_ttft_ms, qt.raw_total_ms = round(raw.ttft_ms, 1), round(raw.total_ms, 1)
            qt.raw_completion_tokens = raw.pieces
            qt.raw_same_output = raw.text == answer.raw_answer
            if not qt.raw_same_output:
                log.info("%s: raw replay output differs from the pipeline's", item.id)
        row = score_question(item, answer.passages, answer, gold, judge=judge)
        qt.correct = row.correct
        rows["pipeline"].append(row)
        timings["pipeline"].append(qt)

    for item in _progress(items, "baseline", progress):
        gold = gold_spans(assistant, item, gold_cache)
        answer = ask_baseline(assistant, item.question)
        row = score_question(item, answer.passages, answer, gold, judge=judge)
        timings["baseline"].append(QuestionTiming(
            id=item.id, system="baseline", ttft_ms=user_ttft_ms(answer), total_ms=answer.timings.total_ms,
            llm_called=True, prompt_tokens=answer.timings.prompt_tokens,
            completion_tokens=answer.timings.completion_tokens, correct=row.correct))
        rows["baseline"].append(row)
    truncate_kv(llm, 0)  # leave no baseline state behind for later users of the LLM

    out: dict[str, Any] = {}
    for system, suffix in (("pipeline", ""), ("baseline", "_baseline")):
        ts = timings[system]
        metrics = summarize(rows[system])
        ttft = [t.ttft_ms for t in ts]
        total = [t.total_ms for t in ts]
        called = [t for t in ts if t.llm_called]
        out.update({
            f"ttft_ms_p50{suffix}": rounded(percentile(ttft, 50)),
            f"ttft_ms_p95{suffix}": rounded(percentile(ttft, 95)),
            f"ttft_ms_p50_llm{suffix}": rounded(percentile([t.ttft_ms for t in called], 50)),
            f"total_ms_p50{suffix}": rounded(percentile(total, 50)),
            f"total_ms_p95{suffix}": rounded(percentile(total, 95)),
            f"prompt_tokens_mean{suffix}": rounded(mean([t.prompt_tokens for t in called if t.prompt_tokens])),
            f"gen_tokens_per_s{suffix}": rounded(tokens_per_s(
                [t.completion_tokens for t in called], [(t.total_ms - t.ttft_ms) / 1000 for t in called]), 2),
            f"answer_accuracy{suffix}": rounded(metrics.answer_accuracy, 4),
            f"citation_precision{suffix}": rounded(metrics.citation_precision, 4),
            f"citation_recall{suffix}": rounded(metrics.citation_recall, 4),
            f"abstention_accuracy{suffix}": rounded(metrics.abstention_accuracy, 4),
            f"llm_calls{suffix}": len(called),
        })
    pipe = timings["pipeline"]
    replayed = [t for t in pipe if t.raw_total_ms is not None]
    raw_total = [t.raw_total_ms for t in replayed if t.raw_total_ms is not None]
    pipeline_sum = sum(t.total_ms for t in pipe)
    out.update({
        "raw_llm_ms_p50": rounded(percentile(raw_total, 50)),
        "raw_llm_ms_p95": rounded(percentile(raw_total, 95)),
        "raw_llm_ttft_ms_p50": rounded(percentile([t.raw_ttft_ms for t in replayed if t.raw_ttft_ms is not None], 50)),
        # Ratio of sums over all questions (an abstention before the LLM is all overhead).
        "overhead_fraction": rounded(ratio(pipeline_sum - sum(raw_total), pipeline_sum), 4),
        "overhead_fraction_p50": rounded(percentile(
            [(t.total_ms - (t.raw_total_ms or 0.0)) / t.total_ms for t in replayed if t.total_ms > 0], 50), 4),
        # Absolute per-question overhead: negative values mean the pipeline's own work is
        # below llama.cpp's run-to-run noise on this machine.
        "overhead_ms_p50": rounded(percentile([t.total_ms - (t.raw_total_ms or 0.0) for t in replayed], 50)),
        # Measured directly: time outside every llama.cpp call the pipeline made
        # (a retry's generation counts as llama.cpp time here, as overhead above).
        "overhead_fraction_outside_llm": rounded(ratio(sum(t.total_ms - t.llm_ms for t in pipe), pipeline_sum), 4),
        "gen_tokens_per_s_raw": rounded(tokens_per_s(
            [t.raw_completion_tokens or 0 for t in replayed],
            [((t.raw_total_ms or 0.0) - (t.raw_ttft_ms or 0.0)) / 1000 for t in replayed]), 2),
        "raw_same_output_rate": rounded(mean([float(bool(t.raw_same_output)) for t in replayed]), 4),
        "prompt_tokens_uncached_mean": rounded(mean(
            [t.prompt_tokens - t.reused_prefix_tokens for t in replayed
             if t.reused_prefix_tokens is not None and t.prompt_tokens])),
        "n_questions": len(items),
        "questions": [t.to_dict() for t in pipe + timings["baseline"]],
    })
    return out
