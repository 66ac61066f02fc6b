"""``rag bench``, the index side: build throughput, retrieval latency at seed size
and on a synthetic corpus, and the machine's memory and load (see :mod:`rag.eval.bench`)."""

from __future__ import annotations

import logging
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.eval.metrics import percentile, rounded

log = logging.getLogger(__name__)

# Chunks of the synthetic corpus really embedded to measure build throughput;
# the rest of the synthetic index reuses or perturbs their vectors (rag.eval.synthetic.ReuseEmbedder).
MEASURED_CHUNKS = 1000
RETRIEVAL_ROUNDS = 3
SEED_BUILDS = 3


# --------------------------------------------------------------------------- index and retrieval


def forget_queries(retriever: Any) -> None:
    """Empty the retriever's question-vector cache, if it has one: a latency
    measurement over repeated questions must pay for the embedding every time."""
    forget = getattr(retriever, "forget_queries", None)
    if forget is not None:
        forget()


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
    from rag.index.store import load_index
    from rag.index.sync import index_folder

    s = assistant.settings
    rates, report = [], None
    for i in range(builds):
        report = index_folder(s.docs_dir, index_dir=workdir / f"seeds-{i}", embedder=assistant.embedder,
                              chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap,
                              max_bytes=int(s.max_file_mb * 1e6), rebuild=True, progress=False)
        rates.append(report.chunks_per_s)
    assert report is not None
    data = load_index(workdir / f"seeds-{builds - 1}", embedder_id=assistant.embedder.id)
    return {"index_chunks_per_s": rounded(percentile(rates, 50)), "seed_chunks": report.n_chunks,
            "index_seconds_seeds": rounded(report.seconds, 3)}, data


def documents_for_chunks(docs: Sequence[Any], n_chunks: int, *, chunk_size: int, chunk_overlap: int) -> list[Any]:
    """The shortest prefix of ``docs`` that the indexer's chunker cuts into at least ``n_chunks`` chunks."""
    from rag.index.chunk import chunk_spans

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
    ``full_embed``, a :class:`~rag.eval.synthetic.ReuseEmbedder` serving the measured
    build's real vectors for the same texts and perturbed copies for new chunks.
    """
    from rag.answer.retrieve import Retriever
    from rag.eval.synthetic import ReuseEmbedder, seed_sentences, synthetic_corpus
    from rag.index.store import load_index
    from rag.index.sync import sync_documents

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
    latencies = retrieval_latencies(Retriever(data, embedder, word_match=s.retrieval_word_match), questions, k=s.k)
    return {
        "synthetic_chunks": len(data.chunks),
        "synthetic_embedded_chunks": measured.embedded_chunks,
        "synthetic_vectors": vectors_note,
        "index_chunks_per_s_100k": rounded(measured.chunks_per_s),
        "retrieval_ms_p50_100k": rounded(percentile(latencies, 50), 2),
        "retrieval_ms_p95_100k": rounded(percentile(latencies, 95), 2),
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
