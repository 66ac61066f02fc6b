"""Tests for rag.text.analysis: folding, language detection and the analyser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.text.analysis import analyze, canonical_number, detect_language, fold, stem, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Été", "ete"),
        ("L’IA", "l'ia"),
        ("l‘a `b ´c", "l'a 'b 'c"),
        ("Œuvre cœur", "oeuvre coeur"),
        ("Ægis æ", "aegis ae"),
        ("Ça COÛTE très cher", "ca coute tres cher"),
        ("e\u0301", "e"),  # decomposed accent
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Et Anthropic ?", "fr"),
        ("What about Anthropic?", "en"),
        ("Combien d'employés compte Mistral AI ?", "fr"),
        ("Which investor led Mistral's Series B?", "en"),
        ("Quel journal a lancé l'alerte sur la fin possible de l'explosion de l'IA ?", "fr"),
        ("How much do users pay per month for a GitHub Copilot subscription?", "en"),
        ("Et en 2024 ?", "fr"),
        ("And in 2024?", "en"),
        ("Pourquoi ?", "fr"),
        ("Why?", "en"),
        ("Qui dirige OpenAI ?", "fr"),
        ("Who runs OpenAI?", "en"),
        # A French name keeps its accents in an English question (lives tune: answered in French).
        ("When did Amédée Brassac defend his doctoral thesis?", "en"),
        ("When did Clémence Ferrandier found the Union des femmes paysagistes?", "en"),
        ("Où est née Clémence Ferrandier ?", "fr"),
        ("Élections ?", "fr"),
    ],
)
def test_detect_language_short_questions(question: str, lang: str) -> None:
    assert detect_language(question) == lang


def test_detect_language_only_fr_or_en() -> None:
    assert detect_language("") in {"fr", "en"}
    assert detect_language("Das ist ein Haus") in {"fr", "en"}
    with pytest.raises(ValueError):
        detect_language("x", default="de")


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("l'alerte", "fr", ["alert"]),
        ("l’alerte", "fr", ["alert"]),
        ("d'argent qu'elle n'en reçoit", "fr", ["argent", "recoit"]),
        ("jusqu'à lorsqu'il puisqu'elle", "fr", []),
        ("c'est j'aime m'appelle t'as s'élèvent", "fr", ["aim", "appel", "elevent"]),
        ("Mistral's investors", "en", ["mistral", "investor"]),
        ("dépenser dépense dépensera", "fr", ["depens", "depens", "depens"]),
        ("spending spends spend", "en", ["spend", "spend", "spend"]),
        ("les entreprises et la société", "fr", ["entrepris", "societ"]),
        ("the companies of the world", "en", ["compani", "world"]),
    ],
)
def test_tokenize_elisions_stop_words_stemming(text: str, lang: str, expected: list[str]) -> None:
    assert tokenize(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang", "numbers"),
    [
        ("3,4 milliards", "fr", ["3.4"]),
        ("3.4 billion", "en", ["3.4"]),
        ("20 000 milliards", "fr", ["20000"]),
        ("20\u202f000 milliards", "fr", ["20000"]),
        ("20,000 billion", "en", ["20000"]),
        ("1,5 milliard et 11,3 milliards", "fr", ["1.5", "11.3"]),
        ("Llama 3.1 et GPT-4o en 2024.", "fr", ["3.1", "2024"]),
        ("en 2024 100 pays", "fr", ["2024", "100"]),
        ("10 dollars, 20 dollars", "fr", ["10", "20"]),
        ("3,40 $", "fr", ["3.4"]),
    ],
)
def test_numbers_kept_whole_and_canonical(text: str, lang: str, numbers: list[str]) -> None:
    assert [t.text for t in analyze(text, lang) if t.kind == "number"] == numbers


def test_numbers_are_not_stemmed_and_mixed_tokens_are_words() -> None:
    terms = analyze("GPT-4o coûte 2024 dollars", "fr")
    assert ("4o", "name") in {(t.text, t.kind) for t in terms}
    assert ("2024", "number") in {(t.text, t.kind) for t in terms}


@pytest.mark.parametrize(
    ("surface", "lang", "canonical"),
    [("007", "fr", "7"), ("0,5", "fr", "0.5"), ("2,000", "en", "2000"), ("2,000", "fr", "2"), ("1.10", "en", "1.1")],
)
def test_canonical_number(surface: str, lang: str, canonical: str) -> None:
    assert canonical_number(surface, lang) == canonical


def test_names_are_marked() -> None:
    kinds = {t.surface: t.kind for t in analyze("Selon The Information, OpenAI et Meta dépensent.", "fr")}
    assert kinds["OpenAI"] == "name" and kinds["Meta"] == "name" and kinds["Information"] == "name"
    assert "Selon" not in kinds  # a stop word
    assert kinds["dépensent"] == "word"


def test_stem_is_folded() -> None:
    assert stem("levée", "fr") == "lev"
    assert stem("Utilisateurs", "fr") == stem("utilisateur", "fr")


def test_unsupported_language() -> None:
    with pytest.raises(ValueError):
        tokenize("hola", "es")


@given(st.text(), st.sampled_from(["fr", "en"]))
def test_tokenize_never_raises(text: str, lang: str) -> None:
    tokens = tokenize(text, lang)
    assert all(isinstance(t, str) and t for t in tokens)


@given(st.text())
def test_detect_language_never_raises(text: str) -> None:
    assert detect_language(text) in {"fr", "en"}
