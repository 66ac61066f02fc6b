from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.answer.cite import verify_answer
from rag.answer.markers import answer_sentences, parse_markers, strip_markers
from rag.records import Passage

DOC = (
    "OpenAI est une ruine. Selon The Information, OpenAI perdra environ 5 milliards de dollars. "
    "Anthropic devrait dépenser environ 2,7 milliards de dollars en 2024."
)


def _words(t: str) -> set[str]:
    return {w for w in re.findall(r"\w+", t.lower()) if len(w) > 3}


def fake_supports(claim: str, evidence: str) -> bool:
    words = _words(claim)
    return bool(words) and words <= _words(evidence)


def fake_score(claim: str, evidence: str) -> float:
    words = _words(claim)
    return len(words & _words(evidence)) / max(1, len(words))


def passages() -> list[Passage]:
    a_end = DOC.index(" Anthropic")
    return [
        Passage(rank=1, doc_id="d.txt", chunk_id="d.txt:0-x", start=0, end=a_end, score=0.8, text=DOC[:a_end], title="T"),
        Passage(rank=2, doc_id="d.txt", chunk_id="d.txt:y", start=a_end + 1, end=len(DOC), score=0.7,
                text=DOC[a_end + 1:], title="T"),
    ]


def verify(answer: str):
    return verify_answer(answer, passages(), supports=fake_supports, score=fake_score)


def test_keeps_supporting_marker_with_exact_quote():
    v = verify("OpenAI perdra environ 5 milliards de dollars [1].")
    assert v.answer == "OpenAI perdra environ 5 milliards de dollars [1]."
    (c,) = v.citations
    assert c.marker == 1 and c.supported
    assert DOC[c.start:c.end] == c.quote == "Selon The Information, OpenAI perdra environ 5 milliards de dollars."
    assert v.unsupported_sentences == []


def test_wrong_marker_is_replaced_by_the_supporting_passage_and_renumbered():
    v = verify("Anthropic devrait dépenser environ 2,7 milliards [1].")
    (c,) = v.citations
    assert c.marker == 1 and c.chunk_id == "d.txt:y" and c.supported
    assert "2,7 milliards" in c.quote


def test_out_of_range_marker_dropped():
    v = verify("OpenAI perdra environ 5 milliards de dollars [7].")
    assert [c.marker for c in v.citations] == [1]
    assert v.citations[0].chunk_id == "d.txt:0-x"


def test_unsupported_sentence_flagged_and_marker_kept_unverified():
    v = verify("OpenAI rachète Google demain [1].")
    assert v.unsupported_sentences == ["OpenAI rachète Google demain."]
    assert [c.supported for c in v.citations] == [False]
    assert not v.any_supported


def test_renumbering_is_consecutive_in_order_of_appearance():
    v = verify("Anthropic devrait dépenser 2,7 milliards [2]. OpenAI perdra 5 milliards de dollars [1].")
    assert [c.marker for c in v.citations] == [1, 2]
    assert v.answer.startswith("Anthropic devrait dépenser 2,7 milliards [1].")
    assert v.answer.endswith("[2].")


def test_markers_only_answer_has_no_supported_sentence():
    v = verify("[1][2]")
    assert not v.any_supported and v.citations == []


@pytest.mark.parametrize("text, expected", [("a [1] b [2, 3]", [1, 2, 3]), ("[1][1]", [1]), ("none", []),
                                            ("[12;4]", [12, 4])])
def test_parse_markers(text, expected):
    assert parse_markers(text) == expected


def test_answer_sentences_attach_trailing_markers():
    assert answer_sentences("Un fait. [2]") == [("Un fait.", [2])]
    assert strip_markers("A [1], B [2].") == "A, B."


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parser_and_verifier_accept_any_string(text):
    parse_markers(text)
    answer_sentences(text)
    v = verify(text)
    for c in v.citations:
        assert DOC[c.start:c.end] == c.quote


def test_a_claim_only_several_sentences_support_is_quoted_with_those_sentences_not_the_whole_passage():
    text = ("Le marché ralentit. Le rapport vient du New York Times. Il a été publié mardi. "
            "Il lance une alerte sur la fin de l'explosion. Les autres médias suivent. Rien d'autre.")
    p = Passage(rank=1, doc_id="n.txt", chunk_id="n.txt:0", start=100, end=100 + len(text), score=0.9, text=text,
                title="T")
    v = verify_answer("Le New York Times lance une alerte [1].", [p], supports=fake_supports, score=fake_score)
    quote = v.citations[0].quote
    assert v.citations[0].supported
    assert quote == "Le rapport vient du New York Times. Il a été publié mardi. Il lance une alerte sur la fin de l'explosion."
    assert quote != text  # the shortest run that supports it, not the whole passage
