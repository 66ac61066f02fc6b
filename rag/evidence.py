"""Evidence selection: send the LLM only the sentences that bear on the question.

Prompt processing dominates answer time on a CPU (~80 prompt tokens/s on two
cores), so instead of whole passages the prompt carries, per passage, its
sentences most related to the question, within a character budget. Sentences
keep their document order inside a passage; the passage keeps its number, so
the model's ``[n]`` markers still map to full passages, and verification and
quotes use the full passage text and exact offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .records import Passage
from .sentences import sentence_spans


@dataclass(frozen=True)
class Candidate:
    passage: int  # index in the passage list
    start: int  # offsets inside the passage text
    end: int
    score: float


def sentence_candidates(passages: Sequence[Passage]) -> list[tuple[int, int, int]]:
    """(passage index, start, end) of every sentence of every passage."""
    out = []
    for i, p in enumerate(passages):
        out.extend((i, s, e) for s, e in sentence_spans(p.text))
    return out


def pick(candidates: Sequence[Candidate], *, budget: int, min_per_top: int = 1,
         top_passages: int = 1) -> list[Candidate]:
    """Best-scoring sentences whose total length fits ``budget`` characters.

    The best sentence of each of the first ``top_passages`` passages is always
    kept (retrieval rank carries information the sentence scores lack).

    >>> cs = [Candidate(0, 0, 50, 0.2), Candidate(0, 51, 90, 0.9), Candidate(1, 0, 400, 0.8), Candidate(1, 401, 450, 0.1)]
    >>> [(c.passage, c.start) for c in pick(cs, budget=150)]
    [(0, 51), (0, 0), (1, 401)]
    """
    chosen: list[Candidate] = []
    used = 0
    for p in range(top_passages):
        mine = [c for c in candidates if c.passage == p]
        for c in sorted(mine, key=lambda c: -c.score)[:min_per_top]:
            chosen.append(c)
            used += c.end - c.start
    for c in sorted(candidates, key=lambda c: -c.score):
        if c in chosen:
            continue
        if used + (c.end - c.start) > budget:
            continue
        chosen.append(c)
        used += c.end - c.start
    return chosen


def render(passages: Sequence[Passage], chosen: Sequence[Candidate]) -> list[str]:
    """Per passage, its chosen sentences in document order joined by " … " ("" when none)."""
    texts = []
    for i, p in enumerate(passages):
        mine = sorted((c for c in chosen if c.passage == i), key=lambda c: c.start)
        parts = []
        last_end = None
        for c in mine:
            if last_end is not None and p.text[last_end:c.start].strip():
                parts.append("…")
            parts.append(p.text[c.start:c.end])
            last_end = c.end
        texts.append(" ".join(parts))
    return texts


class EvidenceSelector:
    """Scores passage sentences against the question with the embedder (dense)
    and term overlap (lexical), then keeps the best within a budget."""

    def __init__(self, embedder: object, *, lexical_weight: float = 0.3) -> None:
        self.embedder = embedder
        self.lexical_weight = lexical_weight

    def select(self, question: str, language: str, passages: Sequence[Passage], *,
               budget: int) -> list[str]:
        if budget <= 0 or not passages:
            return [p.text for p in passages]
        from .analysis import tokenize

        spans = sentence_candidates(passages)
        if not spans:
            return [p.text for p in passages]
        sentences = [passages[i].text[s:e] for i, s, e in spans]
        qv = self.embedder.encode_queries([question])[0]  # type: ignore[attr-defined]
        sv = self.embedder.encode_passages(sentences)  # type: ignore[attr-defined]
        dense = sv @ qv
        q_terms: dict[str, set[str]] = {}
        lexical = np.zeros(len(spans), dtype=np.float32)
        for j, (i, _, _) in enumerate(spans):
            lang = passages[i].language
            if lang not in q_terms:
                q_terms[lang] = set(tokenize(question, language)) | set(tokenize(question, lang))
            terms = q_terms[lang]
            if terms:
                lexical[j] = len(terms & set(tokenize(sentences[j], lang))) / len(terms)
        scores = dense + self.lexical_weight * lexical
        candidates = [Candidate(i, s, e, float(sc)) for (i, s, e), sc in zip(spans, scores)]
        return render(passages, pick(candidates, budget=budget))
