"""Hybrid retrieval: dense (FAISS) + lexical (BM25), fused, merged into passages.

Fusion is weighted reciprocal-rank fusion. The lexical channel's weight depends
on whether the question's language matches the chunk's: an English question
shares only names and numbers with a French article, so there BM25 evidence is
trusted less (weights set on the dev set, see ``FusionWeights``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import vectors
from .embed import Embedder
from .records import Chunk, Passage
from .store import IndexData

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FusionWeights:
    """RRF weights. ``rrf_k`` dampens rank differences (60 is the usual constant)."""

    dense: float = 1.0
    lexical_same_language: float = 1.0
    lexical_cross_language: float = 0.5
    rrf_k: float = 60.0


def rrf_fuse(rankings: Sequence[Sequence[int]], weights: Sequence[float] | Sequence[Sequence[float]],
             rrf_k: float = 60.0) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion of several ranked id lists.

    ``weights`` gives one weight per ranking, or per ranking a weight per position.

    >>> rrf_fuse([[1, 2, 3], [3, 1]], [1.0, 1.0], rrf_k=0)
    [(1, 1.5), (3, 1.3333333333333333), (2, 0.5)]
    """
    scores: dict[int, float] = {}
    for r, ranking in enumerate(rankings):
        w = weights[r]
        for pos, item in enumerate(ranking):
            wi = w[pos] if isinstance(w, Sequence) else w
            scores[item] = scores.get(item, 0.0) + wi / (rrf_k + pos + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def merge_spans(hits: Sequence[tuple[Chunk, float, float]], k: int, *, max_chars: int) -> list[tuple[str, int, int, float, float, list[str]]]:
    """Merge ranked chunks of the same document that overlap or touch into passages.

    ``hits`` are (chunk, fused score, dense score) best first. Returns up to ``k``
    passages as (doc_id, start, end, fused, dense, chunk_ids) in rank order. A
    merge that would exceed ``max_chars`` is not made.
    """
    passages: list[list[Any]] = []
    for chunk, fused, dense in hits:
        merged = False
        for p in passages:
            if p[0] == chunk.doc_id and chunk.start <= p[2] + 1 and chunk.end >= p[1] - 1:
                start, end = min(p[1], chunk.start), max(p[2], chunk.end)
                if end - start <= max_chars:
                    p[1], p[2] = start, end
                    p[4] = max(p[4], dense)
                    p[5].append(chunk.chunk_id)
                    merged = True
                    break
        if not merged:
            if len(passages) >= k:
                continue
            passages.append([chunk.doc_id, chunk.start, chunk.end, fused, dense, [chunk.chunk_id]])
    return [tuple(p) for p in passages]  # type: ignore[misc]


class Retriever:
    """Ranks passages of one loaded index for a question."""

    def __init__(self, data: IndexData, embedder: Embedder, *, weights: FusionWeights | None = None,
                 candidates: int = 40, use_lexical: bool = True, use_dense: bool = True) -> None:
        self.data = data
        self.embedder = embedder
        self.weights = weights or FusionWeights()
        self.candidates = candidates
        self.use_lexical = use_lexical
        self.use_dense = use_dense
        self.index = data.faiss_index if data.faiss_index is not None else vectors.build(data.embeddings)
        self._lexical: Any = None
        self.chunk_languages = [c.language for c in data.chunks]

    @property
    def lexical(self) -> Any:
        if self._lexical is None:
            from .lexical import LexicalIndex

            if self.data.lexical_state is not None:
                self._lexical = LexicalIndex.from_state(self.data.lexical_state)
            else:
                self._lexical = LexicalIndex.build([c.text for c in self.data.chunks], self.chunk_languages)
        return self._lexical

    def ranked_chunks(self, question: str, language: str) -> list[tuple[int, float, float]]:
        """(chunk row, fused score, dense score) best first."""
        n = self.candidates
        rankings: list[list[int]] = []
        weights: list[Any] = []
        dense_scores: dict[int, float] = {}
        if self.use_dense:
            qv = self.embedder.encode_queries([question])[0]
            dense = vectors.search(self.index, qv, n)
            dense_scores = {i: s for i, s in dense}
            rankings.append([i for i, _ in dense])
            weights.append(self.weights.dense)
        if self.use_lexical:
            lex = self.lexical.search(question, language, n)
            rankings.append([i for i, _ in lex])
            weights.append([
                self.weights.lexical_same_language if self.chunk_languages[i] == language
                else self.weights.lexical_cross_language
                for i, _ in lex
            ])
        fused = rrf_fuse(rankings, weights, self.weights.rrf_k)
        if self.use_dense:
            missing = [i for i, _ in fused if i not in dense_scores]
            if missing:
                qv = self.embedder.encode_queries([question])[0] if not dense_scores else qv
                rows = self.data.embeddings[missing]
                dense_scores.update(zip(missing, (rows @ qv).tolist()))
        return [(i, s, dense_scores.get(i, 0.0)) for i, s in fused]

    def retrieve(self, question: str, *, k: int, language: str) -> tuple[list[Passage], float]:
        """Top-``k`` passages and the time taken in ms."""
        t0 = time.perf_counter()
        ranked = self.ranked_chunks(question, language)
        hits = [(self.data.chunks[i], f, d) for i, f, d in ranked]
        max_chars = max(2 * self.data.chunk_size, 800)
        merged = merge_spans(hits, k, max_chars=max_chars)
        out = []
        for rank, (doc_id, start, end, _fused, dense, chunk_ids) in enumerate(merged, 1):
            doc = self.data.documents[doc_id]
            out.append(Passage(
                rank=rank, doc_id=doc_id, chunk_id=chunk_ids[0], start=start, end=end,
                score=round(float(dense), 4), text=doc.text[start:end], title=doc.title,
                date=doc.date, language=doc.language,
            ))
        return out, (time.perf_counter() - t0) * 1000


def cosine_top(question_vec: np.ndarray, matrix: np.ndarray, k: int) -> list[int]:
    """Rows of ``matrix`` most similar to ``question_vec`` (both normalised)."""
    if matrix.shape[0] == 0:
        return []
    scores = matrix @ question_vec
    return list(np.argsort(-scores)[:k])
