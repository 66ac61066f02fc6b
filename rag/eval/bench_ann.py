"""Vector index benchmark: recall against exact search, build time, size and
query latency of each index type on a large synthetic set of vectors.

Embedding a million real chunks would take hours here, so the vectors are
synthetic but shaped like real ones: each is a random mix of a few real
embeddings (chunks and sentences of the seed index) plus Gaussian noise, so
they live where the embedder puts text, not uniformly on the sphere (on which
every approximate index looks worse than on real data). Queries are held-out
vectors made the same way plus the real embeddings of the dev questions.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.eval.metrics import percentile
from rag.index import vectors

log = logging.getLogger(__name__)

ANN_KINDS = ("fp16", "ivfpq", "hnsw")


def mixed_vectors(base: np.ndarray, n: int, *, mix: int = 3, noise: float = 0.02, seed: int = 0,
                  block: int = 65_536) -> np.ndarray:
    """``n`` unit vectors, each a Dirichlet-weighted mix of ``mix`` rows of ``base`` plus noise.

    >>> v = mixed_vectors(np.eye(4, dtype=np.float32), 10)
    >>> v.shape, v.dtype.name, bool(np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5))
    ((10, 4), 'float32', True)
    """
    base = np.asarray(base, dtype=np.float32)
    if base.ndim != 2 or len(base) == 0:
        raise ValueError("need a non-empty 2-D array of real vectors")
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        rows = rng.integers(0, len(base), size=(hi - lo, mix))
        weights = rng.dirichlet(np.ones(mix), size=hi - lo).astype(np.float32)
        v = np.einsum("nk,nkd->nd", weights, base[rows])
        v += rng.normal(0.0, noise, v.shape).astype(np.float32)
        out[lo:hi] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return out


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each query's exact top-k found by the approximate search.

    >>> recall_at_k(np.array([[1, 2], [3, 9]]), np.array([[2, 1], [3, 4]]))
    0.75
    """
    if len(exact) == 0:
        return 0.0
    k = exact.shape[1]
    return float(np.mean([len(set(f.tolist()) & set(e.tolist())) / k for f, e in zip(found, exact)]))


def _search_all(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    """One query at a time, as the assistant searches: ids and per-query milliseconds."""
    ids = np.empty((len(queries), k), dtype=np.int64)
    times: list[float] = []
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        _, found = index.search(q.reshape(1, -1), k)
        times.append((time.perf_counter() - t0) * 1000)
        ids[i] = found[0]
    return ids, times


def bench_index_types(base: np.ndarray, n_vectors: int, *, kinds: Sequence[str] = ANN_KINDS,
                      real_queries: np.ndarray | None = None, n_queries: int = 200, k: int = 10,
                      threads: int = 0, seed: int = 0) -> dict[str, Any]:
    """Build each index type over ``n_vectors`` synthetic vectors and compare it with exact search."""
    import faiss

    t0 = time.perf_counter()
    data = mixed_vectors(base, n_vectors, seed=seed)
    queries = mixed_vectors(base, n_queries, seed=seed + 1)
    if real_queries is not None and len(real_queries):
        queries = np.vstack([queries, np.asarray(real_queries, dtype=np.float32)])
    log.info("%d synthetic vectors in %.1f s", n_vectors, time.perf_counter() - t0)
    exact_index = faiss.IndexFlatIP(data.shape[1])
    exact_index.add(data)
    faiss.omp_set_num_threads(threads or os.cpu_count() or 1)
    _, exact = exact_index.search(queries, k)  # batched ground truth
    faiss.omp_set_num_threads(1)
    _, exact_ms = _search_all(exact_index, queries, k)
    del exact_index
    rows: list[dict[str, Any]] = [{
        "kind": "flat (exact)", "build_s": 0.0, "size_mb": round(data.nbytes / 1e6, 1),
        "search_ms_p50": round(percentile(exact_ms, 50) or 0.0, 2),
        "search_ms_p95": round(percentile(exact_ms, 95) or 0.0, 2), "recall_at_10": 1.0,
    }]
    for kind in kinds:
        log.info("building %s over %d vectors", kind, n_vectors)
        t1 = time.perf_counter()
        index = vectors.build(data, kind=kind, threads=threads)
        build_s = time.perf_counter() - t1
        found, ms = _search_all(index, queries, k)
        rows.append({
            "kind": vectors.describe(index), "build_s": round(build_s, 1),
            "size_mb": round(len(vectors.serialize(index)) / 1e6, 1),
            "search_ms_p50": round(percentile(ms, 50) or 0.0, 2),
            "search_ms_p95": round(percentile(ms, 95) or 0.0, 2),
            "recall_at_10": round(recall_at_k(found, exact), 4),
        })
        del index
    out: dict[str, Any] = {
        "ann_vectors": n_vectors, "ann_queries": len(queries), "ann_dim": int(data.shape[1]),
        "ann_base_vectors": len(base), "ann_auto_kind": vectors.choose_kind(n_vectors), "ann_table": rows,
    }
    for row in rows[1:]:
        out[f"ann_recall_{row['kind']}"] = row["recall_at_10"]
    return out


def format_ann_table(r: dict[str, Any]) -> str:
    """The index benchmark as a Markdown table."""
    lines = [
        f"Vector index at {r['ann_vectors']:,} synthetic vectors x {r['ann_dim']} dims "
        f"({r['ann_queries']} queries, top-10; auto picks {r['ann_auto_kind']}):",
        "",
        "| index | build (s) | size (MB) | search p50 / p95 (ms) | recall@10 vs exact |",
        "|---|---|---|---|---|",
    ]
    for row in r["ann_table"]:
        lines.append(f"| {row['kind']} | {row['build_s']} | {row['size_mb']} | "
                     f"{row['search_ms_p50']} / {row['search_ms_p95']} | {row['recall_at_10']:.3f} |")
    return "\n".join(lines)
