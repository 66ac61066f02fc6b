"""Prompt construction, and every docstring example of the package run as a test."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re

import pytest

import rag
from rag.answer.prompt import build_messages, gloss_amounts
from rag.records import Passage

MODULES = sorted(m.name for m in pkgutil.walk_packages(rag.__path__, "rag."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def _passage(text: str, language: str) -> Passage:
    return Passage(rank=1, doc_id="a.txt", chunk_id="a.txt:0", start=0, end=len(text), score=1.0,
                   text=text, language=language)


def test_english_question_gets_french_amounts_spelled_in_english() -> None:
    p = _passage("L'IA pourrait ajouter 20 000 milliards de dollars au PIB et 1,5 million d'emplois.", "fr")
    user = build_messages("How much?", [p], "en")[-1]["content"]
    assert "20 000 milliards (= 20 trillion) de dollars" in user
    assert "1,5 million (= 1.5 million)" in user


def test_same_language_passages_are_left_as_written() -> None:
    p = _passage("OpenAI perdra 5 milliards de dollars.", "fr")
    assert "(=" not in build_messages("Combien ?", [p], "fr")[-1]["content"]


@pytest.mark.parametrize("text", ["5 milliards", "2024", "10 000 salariés et 3,4 md", "1.000.000 milliards", ""])
def test_gloss_only_adds_readings(text: str) -> None:
    glossed = gloss_amounts(text, "fr", "en")
    assert re.sub(r" \(= [^)]*\)", "", glossed) == text


def test_each_article_names_its_subject_once_in_the_prompt() -> None:
    # Encyclopedia passages say "le pays", "il": only the title says which country or man.
    def passage(doc: str, title: str, text: str) -> Passage:
        return Passage(rank=1, doc_id=doc, chunk_id=f"{doc}:0", start=0, end=len(text), score=1.0,
                       text=text, title=title, language="fr")

    user = build_messages("Quel pays est surnommé la perle de l'Afrique ?", [
        passage("ouganda.txt", "Ouganda", "La « perle de l'Afrique » devient un modèle."),
        passage("kenya.txt", "Kenya", "Le pays exporte du thé."),
        passage("ouganda.txt", "Ouganda", "Le président abandonne ses principes marxistes en 1987."),
    ], "fr", news=False)[-1]["content"]
    assert "[1] « Ouganda » La « perle de l'Afrique » devient un modèle." in user
    assert "[2] « Kenya » Le pays exporte du thé." in user
    assert "[3] (même article que le passage 1) Le président" in user
    assert user.count("Ouganda") == 1


def test_a_later_passage_of_an_article_does_not_repeat_its_outlet_and_date() -> None:
    def passage(text: str) -> Passage:
        return Passage(rank=1, doc_id="a.txt", chunk_id="a.txt:0", start=0, end=len(text), score=1.0, text=text,
                       title="OpenAI perd de l'argent", language="fr", date="2024-06-11", outlet="Simseo")

    user = build_messages("Combien OpenAI perd-elle ?", [passage("OpenAI perd 5 milliards."),
                                                          passage("Ses revenus croissent.")], "fr")[-1]["content"]
    assert "[1] « OpenAI perd de l'argent » (Simseo, article du 11 juin 2024) OpenAI perd" in user
    assert "[2] (même article que le passage 1) Ses revenus croissent." in user


def test_a_lower_evidence_ratio_sends_more_of_each_passage(make_assistant):
    # --evidence-ratio: sentences far below the best one reach the LLM only when asked for.
    question = "Combien Mistral AI a-t-elle levé lors de son tour de table ?"

    def sent(**kw):
        prepared = make_assistant("", context_budget=5000, **kw).pipeline().prepare(question)
        return sum(len(t) for t in prepared.texts), prepared.messages[-1]["content"]

    strict, strict_prompt = sent(evidence_ratio=1.0)
    wide, wide_prompt = sent(evidence_ratio=0.0)
    assert 0 < strict < wide
    assert len(strict_prompt) < len(wide_prompt)


def test_the_evidence_ratio_and_the_word_match_are_shares():
    import pytest

    from rag.errors import ConfigError
    from rag.settings import Settings

    with pytest.raises(ConfigError, match="evidence_ratio"):
        Settings(evidence_ratio=1.5)
    with pytest.raises(ConfigError, match="word_match"):
        Settings(word_match=-0.1)
    assert Settings(word_match=0).word_match == 0


def test_the_word_match_settings_are_cli_flags():
    from rag.cli import build_parser
    from rag.settings import settings_from_args

    args = build_parser().parse_args(["ask", "Qui ?", "--word-match", "0", "--retrieval-word-match", "0.9"])
    settings = settings_from_args(args)
    assert (settings.word_match, settings.retrieval_word_match) == (0.0, 0.9)
