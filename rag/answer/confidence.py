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
from dataclasses import replace

from rag.answer.cite import Verification
from rag.records import Answer

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


UNSURE_NOTICE = {
    "fr": "Réponse non confirmée : le modèle hésitait en l'écrivant (confiance {confidence:.0%}). "
          "Vérifiez-la dans le passage cité.",
    "en": "Unconfirmed answer: the model was unsure while writing it (confidence {confidence:.0%}). "
          "Check it against the cited passage.",
}


def unconfirmed(answer: Answer, result: Verification, below: float) -> Verification:
    """``result`` with its citations marked not verified, and a notice added to ``answer``, when
    the model wrote ``answer``'s words with less than ``below`` confidence; else ``result``.

    Why: the checks read words, and a wrong phrase taken from the right passage passes them
    (the support judge finds it in the quote, word for word). The model's own hesitation is
    the one signal that sees it. It does not sort right from wrong well enough to abstain
    (ROC AUC about 0.68; refusing cost about as many right answers as wrong ones, see
    docs/measurements.md), but a wrong answer shown with a citation that looks like proof is
    worse than a right one shown with a caution: the answer stays, its citations are marked
    not verified and a notice says why. Measured on the tune splits (session 28): of the
    short answers under 0.6, 38% were wrong, against 18% of all answers given.

    >>> from rag.records import Answer, Citation
    >>> c = Citation(1, "a.txt", "A", "a.txt:0-9", 0, 9, "Il pleut.")
    >>> unsure = Answer("Où ?", "Paris [1].", "fr", token_probs=[("Paris", 0.41), (" [", 0.9)])
    >>> [x.supported for x in unconfirmed(unsure, Verification("Paris [1].", [c], [], []), 0.6).citations]
    [False]
    >>> unsure.notices[0][:25]
    'Réponse non confirmée : l'
    >>> sure = Answer("Où ?", "Paris [1].", "fr", token_probs=[("Paris", 0.93)])
    >>> [x.supported for x in unconfirmed(sure, Verification("Paris [1].", [c], [], []), 0.6).citations]
    [True]
    """
    confidence = answer.confidence
    if confidence is None or below <= 0 or confidence >= below or not any(c.supported for c in result.citations):
        return result
    answer.notices.append(UNSURE_NOTICE[answer.language].format(confidence=confidence))
    return replace(result, citations=[replace(c, supported=False) for c in result.citations])
