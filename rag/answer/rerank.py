"""Optional reranking of retrieved chunks with a sentence-transformers CrossEncoder.

Off by default: on the dev set hybrid retrieval already ranks the gold passage
first for every question, and no multilingual cross-encoder ships on PyPI for
offline use. Users with a local cross-encoder set ``--reranker NAME_OR_PATH``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from rag.errors import ModelError, missing_dependency

log = logging.getLogger(__name__)


class Reranker(Protocol):
    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text, higher is better."""
        ...


class CrossEncoderReranker:
    """Any sentence-transformers ``CrossEncoder`` by name or local path (loaded lazily)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import CrossEncoder
            except ImportError as exc:  # pragma: no cover
                raise missing_dependency("sentence-transformers", "Reranking") from exc
            try:
                self._model = CrossEncoder(self.name, device="cpu", local_files_only=True)
            except Exception as exc:  # OSError, ValueError, hub errors: all mean "not available offline"
                raise ModelError(
                    f"Cannot load the reranker '{self.name}' ({type(exc).__name__}: {exc}). Give a local "
                    "CrossEncoder folder or a model already in the Hugging Face cache, or unset --reranker."
                ) from exc
        return self._model

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return [float(s) for s in self.model.predict([(question, t) for t in texts], show_progress_bar=False)]


def rerank(items: Sequence[int], texts: Sequence[str], question: str, reranker: Reranker,
           depth: int) -> list[int]:
    """Reorder the first ``depth`` of ``items`` (``texts[j]`` is the text of ``items[j]``)
    by the reranker's scores; the others follow unchanged.

    >>> class ByLength:
    ...     def scores(self, q, texts): return [len(t) for t in texts]
    >>> rerank([7, 8, 9], ["a", "ccc", "bb"], "q", ByLength(), depth=2)
    [8, 7, 9]
    """
    head, tail = list(items[:depth]), list(items[depth:])
    scored = reranker.scores(question, list(texts[:len(head)]))
    ranked = [item for _, item in sorted(zip(scored, head), key=lambda p: -p[0])]
    return ranked + tail
