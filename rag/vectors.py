"""FAISS vector search over L2-normalised embeddings (inner product = cosine).

The index type follows the corpus size: exact (flat) search below
``HNSW_THRESHOLD`` vectors, HNSW above, where exact search would get slow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import missing_dependency

HNSW_THRESHOLD = 200_000


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover
        raise missing_dependency("faiss-cpu", "Vector search") from exc
    return faiss


def build(embeddings: np.ndarray, *, kind: str = "auto") -> Any:
    """A FAISS index over ``embeddings`` (rows L2-normalised, float32)."""
    faiss = _faiss()
    n, dim = embeddings.shape if embeddings.ndim == 2 else (0, 0)
    if kind == "auto":
        kind = "hnsw" if n >= HNSW_THRESHOLD else "flat"
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        raise ValueError(f"unknown index kind {kind!r}: use auto, flat or hnsw")
    if n:
        index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
    return index


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
