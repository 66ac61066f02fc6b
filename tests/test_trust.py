"""Trust mechanisms of the answer stage: the cross-lingual judge path, the optional LLM
second opinion, evidence that reaches the answer sentence, overview questions."""

from __future__ import annotations

import numpy as np

from rag.answer.judge import LexicalJudge
from rag.answer.prompt import OVERVIEW_INSTRUCTION, build_messages

from .conftest import FakeLLM

GOOD_FR = "Selon The Information, OpenAI perdra environ 5 milliards de dollars cette année [1]."


class MeaningVectors:
    """A stand-in multilingual embedder: texts about the same event get the same vector."""

    id = "meaning-vectors"
    dim = 2

    def encode_passages(self, texts, *, progress=False):
        return np.array([[1.0, 0.0] if "Coldplay" in t else [0.0, 1.0] for t in texts], dtype=np.float32)

    encode_queries = encode_passages


EVIDENCE = "Le spectacle de la mi-temps avait pour tête d'affiche le groupe de rock britannique Coldplay."


def test_cross_lingual_claim_is_accepted_through_the_embedder():
    claim = "The halftime show was headlined by the British band Coldplay [1]."
    assert not LexicalJudge().supports(claim, EVIDENCE)  # coverage alone: too few shared words
    assert LexicalJudge(embedder=MeaningVectors()).supports(claim, EVIDENCE)


def test_cross_lingual_path_keeps_the_meaning_checks():
    judge = LexicalJudge(embedder=MeaningVectors())
    assert not judge.supports("Coldplay was paid 12 million dollars for the halftime show.", EVIDENCE)
    assert judge.explain("Coldplay was paid 12 million dollars for the halftime show.", EVIDENCE).startswith("number")


def test_same_language_claims_do_not_use_the_embedder():
    judge = LexicalJudge(embedder=MeaningVectors())
    assert not judge.supports("Coldplay a joué deux heures devant cent mille personnes à Paris.", EVIDENCE)


def test_second_opinion_flags_a_sentence_the_llm_rejects(make_assistant):
    a = make_assistant(FakeLLM(GOOD_FR, yes=0.05).reply, confirm=True)
    a._llm = FakeLLM(GOOD_FR, yes=0.05)
    ans = a.ask("Combien OpenAI perdra-t-elle cette année ?")
    assert ans.abstained or ans.unsupported_sentences, ans.to_dict()
    assert a._llm.yes_calls and ans.timings.checks >= 1


def test_second_opinion_is_off_by_default(make_assistant):
    a = make_assistant(GOOD_FR)
    a._llm = FakeLLM(GOOD_FR, yes=0.05)
    ans = a.ask("Combien OpenAI perdra-t-elle cette année ?")
    assert not ans.abstained and a._llm.yes_calls == [] and ans.timings.checks == 0


def test_overview_questions_ask_for_several_sentences():
    user = build_messages("Que disent les articles sur Mistral AI ?", [], "fr")[-1]["content"]
    assert user.endswith(OVERVIEW_INSTRUCTION["fr"])
    assert OVERVIEW_INSTRUCTION["fr"] not in build_messages("Combien Mistral a-t-elle levé ?", [], "fr")[-1]["content"]
