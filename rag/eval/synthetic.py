"""Synthetic corpora for benchmarks: seed sentences recombined into many chunks.

The benchmark needs an index of ~100k chunks on a machine that holds a handful
of articles. Recombining the seed sentences keeps the text realistic for the
lexical index (same vocabulary, same sentence lengths, same language) while
making every chunk different. Everything here is pure and deterministic for a
given ``seed``.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from rag.index.chunk import unit_spans
from rag.records import Chunk, Document

__all__ = ["ReuseEmbedder", "fill_vectors", "perturbed", "seed_sentences", "synthetic_corpus"]


def seed_sentences(documents: Iterable[Document], *, max_chars: int = 500) -> dict[str, list[str]]:
    """Distinct sentences of ``documents`` per language, none longer than ``max_chars``.

    Sentences longer than ``max_chars`` are cut at word boundaries (the chunker's rule).

    >>> doc = Document(doc_id="a", title="", text="Il pleut. Il pleut. Le vent souffle.", source="", sha256="")
    >>> seed_sentences([doc])
    {'fr': ['Il pleut.', 'Le vent souffle.']}
    """
    out: dict[str, dict[str, None]] = {}
    for doc in documents:
        pool = out.setdefault(doc.language, {})
        for s, e in unit_spans(doc.text, max_chars):
            sentence = " ".join(doc.text[s:e].split())
            if sentence:
                pool[sentence] = None
    return {lang: list(pool) for lang, pool in out.items() if pool}


def synthetic_corpus(sentences: Mapping[str, Sequence[str]], n_chunks: int, *, chunk_chars: int = 500,
                     chunks_per_doc: int = 8, seed: int = 0) -> tuple[list[Document], list[Chunk]]:
    """``n_chunks`` chunks of at most ``chunk_chars`` characters made of random seed sentences.

    Chunks are grouped ``chunks_per_doc`` to a document (joined by a newline) so
    that ``document.text[chunk.start:chunk.end] == chunk.text`` holds, as in a
    real index. Each document takes the sentences of one language, chosen in
    proportion to the number of sentences per language.

    >>> docs, chunks = synthetic_corpus({"fr": ["Il pleut.", "Le vent souffle."]}, 3, chunk_chars=30,
    ...                                 chunks_per_doc=2)
    >>> len(docs), len(chunks), all(len(c.text) <= 30 for c in chunks)
    (2, 3, True)
    >>> by_id = {d.doc_id: d for d in docs}
    >>> all(by_id[c.doc_id].text[c.start:c.end] == c.text for c in chunks)
    True
    """
    if n_chunks < 0:
        raise ValueError(f"n_chunks must be >= 0, got {n_chunks}")
    if chunks_per_doc < 1:
        raise ValueError(f"chunks_per_doc must be >= 1, got {chunks_per_doc}")
    pools = {lang: [s for s in pool if 0 < len(s) <= chunk_chars] for lang, pool in sentences.items()}
    pools = {lang: pool for lang, pool in pools.items() if pool}
    if n_chunks and not pools:
        raise ValueError(f"no seed sentence of at most {chunk_chars} characters to recombine")
    languages = sorted(pools)
    weights = [len(pools[lang]) for lang in languages]
    rng = random.Random(seed)
    docs: list[Document] = []
    chunks: list[Chunk] = []
    for d in range(-(-n_chunks // chunks_per_doc)):
        lang = rng.choices(languages, weights)[0]
        pool = pools[lang]
        doc_id = f"synthetic-{d:06d}"
        texts = [_one_chunk(rng, pool, chunk_chars)
                 for _ in range(min(chunks_per_doc, n_chunks - d * chunks_per_doc))]
        text = "\n".join(texts)
        start = 0
        for t in texts:
            chunks.append(Chunk(chunk_id=f"{doc_id}:{start}-{start + len(t)}", doc_id=doc_id, start=start,
                                end=start + len(t), text=t, language=lang))
            start += len(t) + 1
        docs.append(Document(doc_id=doc_id, title=f"Synthetic article {d}", text=text, source="synthetic",
                             sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), language=lang))
    return docs, chunks


def _one_chunk(rng: random.Random, pool: Sequence[str], chunk_chars: int) -> str:
    # Draw sentences until the next one would not fit; at least one always fits.
    parts = [rng.choice(pool)]
    size = len(parts[0])
    while True:
        nxt = rng.choice(pool)
        if size + 1 + len(nxt) > chunk_chars:
            return " ".join(parts)
        parts.append(nxt)
        size += 1 + len(nxt)


def perturbed(rows: np.ndarray, *, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``rows`` plus Gaussian noise of standard deviation ``noise`` per dimension, L2-normalised.

    >>> v = perturbed(np.eye(3, dtype=np.float32), noise=0.02, rng=np.random.default_rng(1))
    >>> bool(np.allclose(np.linalg.norm(v, axis=1), 1)), bool((np.diag(v) > 0.99).all())
    (True, True)
    """
    out = np.asarray(rows, dtype=np.float32) + rng.normal(0.0, noise, rows.shape).astype(np.float32)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def fill_vectors(real: np.ndarray, n: int, *, noise: float = 0.02, seed: int = 0,
                 block: int = 8192) -> np.ndarray:
    """``n`` unit vectors: the rows of ``real`` first, then perturbed copies of them.

    Row ``i >= len(real)`` is ``real[i % len(real)]`` perturbed (:func:`perturbed`).
    Stands in for embeddings we do not take the time to compute: for exact (flat)
    search the latency depends on the number and dimension of vectors, not their values.

    >>> v = fill_vectors(np.eye(2, dtype=np.float32), 5)
    >>> v.shape, bool(np.allclose(np.linalg.norm(v, axis=1), 1)), bool((v[:2] == np.eye(2)).all())
    ((5, 2), True, True)
    """
    real = np.asarray(real, dtype=np.float32)
    if real.ndim != 2 or (real.shape[0] == 0 and n > 0):
        raise ValueError("need a non-empty 2-D array of real vectors")
    m, dim = real.shape
    out = np.empty((n, dim), dtype=np.float32)
    head = min(m, n)
    out[:head] = real[:head]
    rng = np.random.default_rng(seed)
    for lo in range(head, n, block):
        hi = min(n, lo + block)
        out[lo:hi] = perturbed(real[np.arange(lo, hi) % m], noise=noise, rng=rng)
    return out


class ReuseEmbedder:
    """An :class:`~rag.index.embed.Embedder` for building a large synthetic index quickly.

    Passages whose text is in ``known`` get that vector (e.g. the real embedding
    of the same sentence); other passages get a perturbed copy of a known vector
    picked by a hash of the text. Queries go to the real ``base`` embedder, so
    retrieval pays the real cost of embedding the question. ``reused`` and
    ``filled`` count the passages served each way.

    >>> e = ReuseEmbedder(None, {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}, dim=2)
    >>> v = e.encode_passages(["a", "zzz"])
    >>> v[0].tolist(), round(float(np.linalg.norm(v[1])), 4), (e.reused, e.filled)
    ([1.0, 0.0], 1.0, (1, 1))
    """

    def __init__(self, base: Any, known: Mapping[str, np.ndarray], *, noise: float = 0.02, seed: int = 0,
                 dim: int | None = None) -> None:
        if not known:
            raise ValueError("ReuseEmbedder needs at least one known vector")
        self.base = base
        self.id = getattr(base, "id", "reuse")
        self._texts = {t: i for i, t in enumerate(known)}
        self._matrix = np.stack([np.asarray(v, dtype=np.float32) for v in known.values()])
        self.dim = int(dim or getattr(base, "dim", self._matrix.shape[1]))
        self.noise = noise
        self._rng = np.random.default_rng(seed)
        self.reused = 0
        self.filled = 0

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.base.encode_queries(texts)

    def encode_passages(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        rows = [self._texts.get(t) for t in texts]
        unknown = [i for i, r in enumerate(rows) if r is None]
        src = [r if r is not None else zlib.crc32(t.encode("utf-8")) % len(self._matrix) for t, r in zip(texts, rows)]
        out = self._matrix[np.asarray(src, dtype=np.int64)] if texts else np.zeros((0, self.dim), np.float32)
        if unknown:
            out[unknown] = perturbed(out[unknown], noise=self.noise, rng=self._rng)
        self.reused += len(texts) - len(unknown)
        self.filled += len(unknown)
        return out
