"""Across languages, a question's words as the index terms of the passages' language.

BM25 matches an English question against French text (or the reverse) only on names,
numbers and words spelt alike, unless something translates the question's words. That was
a hand-written English-French list (:mod:`rag.text.lexicon`), written around the topics of
the dev questions (issue 15: "a topic outside it gets no lexical help"). The multilingual
embedder already puts a word and its translation close together (:mod:`rag.answer.align`):
"lait" / "milk", "fleuve" / "river".

So each content word of the question is paired with the words of the other language that
the dense channel's best chunks use, when their word vectors are at least ``threshold``
close (the ``retrieval_word_match`` setting), at most ``per_word`` of them; their index
terms join the BM25 query at ``weight`` times the cosine.

Why the words of the dense channel's best chunks and not every word of the index: the same
recall on the tune splits (within one question), no saved file to version, and most of
those words are the ones sentence rescoring embeds anyway (the aligner caches them).

Measured with ``rag eval --retrieval-only`` against the word list (docs/measurements.md,
session 27): French questions over English articles, fresh tune recall@5 0.91 -> 0.97 and
outside tune recall@1 0.76 -> 0.79; dev unchanged (1.00). The answers did not follow as
much (within a right answer or two per split, either way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rag.text.analysis import analyze

# At most this many words of the passages' language per word of the question: "fleuve"
# brings "river" and "rivers", not every water word of the article.
PER_WORD = 3
# Shortest word (in letters) worth translating or matching: "de", "of" and initials are not.
MIN_LETTERS = 3


def words_of(text: str, language: str) -> dict[str, str]:
    """Lower-cased words (not numbers) of ``text``, each with its index term.

    >>> words_of("The rivers flood, 40 times.", "en")
    {'rivers': 'river', 'flood': 'flood', 'times': 'time'}
    """
    return {t.surface.lower(): t.text for t in analyze(text, language)
            if t.kind != "number" and len(t.surface) >= MIN_LETTERS}


def passage_words(texts: Sequence[tuple[str, str]], language: str,
                  words: Callable[[str, str], dict[str, str]] = words_of) -> dict[str, str]:
    """:func:`words_of` the ``(text, language)`` pairs written in another language than
    ``language`` (``words``: the same, cached by the caller).

    >>> passage_words([("The rivers flood.", "en"), ("Le fleuve.", "fr")], "fr")
    {'rivers': 'river', 'flood': 'flood'}
    """
    out: dict[str, str] = {}
    for text, lang in texts:
        if lang != language:
            for word, term in words(text, lang).items():
                out.setdefault(word, term)
    return out


def translations(question: str, language: str, words: dict[str, str],
                 vectors: Callable[[Sequence[str]], np.ndarray], *, threshold: float,
                 weight: float, per_word: int = PER_WORD) -> dict[str, float]:
    """Index terms of ``words`` (see :func:`passage_words`) that translate a content word of
    ``question``, each weighted ``weight`` times its best cosine (``vectors``: unit word
    vectors, :meth:`rag.answer.align.WordAligner.vectors`).

    >>> table = {"fleuve": [1.0, 0.0], "river": [0.9, 0.436], "bank": [0.0, 1.0]}
    >>> vec = lambda ws: np.array([table.get(w, [0.0, 0.0]) for w in ws])
    >>> translations("Quel fleuve ?", "fr", {"river": "river", "bank": "bank"}, vec, threshold=0.8, weight=0.5)
    {'river': 0.45}
    """
    asked = list(dict.fromkeys(t.surface.lower() for t in analyze(question, language) if t.kind == "word"))
    others = sorted(words)
    if not asked or not others:
        return {}
    sims = np.asarray(vectors(asked)) @ np.asarray(vectors(others)).T
    out: dict[str, float] = {}
    for row in sims:
        for j in np.argsort(-row, kind="stable")[:per_word]:
            if row[j] >= threshold:
                term = words[others[j]]
                out[term] = max(out.get(term, 0.0), round(weight * float(row[j]), 4))
    return out
