"""Cross-lingual word matching with the shipped multilingual embedder.

Where an English question meets French passages (or the reverse), a check that
looks for the question's words in the passage finds none of them, and a
hand-written English-French word list covers only the topics it was written for
(issue 14: "checked through what the models can do, not a word list"). The
multilingual sentence embedder already maps a word and its translation close
together: with the default USE multilingual, measured on single words,
"city"/"ville" 0.94, "employees"/"employés" 0.91, "bay"/"baie" 0.68,
"host"/"accueilli" 0.61, against "employees"/"dollars" 0.20, "lose"/"dépensera"
0.48, "CEO"/"fondateur" 0.46.

No library aligns words across languages offline here (no translation model or
bilingual dictionary ships on PyPI with its data; FreeDict's eng-fra covered 60%
of the tune questions' words), hence this small class: it embeds words once,
caches their vectors, and reports whether a word of one list has a close
counterpart in the other.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rag.index.embed import Embedder

# Set on the tune splits (outside-fr, outside, fresh) and eval/dev.jsonl, by re-verifying
# saved answers with `python -m rag.eval.reverify` (docs/measurements.md, session 11).
DEFAULT_THRESHOLD = 0.65


class WordAligner:
    """Whether two word lists share a meaning across languages, by word-vector cosine."""

    def __init__(self, embedder: Embedder, *, cache_size: int = 50_000) -> None:
        self.embedder = embedder
        self.cache_size = cache_size
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def vectors(self, words: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``words`` (lower-cased), embedded once each."""
        keys = [w.lower() for w in words]
        with self._lock:
            missing = sorted({k for k in keys if k not in self._vectors})
            if missing:
                if len(self._vectors) + len(missing) > self.cache_size:
                    self._vectors.clear()
                encoded = np.asarray(self.embedder.encode_passages(missing), dtype=np.float32)
                norms = np.linalg.norm(encoded, axis=1, keepdims=True)
                encoded = encoded / np.where(norms == 0, 1, norms)
                self._vectors.update(zip(missing, encoded))
            return np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 1), dtype=np.float32)

    def best(self, words: Sequence[str], others: Sequence[str]) -> np.ndarray:
        """For each of ``words``, its highest cosine with any of ``others`` (0 when ``others`` is empty)."""
        if not words:
            return np.zeros(0, dtype=np.float32)
        if not others:
            return np.zeros(len(words), dtype=np.float32)
        return (self.vectors(words) @ self.vectors(others).T).max(axis=1)

    def counterparts(self, words: Sequence[str], others: Sequence[str], *, threshold: float = DEFAULT_THRESHOLD) -> list[str]:
        """Those of ``others`` whose vector is at least ``threshold`` close to one of ``words``."""
        if not words:
            return []
        return [o for o, s in zip(others, self.best(others, words)) if s >= threshold]

    def any_match(self, words: Sequence[str], others: Sequence[str], *, threshold: float = DEFAULT_THRESHOLD) -> bool:
        """Whether some word of ``words`` has a counterpart in ``others`` at or above ``threshold``."""
        return bool(words) and bool(others) and float(self.best(words, others).max()) >= threshold


_ALIGNERS: weakref.WeakKeyDictionary[object, WordAligner] = weakref.WeakKeyDictionary()


def aligner_for(embedder: Embedder) -> WordAligner:
    """The one aligner (and word-vector cache) of ``embedder``, kept as long as the embedder is."""
    aligner = _ALIGNERS.get(embedder)
    if aligner is None:
        aligner = _ALIGNERS[embedder] = WordAligner(embedder)
    return aligner
