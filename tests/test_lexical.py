"""Tests for rag.index.lexical: BM25 ranking, cross-lingual queries, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.index.lexical import FORMAT_VERSION, LexicalIndex

CHUNKS = [
    "Selon The Information, cette année, le créateur de ChatGPT perdra environ 5 milliards de dollars.",
    "Cette société d’IA, financée par Amazon, devrait dépenser environ 2,7 milliards de dollars en 2024.",
    "Les utilisateurs paient 10 dollars par mois d’abonnement à Copilot.",
    "Mistral AI a levé 600 millions d'euros lors d'un tour de table dirigé par General Catalyst.",
    "La morale de l’histoire : dans la crypto, les cycles vont de la lassitude à l’enthousiasme.",
    "Juan Leon prévoit que l'IA et la cryptographie pourraient contribuer jusqu'à 20 000 milliards de dollars.",
]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(CHUNKS, ["fr"] * len(CHUNKS))



@pytest.mark.parametrize(
    ("query", "lang", "best"),
    [
        ("Combien les utilisateurs paient-ils pour Copilot ?", "fr", 2),
        ("Qui a dirigé le tour de table de Mistral AI ?", "fr", 3),
        ("Quelle est la morale de l'histoire sur la crypto ?", "fr", 4),
        ("Which investor led Mistral's Series B? General Catalyst?", "en", 3),
        ("How much is the company funded by Amazon expected to spend in 2024?", "en", 1),
        ("Who predicts 20 000 billion dollars from AI and crypto? Juan Leon", "en", 5),
        ("Copilot subscription 10 dollars", "en", 2),
    ],
)
def test_ranking(index: LexicalIndex, query: str, lang: str, best: int) -> None:
    results = index.search(query, lang, k=3)
    assert results and results[0][0] == best


def test_results_sorted_positive_and_bounded(index: LexicalIndex) -> None:
    results = index.search("des milliards", "fr", k=10)
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)
    assert {pos for pos, _ in results} == {0, 1, 5}
    assert len(index.search("milliards de dollars", "fr", k=2)) == 2
    assert index.search("milliards", "fr", k=0) == []


def test_no_match_gives_nothing(index: LexicalIndex) -> None:
    assert index.search("kangourou australien", "fr", k=5) == []
    assert index.search("", "en", k=5) == []
    assert index.search("le la les de", "fr", k=5) == []


def test_cross_lingual_query_uses_both_analysers(index: LexicalIndex) -> None:
    # "2.7" from the English question matches "2,7" in the French chunk.
    assert index.search("2.7 billion", "en", k=1)[0][0] == 1
    terms = index.query_terms("Anthropic's revenues", "en")
    assert "anthrop" in terms and "anthropic" in terms


def test_build_validates_input() -> None:
    with pytest.raises(ValueError):
        LexicalIndex.build(["a"], ["fr", "fr"])
    with pytest.raises(ValueError):
        LexicalIndex.build(["a"], ["de"])
    with pytest.raises(ValueError):
        LexicalIndex.build(["a"], ["fr"]).search("a", "de", k=1)
    with pytest.raises(ValueError):
        LexicalIndex.build(["a"], ["fr"]).search("a", "fr", k=-1)


def test_empty_index() -> None:
    empty = LexicalIndex.build([], [])
    assert len(empty) == 0
    assert empty.search("OpenAI", "en", k=3) == []
    assert LexicalIndex.from_state(empty.to_state()).search("OpenAI", "en", k=3) == []


def test_ties_are_broken_by_position() -> None:
    idx = LexicalIndex.build(["OpenAI perd", "OpenAI perd", "autre chose"], ["fr", "fr", "fr"])
    assert [pos for pos, _ in idx.search("OpenAI", "fr", k=2)] == [0, 1]


def test_mixed_language_corpus() -> None:
    idx = LexicalIndex.build(["Users pay 10 dollars a month.", "Les utilisateurs paient."], ["en", "fr"])
    assert idx.search("users", "en", k=1)[0][0] == 0
    assert idx.search("utilisateurs", "fr", k=1)[0][0] == 1


def test_state_round_trip(index: LexicalIndex, tmp_path: Path) -> None:
    path = tmp_path / "lexical.npz"
    index.save(path)
    loaded = LexicalIndex.load(path)
    for query, lang in [("Copilot abonnement", "fr"), ("Mistral Series B", "en"), ("2.7 billion", "en")]:
        assert loaded.search(query, lang, k=5) == index.search(query, lang, k=5)
    state = LexicalIndex.from_state(index.to_state())
    assert np.array_equal(state.scores("milliards", "fr"), index.scores("milliards", "fr"))


def test_wrong_version_is_refused(index: LexicalIndex, tmp_path: Path) -> None:
    state = index.to_state()
    state["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(ValueError, match="rebuild"):
        LexicalIndex.from_state(state)
    path = tmp_path / "old.npz"
    np.savez(path, **state)
    with pytest.raises(ValueError, match="version"):
        LexicalIndex.load(path)
    with pytest.raises(ValueError):
        LexicalIndex.from_state({"format_version": FORMAT_VERSION})
