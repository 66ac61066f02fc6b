"""Across languages, BM25 reads the question's words through the embedder's word vectors
(rag.answer.expansion), not through the hand-written word list."""

from __future__ import annotations

import numpy as np

from rag.answer.expansion import passage_words, translations
from tests.conftest import FakeEmbedder, fake_assistant

# Words the fake embedder puts together, as a multilingual embedder does a word and its
# translation; none of these pairs is in the English-French word list.
MEANS = {"lait": "milk", "vaches": "cows", "laitier": "dairy"}

DAIRY = """Dairy farming

Victoria produces most of the country's milk. Its dairy herds graze the southern plains, where the cows \
stay outdoors all year.

Wool and wheat

Victoria's wool remains a large export. Victoria sows wheat on the northern plains and ships it from Geelong.
"""

QUESTION = "Quelle part du lait est produite au Victoria ?"


class MeaningEmbedder(FakeEmbedder):
    """The fake embedder, with a French word and its English translation at cosine 1."""

    def _vec(self, text: str) -> np.ndarray:
        return super()._vec(" ".join(MEANS.get(w, w) for w in text.lower().split()))


def _retriever(tmp_path, word_match: float):
    docs = tmp_path / f"docs-{word_match}"
    docs.mkdir()
    (docs / "dairy.txt").write_text(DAIRY, encoding="utf-8")
    assistant = fake_assistant(docs, tmp_path / f"index-{word_match}", MeaningEmbedder(), chunk_size=150,
                               chunk_overlap=0, retrieval_word_match=word_match)
    return assistant.retriever


def test_a_question_word_brings_its_translation_from_the_retrieved_chunks(tmp_path):
    retriever = _retriever(tmp_path, 0.8)
    hits = list(range(len(retriever.data.chunks)))
    found = retriever.translations(QUESTION, "fr", hits)
    assert found is not None and "milk" in found, found
    assert 0 < found["milk"] < 1  # a translation weighs less than the question's own word
    milk = [i for i, c in enumerate(retriever.data.chunks) if "milk" in c.text]
    ranked = [i for i, _ in retriever.lexical.search(QUESTION, "fr", 3, found)]
    assert ranked[:1] == milk, [retriever.data.chunks[i].text[:40] for i in ranked]
    # The word list knows neither "lait" nor "milk": BM25 reads "Victoria" alone, said twice about wool.
    listed = [i for i, _ in retriever.lexical.search(QUESTION, "fr", 3)]
    assert listed[0] not in milk, [retriever.data.chunks[i].text[:40] for i in listed]


def test_without_word_vectors_the_word_list_decides(tmp_path):
    retriever = _retriever(tmp_path, 0.0)
    assert retriever.translations(QUESTION, "fr", [0, 1]) is None


def test_only_words_of_the_other_language_translate():
    words = passage_words([("Le lait des vaches.", "fr"), ("The milk of cows, 40 litres.", "en")], "fr")
    assert set(words) == {"milk", "cows", "litres"}  # no French word, no number
    assert words["cows"] == "cow"  # each with its index term

    def vectors(ws):
        return np.array([[1.0, 0.0] if MEANS.get(w, w) == "milk" else [0.0, 1.0] for w in ws])

    assert translations("Du lait ?", "fr", words, vectors, threshold=0.8, weight=0.6) == {"milk": 0.6}
    assert translations("Du lait ?", "fr", {}, vectors, threshold=0.8, weight=0.6) == {}
