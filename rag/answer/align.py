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

import difflib
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
# Words spelt alike (:func:`cognate`) count as translations from this cosine on, for a located
# short answer across languages. Re-verified on the tune splits (docs/measurements.md, session
# 24): +1 right answer, no other grade changed, and none more at 0.55 / 0.35.
COGNATE_RATIO = 0.65
COGNATE_FLOOR = 0.5


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

    def any_match(self, words: Sequence[str], others: Sequence[str], *, threshold: float = DEFAULT_THRESHOLD,
                  cognate_floor: float | None = None) -> bool:
        """Whether some word of ``words`` has a counterpart in ``others`` at or above ``threshold``;
        with ``cognate_floor``, also a spelling :func:`cognate` of it at or above that cosine."""
        if not words or not others:
            return False
        sims = self.vectors(words) @ self.vectors(others).T
        if float(sims.max()) >= threshold:
            return True
        return cognate_floor is not None and any(
            sims[i, j] >= cognate_floor and cognate(w, o)
            for i, w in enumerate(words) for j, o in enumerate(others))


def cognate(word: str, other: str, *, min_ratio: float = COGNATE_RATIO) -> bool:
    """Whether two words are spelt alike across languages ("ducs" / "dukes", "graphe" /
    "graph"): accent-folded, four letters or more, a :class:`difflib.SequenceMatcher` ratio
    of at least ``min_ratio``.

    Why: single words are where the sentence embedder is weakest ("ducs" / "dukes" 0.61,
    under the 0.65 of :data:`DEFAULT_THRESHOLD`), and French and English share much of their
    vocabulary in spelling. Used with a lower cosine floor, never alone: "comtes" / "comets"
    spell alike and mean nothing alike.

    >>> cognate("ducs", "dukes"), cognate("graphe", "graph"), cognate("comtes", "dukes"), cognate("le", "la")
    (True, True, False, False)
    """
    from rag.text.analysis import fold

    a, b = fold(word).lower(), fold(other).lower()
    return min(len(a), len(b)) >= 4 and difflib.SequenceMatcher(None, a, b).ratio() >= min_ratio


_ALIGNERS: weakref.WeakKeyDictionary[object, WordAligner] = weakref.WeakKeyDictionary()


def aligner_for(embedder: Embedder) -> WordAligner:
    """The one aligner (and word-vector cache) of ``embedder``, kept as long as the embedder is."""
    aligner = _ALIGNERS.get(embedder)
    if aligner is None:
        aligner = _ALIGNERS[embedder] = WordAligner(embedder)
    return aligner
