"""``rag bench``: speed, memory and answer quality of the pipeline against a naive
baseline, measured in one run on one machine.

What is measured, in this order:

1. models loaded and warm (embedder, LLM, the assistant's index); RSS after loading;
2. index build throughput on ``docs_dir`` (a fresh index in a temp folder, whole
   build: load, chunk, embed, store; median of a few builds);
3. retrieval latency (question embedding + dense + BM25 + fusion + merging) at seed size;
4. the dev questions through the pipeline (``Assistant.ask``), each followed by the
   same final prompt through llama.cpp alone (the "raw" time), then the same
   questions through a naive baseline (top-5 whole chunks from dense retrieval,
   plain prompt, KV cache cleared before each question, no verification);
   both sets of answers are scored with :mod:`rag.evaluate`;
5. a synthetic corpus of ``synthetic_chunks`` chunks (seed sentences recombined,
   :mod:`rag.synthetic`): build throughput on its first chunks, then retrieval
   latency over all of it.

Fairness choices (also written to the JSON under ``notes``):

* The pipeline runs its questions back to back, so its fixed prompt prefix stays in
  llama.cpp's KV cache as in a serving process; the baseline clears the cache
  before every question (it has no caching by definition), and runs in its own
  pass so it never evicts the pipeline's prefix.
* The raw llama.cpp measurement replays the pipeline's exact final messages with
  the same generation settings, after truncating the KV cache to the prefix the
  pipeline itself could reuse, so llama.cpp does the same prompt work twice.
* TTFT is when the user sees the first text: the first token, or the whole answer
  when the pipeline abstains before calling the LLM.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .assistant import STOP
from .bench_ann import bench_index_types, format_ann_table
from .errors import ConfigError
from .evaluate import (
    EvalItem,
    QuestionResult,
    _gold_spans,
    default_judge,
    load_dataset,
    parse_markers,
    percentile,
    score_question,
    strip_markers,
    summarize,
)
from .prompt import ABSTAIN_TOKEN, baseline_messages, build_messages
from .records import Answer, Citation, Passage, Timings
from .settings import Settings

log = logging.getLogger(__name__)

# The raw replay must stop where the pipeline stops.
PIPELINE_STOP = STOP
BASELINE_K = 5
# Chunks of the synthetic corpus really embedded to measure build throughput;
# the rest of the synthetic index reuses or perturbs their vectors (rag.synthetic.ReuseEmbedder).
MEASURED_CHUNKS = 1000
RETRIEVAL_ROUNDS = 3
SEED_BUILDS = 3
FULL_SIZE = 100_000

TARGET_TTFT_RATIO = 0.33
TARGET_OVERHEAD = 0.05
TARGET_RETRIEVAL_MS = 30.0
TARGET_INDEX_CHUNKS_PER_S = 100.0
TARGET_PEAK_RSS_MB = 2500.0
ANN_VECTORS = 1_000_000
TARGET_ANN_RECALL = 0.95


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
    abstained = not strip_markers(raw) or ABSTAIN_TOKEN in raw.upper().replace(" ", "_")
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


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _round(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(float(x), nd)


# --------------------------------------------------------------------------- the LLM, timed


def _llama(llm: Any) -> Any:
    """The llama.cpp object behind ``llm`` (loading it), or None for other LLMs (fakes)."""
    return getattr(llm, "llama", None)


def kv_tokens(llm: Any) -> np.ndarray | None:
    """Tokens held in the LLM's KV cache, or None when it has no llama.cpp context."""
    llama = _llama(llm)
    if llama is None or not hasattr(llama, "input_ids"):
        return None
    return np.array(llama.input_ids[: llama.n_tokens])


def truncate_kv(llm: Any, n_tokens: int) -> None:
    """Keep only the first ``n_tokens`` of the KV cache (0 clears it): the next prompt
    reuses at most that prefix. No-op for LLMs without a llama.cpp context."""
    llama = _llama(llm)
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


def pipeline_messages(assistant: Any, question: str) -> list[dict[str, str]] | None:
    """The final messages ``Assistant.events`` sends to the LLM for ``question``,
    rebuilt with the same steps; None when it abstains before calling the LLM."""
    from .assistant import MIN_RELEVANCE, clean_question

    settings = assistant.settings
    text, _ = clean_question(question, settings.max_question_chars)
    lang = assistant.language_of(text)
    passages, _ = assistant.retriever.retrieve(text, k=settings.k, language=lang)
    if not passages or max(p.score for p in passages) < MIN_RELEVANCE:
        return None
    passages, texts = assistant._evidence(text, lang, passages)
    return build_messages(text, passages[:len(texts)], lang, texts)


def dense_passages(assistant: Any, question: str, k: int = BASELINE_K) -> list[Passage]:
    """Top-``k`` whole chunks by dense similarity alone: no BM25, no merging, no threshold."""
    from . import vectors

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
    judge = default_judge()
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
        gold = _gold_spans(assistant, item, gold_cache)
        before = kv_tokens(llm)
        answer = assistant.ask(item.question)
        after = kv_tokens(llm)
        messages = pipeline_messages(assistant, item.question)
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
        gold = _gold_spans(assistant, item, gold_cache)
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
            f"ttft_ms_p50{suffix}": _round(percentile(ttft, 50)),
            f"ttft_ms_p95{suffix}": _round(percentile(ttft, 95)),
            f"ttft_ms_p50_llm{suffix}": _round(percentile([t.ttft_ms for t in called], 50)),
            f"total_ms_p50{suffix}": _round(percentile(total, 50)),
            f"total_ms_p95{suffix}": _round(percentile(total, 95)),
            f"prompt_tokens_mean{suffix}": _round(_mean([t.prompt_tokens for t in called if t.prompt_tokens])),
            f"gen_tokens_per_s{suffix}": _round(tokens_per_s(
                [t.completion_tokens for t in called], [(t.total_ms - t.ttft_ms) / 1000 for t in called]), 2),
            f"answer_accuracy{suffix}": _round(metrics.answer_accuracy, 4),
            f"citation_precision{suffix}": _round(metrics.citation_precision, 4),
            f"citation_recall{suffix}": _round(metrics.citation_recall, 4),
            f"abstention_accuracy{suffix}": _round(metrics.abstention_accuracy, 4),
            f"llm_calls{suffix}": len(called),
        })
    pipe = timings["pipeline"]
    replayed = [t for t in pipe if t.raw_total_ms is not None]
    raw_total = [t.raw_total_ms for t in replayed if t.raw_total_ms is not None]
    pipeline_sum = sum(t.total_ms for t in pipe)
    out.update({
        "raw_llm_ms_p50": _round(percentile(raw_total, 50)),
        "raw_llm_ms_p95": _round(percentile(raw_total, 95)),
        "raw_llm_ttft_ms_p50": _round(percentile([t.raw_ttft_ms for t in replayed if t.raw_ttft_ms is not None], 50)),
        # Ratio of sums over all questions (an abstention before the LLM is all overhead).
        "overhead_fraction": _round(ratio(pipeline_sum - sum(raw_total), pipeline_sum), 4),
        "overhead_fraction_p50": _round(percentile(
            [(t.total_ms - (t.raw_total_ms or 0.0)) / t.total_ms for t in replayed if t.total_ms > 0], 50), 4),
        # Absolute per-question overhead: negative values mean the pipeline's own work is
        # below llama.cpp's run-to-run noise on this machine.
        "overhead_ms_p50": _round(percentile([t.total_ms - (t.raw_total_ms or 0.0) for t in replayed], 50)),
        # Measured directly: time outside every llama.cpp call the pipeline made
        # (a retry's generation counts as llama.cpp time here, as overhead above).
        "overhead_fraction_outside_llm": _round(ratio(sum(t.total_ms - t.llm_ms for t in pipe), pipeline_sum), 4),
        "gen_tokens_per_s_raw": _round(tokens_per_s(
            [t.raw_completion_tokens or 0 for t in replayed],
            [((t.raw_total_ms or 0.0) - (t.raw_ttft_ms or 0.0)) / 1000 for t in replayed]), 2),
        "raw_same_output_rate": _round(_mean([float(bool(t.raw_same_output)) for t in replayed]), 4),
        "prompt_tokens_uncached_mean": _round(_mean(
            [t.prompt_tokens - t.reused_prefix_tokens for t in replayed
             if t.reused_prefix_tokens is not None and t.prompt_tokens])),
        "n_questions": len(items),
        "questions": [t.to_dict() for t in pipe + timings["baseline"]],
    })
    return out


# --------------------------------------------------------------------------- index and retrieval


def forget_queries(retriever: Any) -> None:
    """Empty the retriever's question-vector cache, if it has one: a latency
    measurement over repeated questions must pay for the embedding every time."""
    cache = getattr(retriever, "_qcache", None)
    if hasattr(cache, "clear"):
        cache.clear()


def retrieval_latencies(retriever: Any, questions: Sequence[tuple[str, str]], *, k: int,
                        rounds: int = RETRIEVAL_ROUNDS) -> list[float]:
    """``retriever.retrieve`` times (ms) over (question, language) pairs, after one warm-up pass."""
    times = []
    for r in range(rounds + 1):
        for q, lang in questions:
            forget_queries(retriever)
            ms = retriever.retrieve(q, k=k, language=lang)[1]
            if r:  # round 0 warms up (lazy structures, caches of the libraries)
                times.append(ms)
    return times


def bench_seed_index(assistant: Any, workdir: Path, *, builds: int = SEED_BUILDS) -> tuple[dict[str, Any], Any]:
    """Whole fresh builds of ``docs_dir`` (median chunks/s) and the built index, loaded."""
    from .indexer import index_folder
    from .store import load_index

    s = assistant.settings
    rates, report = [], None
    for i in range(builds):
        report = index_folder(s.docs_dir, index_dir=workdir / f"seeds-{i}", embedder=assistant.embedder,
                              chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap,
                              max_bytes=int(s.max_file_mb * 1e6), rebuild=True, progress=False)
        rates.append(report.chunks_per_s)
    assert report is not None
    data = load_index(workdir / f"seeds-{builds - 1}", embedder_id=assistant.embedder.id)
    return {"index_chunks_per_s": _round(percentile(rates, 50)), "seed_chunks": report.n_chunks,
            "index_seconds_seeds": _round(report.seconds, 3)}, data


def documents_for_chunks(docs: Sequence[Any], n_chunks: int, *, chunk_size: int, chunk_overlap: int) -> list[Any]:
    """The shortest prefix of ``docs`` that the indexer's chunker cuts into at least ``n_chunks`` chunks."""
    from .chunk import chunk_spans

    out, total = [], 0
    for d in docs:
        if total >= n_chunks:
            break
        out.append(d)
        total += len(chunk_spans(d.text, chunk_size, chunk_overlap))
    return out


def known_vectors(data: Any) -> dict[str, np.ndarray]:
    """Text -> embedding for every chunk (and sentence, when the index stores them) of ``data``."""
    known = {c.text: v for c, v in zip(data.chunks, data.embeddings)}
    table = getattr(data, "sentences", None)
    if table is not None:
        for doc_id, start, end, v in zip(table.doc_ids, table.starts, table.ends, table.vectors):
            known.setdefault(data.documents[str(doc_id)].text[int(start):int(end)], v.astype(np.float32))
    return known


def bench_synthetic(assistant: Any, seed_data: Any, questions: Sequence[tuple[str, str]], workdir: Path, *,
                    n_chunks: int, measured_chunks: int = MEASURED_CHUNKS, full_embed: bool = False,
                    progress: bool = True) -> dict[str, Any]:
    """Build throughput on a synthetic corpus's first chunks, then retrieval latency over all of it.

    Both indexes are built by the indexer itself (chunk, embed, sentences, BM25,
    FAISS, save). The measured build uses the real embedder; the full one, unless
    ``full_embed``, a :class:`~rag.synthetic.ReuseEmbedder` serving the measured
    build's real vectors for the same texts and perturbed copies for new chunks.
    """
    from .indexer import sync_documents
    from .retrieve import Retriever
    from .store import load_index
    from .synthetic import ReuseEmbedder, seed_sentences, synthetic_corpus

    s = assistant.settings
    embedder = assistant.embedder
    sentences = seed_sentences(seed_data.documents.values(), max_chars=s.chunk_size)
    # The indexer re-cuts the documents (with overlap), giving ~5% more chunks than drawn.
    docs, _ = synthetic_corpus(sentences, n_chunks, chunk_chars=s.chunk_size)
    docs = documents_for_chunks(docs, n_chunks, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap)
    build = {"embedder": embedder, "chunk_size": s.chunk_size, "chunk_overlap": s.chunk_overlap, "rebuild": True}

    measured_docs = docs if full_embed else documents_for_chunks(
        docs, measured_chunks, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap)
    log.info("synthetic corpus: %d documents; real build of %d of them", len(docs), len(measured_docs))
    measured = sync_documents(measured_docs, index_dir=workdir / "synthetic-measured", progress=progress, **build)
    full_dir = workdir / "synthetic-measured"
    vectors_note = "all embedded with the real embedder"
    if len(measured_docs) < len(docs):
        reuse = ReuseEmbedder(embedder, known_vectors(load_index(full_dir, verify=False)))
        full_dir = workdir / "synthetic-full"
        t0 = time.perf_counter()
        sync_documents(docs, index_dir=full_dir, progress=False, **{**build, "embedder": reuse})
        log.info("synthetic index of %d documents built in %.1f s", len(docs), time.perf_counter() - t0)
        vectors_note = (f"{measured.embedded_chunks} chunks embedded; for the rest, texts seen there reuse their "
                        f"real vectors ({reuse.reused}), others are perturbed copies ({reuse.filled}, "
                        f"noise 0.02/dim, normalised)")
    data = load_index(full_dir, verify=False)
    latencies = retrieval_latencies(Retriever(data, embedder), questions, k=s.k)
    return {
        "synthetic_chunks": len(data.chunks),
        "synthetic_embedded_chunks": measured.embedded_chunks,
        "synthetic_vectors": vectors_note,
        "index_chunks_per_s_100k": _round(measured.chunks_per_s),
        "retrieval_ms_p50_100k": _round(percentile(latencies, 50), 2),
        "retrieval_ms_p95_100k": _round(percentile(latencies, 95), 2),
    }


# --------------------------------------------------------------------------- machine and memory


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB; ``ru_maxrss`` is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return psutil.Process().memory_info().rss / (1024 * 1024)


def machine_info() -> dict[str, Any]:
    """CPU count and model, platform, memory and load: context for noisy timings."""
    cpu_model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu_model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    info: dict[str, Any] = {"cpu_count": os.cpu_count(), "cpu_model": cpu_model or platform.processor(),
                            "platform": platform.platform(), "python": platform.python_version()}
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 1e9, 1)
    except ImportError:
        pass
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


# --------------------------------------------------------------------------- targets and table


def check_targets(r: dict[str, Any]) -> dict[str, bool | None]:
    """One boolean per target of the issue; None when this run cannot tell.

    >>> check_targets({"ttft_ms_p50": 300, "ttft_ms_p50_baseline": 1000, "answer_accuracy": 0.8,
    ...     "answer_accuracy_baseline": 0.7, "synthetic_chunks": 20000})["ttft_p50_ratio"]
    True
    """
    def at_most(value: float | None, limit: float) -> bool | None:
        return None if value is None else value <= limit

    def not_below(a: float | None, b: float | None) -> bool | None:
        return None if a is None or b is None else a >= b

    full = (r.get("synthetic_chunks") or 0) >= FULL_SIZE
    return {
        "ttft_p50_ratio": at_most(ratio(r.get("ttft_ms_p50"), r.get("ttft_ms_p50_baseline")), TARGET_TTFT_RATIO),
        "answer_accuracy": not_below(r.get("answer_accuracy"), r.get("answer_accuracy_baseline")),
        "citation_precision": not_below(r.get("citation_precision"), r.get("citation_precision_baseline")),
        "overhead_fraction": at_most(r.get("overhead_fraction"), TARGET_OVERHEAD),
        "retrieval_ms_p50_100k": at_most(r.get("retrieval_ms_p50_100k"), TARGET_RETRIEVAL_MS) if full else None,
        "index_chunks_per_s": None if r.get("index_chunks_per_s") is None
        else r["index_chunks_per_s"] >= TARGET_INDEX_CHUNKS_PER_S,
        "peak_rss_mb": at_most(r.get("peak_rss_mb"), TARGET_PEAK_RSS_MB),
        # The approximate index that `auto` picks at this size must find 95% of the exact top-10.
        "ann_recall": None if (r.get("ann_vectors") or 0) < ANN_VECTORS
        else (r.get(f"ann_recall_{r.get('ann_auto_kind')}") or 0.0) >= TARGET_ANN_RECALL,
    }


def _fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def format_table(r: dict[str, Any]) -> str:
    """The benchmark as a plain-text table: metric | pipeline | baseline | ratio/target | pass?"""
    t = r.get("targets") or check_targets(r)
    n = r.get("synthetic_chunks")
    size = f"{n // 1000}k" if n and n % 1000 == 0 else str(n)

    def verdict(key: str) -> str:
        v = t.get(key)
        return "n/a" if v is None else ("PASS" if v else "FAIL")

    ttft_ratio = ratio(r.get("ttft_ms_p50"), r.get("ttft_ms_p50_baseline"))
    rows: list[tuple[str, str, str, str, str]] = [
        ("index build, seeds (chunks/s)", _fmt(r.get("index_chunks_per_s")), "", f">= {TARGET_INDEX_CHUNKS_PER_S:g}",
         verdict("index_chunks_per_s")),
        (f"index build, {r.get('synthetic_embedded_chunks')} synthetic chunks (chunks/s)",
         _fmt(r.get("index_chunks_per_s_100k")), "", "", ""),
        ("retrieval p50 / p95, seeds (ms)",
         f"{_fmt(r.get('retrieval_ms_p50_seeds'), 2)} / {_fmt(r.get('retrieval_ms_p95_seeds'), 2)}", "", "", ""),
        (f"retrieval p50 / p95, {size} chunks (ms)",
         f"{_fmt(r.get('retrieval_ms_p50_100k'), 2)} / {_fmt(r.get('retrieval_ms_p95_100k'), 2)}", "",
         f"p50 <= {TARGET_RETRIEVAL_MS:g} at 100k", verdict("retrieval_ms_p50_100k")),
        ("TTFT p50 (ms)", _fmt(r.get("ttft_ms_p50")), _fmt(r.get("ttft_ms_p50_baseline")),
         f"{_fmt(ttft_ratio, 2)} (<= {TARGET_TTFT_RATIO})", verdict("ttft_p50_ratio")),
        ("TTFT p95 (ms)", _fmt(r.get("ttft_ms_p95")), _fmt(r.get("ttft_ms_p95_baseline")),
         _fmt(ratio(r.get("ttft_ms_p95"), r.get("ttft_ms_p95_baseline")), 2), ""),
        ("TTFT p50, LLM-answered only (ms)", _fmt(r.get("ttft_ms_p50_llm")), _fmt(r.get("ttft_ms_p50_llm_baseline")),
         _fmt(ratio(r.get("ttft_ms_p50_llm"), r.get("ttft_ms_p50_llm_baseline")), 2), ""),
        ("total answer p50 (ms)", _fmt(r.get("total_ms_p50")), _fmt(r.get("total_ms_p50_baseline")),
         _fmt(ratio(r.get("total_ms_p50"), r.get("total_ms_p50_baseline")), 2), ""),
        ("total answer p95 (ms)", _fmt(r.get("total_ms_p95")), _fmt(r.get("total_ms_p95_baseline")),
         _fmt(ratio(r.get("total_ms_p95"), r.get("total_ms_p95_baseline")), 2), ""),
        ("prompt tokens (mean)", _fmt(r.get("prompt_tokens_mean")), _fmt(r.get("prompt_tokens_mean_baseline")),
         f"uncached {_fmt(r.get('prompt_tokens_uncached_mean'))}", ""),
        ("generation (tokens/s)", _fmt(r.get("gen_tokens_per_s"), 2), _fmt(r.get("gen_tokens_per_s_baseline"), 2),
         f"raw {_fmt(r.get('gen_tokens_per_s_raw'), 2)}", ""),
        ("raw llama.cpp, same prompt p50 (ms)", _fmt(r.get("raw_llm_ms_p50")), "", "", ""),
        ("overhead vs raw replay of final prompt", _fmt(r.get("overhead_fraction"), 3), "", f"<= {TARGET_OVERHEAD}",
         verdict("overhead_fraction")),
        ("time outside llama.cpp calls", _fmt(r.get("overhead_fraction_outside_llm"), 3), "", "", ""),
        ("answer accuracy", _fmt(r.get("answer_accuracy"), 3), _fmt(r.get("answer_accuracy_baseline"), 3),
         ">= baseline", verdict("answer_accuracy")),
        ("citation precision", _fmt(r.get("citation_precision"), 3), _fmt(r.get("citation_precision_baseline"), 3),
         ">= baseline", verdict("citation_precision")),
        ("abstention accuracy", _fmt(r.get("abstention_accuracy"), 3), _fmt(r.get("abstention_accuracy_baseline"), 3),
         "", ""),
        ("RSS after loading (MB)", _fmt(r.get("rss_mb_after_load"), 0), "", "", ""),
        ("peak RSS, answering (MB)", _fmt(r.get("peak_rss_mb"), 0), "", f"<= {TARGET_PEAK_RSS_MB:g}",
         verdict("peak_rss_mb")),
        ("peak RSS, with synthetic index (MB)", _fmt(r.get("peak_rss_mb_total"), 0), "", "", ""),
    ]
    header = ("metric", "pipeline", "baseline", "ratio/target", "pass?")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{r.get('n_questions')} questions; model {r.get('model')}; embedder {r.get('embedder')}; "
                 f"{r.get('machine', {}).get('cpu_count')} CPUs ({r.get('machine', {}).get('cpu_model')})")
    lines.append(f"synthetic vectors: {r.get('synthetic_vectors')}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run


NOTES = [
    "TTFT: time until the user sees text (first streamed token, or the whole answer when the pipeline "
    "abstains before calling the LLM); ttft_ms_p50_llm counts only questions that reached the LLM.",
    "Baseline: dense top-5 whole chunks, rag.prompt.baseline_messages, KV cache cleared before each "
    "question, same max_tokens/temperature/stop as the pipeline, output parsed without verification "
    "([n] cites whole chunk n); run in its own pass after the pipeline so it never evicts the pipeline's prefix.",
    "Raw llama.cpp: the pipeline's final messages replayed through stream_chat right after the pipeline "
    "answer, with the KV cache truncated to the prefix the pipeline itself reused.",
    "overhead_fraction = (sum pipeline total - sum raw llama.cpp total) / sum pipeline total over all "
    "questions (raw = 0 when the pipeline abstained before the LLM); overhead_fraction_p50 is the median "
    "per-question fraction over LLM-answered questions; both are differences of two timings of the same "
    "llama.cpp work, so a value near or below 0 means the pipeline's own work is within run-to-run noise.",
    "index_chunks_per_s: median of whole fresh builds of docs_dir (load, chunk, embed, store) with a warm "
    "embedder; index_chunks_per_s_100k: whole build (rag.indexer.sync_documents) of the first synthetic "
    "documents with the real embedder.",
    "Retrieval latency: Retriever.retrieve (question embedding, dense, BM25, fusion, merging) with its "
    "question-vector cache emptied before each call; one warm-up round, then 3 rounds over the questions.",
    "Synthetic corpus: seed sentences recombined (seeded RNG) into chunks of <= chunk_size characters; "
    "BM25 postings are denser than in a real corpus (small vocabulary), so lexical latency is pessimistic.",
    "Vector index benchmark: synthetic vectors mixing 3 real seed-index embeddings (Dirichlet weights) "
    "plus noise; queries are 200 held-out vectors made the same way and the dev questions' real embeddings; "
    "recall@10 against exact inner-product search; size is the serialised index; searches one at a time on "
    "one thread, builds on all cores.",
    "peak_rss_mb: peak of the process up to the end of the questions (models, seed index, answering); "
    "peak_rss_mb_total also covers building and searching the synthetic index.",
]


def run_bench(settings: Settings, *, dataset: str = "eval/dev.jsonl", json_path: str | None = None,
              synthetic_chunks: int = FULL_SIZE, limit: int = 0, assistant: Any = None,
              measured_chunks: int = MEASURED_CHUNKS, full_embed: bool = False, progress: bool = True,
              out: TextIO | None = None, ann_vectors: int = ANN_VECTORS, ann_only: bool = False) -> dict[str, Any]:
    """Run the whole benchmark, print its table to ``out`` (stdout) and return (and
    optionally write to ``json_path``) the results as a flat JSON-able dict.

    ``ann_vectors`` > 0 adds the vector index benchmark at that size; ``ann_only``
    runs only that part (no LLM is loaded)."""
    if limit < 0:
        raise ConfigError(f"limit must be >= 0, got {limit}")
    if synthetic_chunks < 1:
        raise ConfigError(f"synthetic_chunks must be >= 1, got {synthetic_chunks}")
    if ann_vectors < 0 or (ann_only and ann_vectors < 1):
        raise ConfigError(f"ann_vectors must be >= 1 with ann_only, >= 0 otherwise (got {ann_vectors})")
    started = time.perf_counter()
    items = load_dataset(dataset)
    if limit:
        items = items[:limit]
    if assistant is None:
        from .assistant import Assistant

        assistant = Assistant(settings)
    settings = assistant.settings
    result: dict[str, Any] = {"machine": machine_info(), "settings": public_settings(settings),
                              "dataset": str(dataset)}
    if ann_only:
        result.update(_bench_ann(assistant, items, ann_vectors))
        return _finish(result, started, json_path, out, format_ann_table(result))

    log.info("loading models and the index")
    assistant.embedder.encode_queries(["warm-up"])
    llm = assistant.llm
    _llama(llm)  # loads the weights now, not inside the first measurement
    _ = assistant.data
    result["model"] = getattr(llm, "name", type(llm).__name__)
    result["embedder"] = assistant.embedder.id
    result["rss_mb_after_load"] = _round(current_rss_mb())

    questions = [(item.question, assistant.language_of(item.question)) for item in items]
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        log.info("index build throughput on %s", settings.docs_dir)
        seed_result, seed_data = bench_seed_index(assistant, Path(tmp))
        result.update(seed_result)
    from .retrieve import Retriever

    latencies = retrieval_latencies(Retriever(seed_data, assistant.embedder), questions, k=settings.k)
    result["retrieval_ms_p50_seeds"] = _round(percentile(latencies, 50), 2)
    result["retrieval_ms_p95_seeds"] = _round(percentile(latencies, 95), 2)

    log.info("answering %d questions (pipeline, raw replay, baseline)", len(items))
    result.update(bench_answers(assistant, items, progress=progress))
    # The issue counts peak RSS over the questions: models, index and answering, not the synthetic index.
    result["peak_rss_mb"] = _round(peak_rss_mb())

    log.info("synthetic corpus of %d chunks", synthetic_chunks)
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        result.update(bench_synthetic(assistant, seed_data, questions, Path(tmp), n_chunks=synthetic_chunks,
                                      measured_chunks=measured_chunks, full_embed=full_embed, progress=progress))
    result["peak_rss_mb_total"] = _round(peak_rss_mb())
    table = format_table(result)
    if ann_vectors:
        result.update(_bench_ann(assistant, items, ann_vectors))
        table += "\n\n" + format_ann_table(result)
    return _finish(result, started, json_path, out, table)


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings as written into result files: secrets left out.

    >>> "llm_api_key" in public_settings(Settings(llm_api_key="s3cret"))
    False
    """
    return {k: v for k, v in asdict(settings).items() if k != "llm_api_key"}


def _bench_ann(assistant: Any, items: Sequence[EvalItem], n_vectors: int) -> dict[str, Any]:
    """The vector index benchmark over vectors shaped like the seed index's (see rag.bench_ann)."""
    data = assistant.data
    base = [data.embeddings]
    if data.sentences is not None:
        base.append(data.sentences.vectors.astype(np.float32))
    real_queries = assistant.embedder.encode_queries([item.question for item in items])
    log.info("vector index benchmark at %d vectors", n_vectors)
    return bench_index_types(np.vstack(base), n_vectors, real_queries=real_queries,
                             threads=assistant.settings.threads)


def _finish(result: dict[str, Any], started: float, json_path: str | None, out: TextIO | None,
            table: str) -> dict[str, Any]:
    result["elapsed_s"] = _round(time.perf_counter() - started)
    result["targets"] = check_targets(result)
    result["notes"] = NOTES
    print(table, file=out or sys.stdout)
    if json_path:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        log.info("wrote %s", path)
    return result
