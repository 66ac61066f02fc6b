"""The model's confidence in its own answer, read from the probabilities of its tokens.

A small model that reads the wrong sentence of the right passage ("le 8 mars 1575", a
birth date, for the year a man fell ill) or fills a gap with a name from elsewhere is
usually unsure while it writes the words of the answer: the most likely token has a low
probability, because other spans of the passages compete for it. The lexical and meaning
checks cannot see this: the wrong phrase is in the cited passage, word for word. The
token probabilities come free with generation (:class:`rag.answer.llm.TopTokenRecorder`).

Only the words of the answer count: the citation markers, the punctuation after them and
anything the model adds after its first marker are left out, since a model is nearly
always sure of "[1]." and that certainty says nothing about the fact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Steps = Sequence[tuple[str, float]]


def phrase_probs(steps: Steps) -> list[float]:
    """The probabilities of the answer's word tokens: those before its first citation
    marker ("[") that hold a letter or a digit.

    >>> phrase_probs([("Phil", 0.9), (" Sim", 0.6), ("ms", 0.99), (" [", 0.97), ("1", 0.9), ("].", 0.99)])
    [0.9, 0.6, 0.99]
    >>> phrase_probs([("[", 0.5), ("1", 0.9)])
    []
    """
    out: list[float] = []
    for text, p in steps:
        if "[" in text:
            break
        if any(ch.isalnum() for ch in text):
            out.append(p)
    return out


def answer_confidence(steps: Steps | None) -> float | None:
    """The geometric mean probability of the answer's word tokens (:func:`phrase_probs`),
    in [0, 1]; None without token probabilities or without a word before the first marker.

    >>> answer_confidence([("Phil", 0.9), (" Sim", 0.4), ("ms", 1.0), (" [", 0.97)])
    0.7114
    >>> answer_confidence(None), answer_confidence([("[", 0.9)])
    (None, None)
    """
    if not steps:
        return None
    probs = phrase_probs(steps)
    if not probs:
        return None
    return round(math.exp(sum(math.log(max(p, 1e-9)) for p in probs) / len(probs)), 4)
