"""FAISS vector search over L2-normalised embeddings (inner product = cosine).

The index type follows the corpus size (``kind="auto"``) or is chosen by the
``index_type`` setting:

- ``flat``: exact float32 search, below ``FP16_THRESHOLD`` vectors;
- ``fp16``: the same exhaustive search over float16 vectors, up to
  ``ANN_THRESHOLD`` (half the memory traffic; measured at 100k chunks x 512
  dims on 2 cores: 4.7 ms per query against 8.6 ms, top-10 identical);
- ``ivfpq``: approximate, above ``ANN_THRESHOLD``: an inverted file of
  product-quantised codes whose candidates are re-scored on float16 vectors;
- ``hnsw``: approximate, a graph over the full vectors (faster queries,
  slower builds, more memory).

``rag bench`` measures recall against exact search, build time and size of
each at 1M vectors; the figures are in the README.

Searches are single queries, so FAISS runs on one thread: its OpenMP team
gains nothing on a batch of one and fights the embedder's BLAS threads
(measured 40 ms per query with 2 threads inside the pipeline, 9 ms with 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rag.errors import missing_dependency

FP16_THRESHOLD = 20_000
ANN_THRESHOLD = 500_000
# Vector index types this module builds; "auto" picks one by corpus size (Settings.index_type).
KINDS = ("auto", "flat", "fp16", "ivfpq", "hnsw")
IVF_NPROBE = 32
MIN_TRAIN_PER_LIST = 40  # FAISS wants at least 39 training vectors per list...
TRAIN_PER_LIST = 50  # ...and k-means is trained on this many per list when the corpus has them
REFINE_FACTOR = 32  # measured at 1M: candidates x8 -> recall@10 0.80, x16 -> 0.91, x32 -> 0.97
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256  # measured at 1M: 128 -> recall@10 0.947, 256 -> 0.967, 512 -> 0.979


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover
        raise missing_dependency("faiss-cpu", "Vector search") from exc
    faiss.omp_set_num_threads(1)
    return faiss


def choose_kind(n: int, kind: str = "auto") -> str:
    """The index type for ``n`` vectors.

    An IVF index needs enough vectors to train its lists: below ``MIN_TRAIN_PER_LIST`` per list of
    the smallest configuration it falls back to exact search.

    >>> choose_kind(1000), choose_kind(100_000), choose_kind(2_000_000), choose_kind(500, "ivfpq")
    ('flat', 'fp16', 'ivfpq', 'flat')
    """
    if kind not in KINDS:
        raise ValueError(f"unknown index type {kind!r}: use {', '.join(KINDS)}")
    if kind == "auto":
        kind = "ivfpq" if n >= ANN_THRESHOLD else "fp16" if n >= FP16_THRESHOLD else "flat"
    if kind == "ivfpq" and n < MIN_TRAIN_PER_LIST * ivf_lists(n):
        return "flat"
    return kind


def ivf_lists(n: int) -> int:
    """Number of inverted lists: a power of two near sqrt(n), between 64 and 65536.

    Training k-means costs n_train x lists x dim; sqrt(n) lists keep a 1M-vector
    build to about a minute on 2 cores, and ``IVF_NPROBE`` lists per query
    (3% of them at 1M) keep recall above 0.95.

    >>> ivf_lists(1_000_000), ivf_lists(100), ivf_lists(10**10)
    (1024, 64, 65536)
    """
    target = max(n, 1) ** 0.5
    return int(min(65536, max(64, 2 ** round(np.log2(target)))))


def _training_sample(embeddings: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    if len(embeddings) <= size:
        return embeddings
    rows = np.sort(np.random.default_rng(seed).choice(len(embeddings), size, replace=False))
    return np.ascontiguousarray(embeddings[rows], dtype=np.float32)


def build(embeddings: np.ndarray, *, kind: str = "auto", threads: int = 0) -> Any:
    """A FAISS index over ``embeddings`` (rows L2-normalised, float32).

    ``threads`` > 0 lets FAISS use that many threads while building (training
    and adding); searches stay on one thread.
    """
    faiss = _faiss()
    n, dim = embeddings.shape if embeddings.ndim == 2 else (0, 0)
    kind = choose_kind(n, kind)
    metric = faiss.METRIC_INNER_PRODUCT
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "fp16":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, metric)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, metric)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:  # ivfpq: 8 dimensions per 8-bit sub-quantiser, candidates re-scored on float16 vectors
        nlist = ivf_lists(n)
        index = faiss.index_factory(dim, f"IVF{nlist},PQ{max(1, dim // 8)},Refine(SQfp16)", metric)
        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = IVF_NPROBE
        faiss.downcast_index(index.base_index).do_polysemous_training = False
        index.k_factor = REFINE_FACTOR
    if threads > 0:
        faiss.omp_set_num_threads(threads)
    try:
        if n:
            if not index.is_trained:
                index.train(_training_sample(embeddings, TRAIN_PER_LIST * ivf_lists(n)))
            index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
    finally:
        faiss.omp_set_num_threads(1)
    return index


def describe(index: Any) -> str:
    """A short name of the index type, as chosen by :func:`build`."""
    faiss = _faiss()
    if isinstance(index, faiss.IndexRefine):
        return "ivfpq"
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexScalarQuantizer):
        return "fp16"
    return "flat"


def search(index: Any, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Top-``k`` rows for one query vector, best first."""
    if index.ntotal == 0:
        return []
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, index.ntotal))
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def serialize(index: Any) -> bytes:
    return _faiss().serialize_index(index).tobytes()


def deserialize(data: bytes) -> Any:
    return _faiss().deserialize_index(np.frombuffer(data, dtype=np.uint8))
