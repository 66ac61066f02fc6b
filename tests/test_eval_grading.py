"""Eval that cannot grade itself: answer F1 and number normalisation, gold-anchored
citations, wrong-but-cited answers, the pluggable judge and the yes/no primitive."""

from __future__ import annotations

import json

import pytest

from rag.answer.entail import LLMJudge, entailment_messages, llm_supports
from rag.answer.llm import yes_share
from rag.cli import build_parser
from rag.errors import ConfigError
from rag.eval.dataset import EvalItem
from rag.eval.grading import answer_matches, answer_tokens, best_f1, canonical_amount
from rag.eval.judges import judge_label, make_judge, parse_judge
from rag.eval.metrics import GoldSpan, score_question
from rag.eval.report import format_table
from rag.eval.run import build_result, summarize
from rag.records import Answer, Citation, Passage, Timings

from .conftest import ROOT, FakeLLM

DOC = "Selon le rapport, OpenAI dépensera 1,5 milliard de dollars en personnel. OpenAI perdra 5 milliards."
GOLD_QUOTE = "OpenAI perdra 5 milliards"


class AlwaysJudge:
    """Supports everything: the pipeline's judge at its most credulous."""

    def supports(self, claim: str, evidence: str) -> bool:
        return True

    def score(self, claim: str, evidence: str) -> float:
        return 1.0


def span(sub: str) -> tuple[int, int]:
    start = DOC.index(sub)
    return start, start + len(sub)


def cite(sub: str, marker: int = 1, *, supported: bool = True, doc: str = "a.txt") -> Citation:
    start, end = span(sub)
    return Citation(marker=marker, doc_id=doc, title="", chunk_id=f"{doc}#0", start=start, end=end, quote=sub,
                    supported=supported)


PASSAGE = Passage(rank=1, doc_id="a.txt", chunk_id="a.txt#0", start=0, end=len(DOC), score=1.0, text=DOC)
GOLD = [GoldSpan("a.txt", *span(GOLD_QUOTE))]


def grade(text: str, citations=(), *, answers=("5 milliards",), answerable=True, abstained=False, raw=""):
    item = EvalItem.from_dict({"id": "q", "lang": "fr", "question": "Combien OpenAI va-t-elle perdre ?",
                               "answers": list(answers) if answerable else [],
                               "gold": [{"doc": "a.txt", "quote": GOLD_QUOTE}] if answerable else [],
                               "answerable": answerable})
    answer = Answer(question=item.question, answer=text, language="fr", abstained=abstained,
                    citations=list(citations), passages=[PASSAGE], timings=Timings(), raw_answer=raw)
    return score_question(item, [PASSAGE], answer, GOLD if answerable else [], judge=AlwaysJudge(),
                          language_of=lambda _: "fr")


# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize("written", ["100 000", "100,000", "100000", "100\u00a0000", "100\u202f000", "100.000"])
def test_numbers_are_one_number_however_written(written):
    assert canonical_amount(written) == "100000"
    assert answer_matches(f"Le stade compte {written} places [1].", ["100 000 places"])


def test_decimal_comma_equals_decimal_point():
    assert canonical_amount("5,5") == canonical_amount("5.5") == "5.5"
    assert answer_matches("Le chômage atteint 5.5 %.", ["5,5 %"])
    assert not answer_matches("Le chômage atteint 5,6 %.", ["5,5 %"])


def test_tokens_drop_articles_accents_and_punctuation():
    assert answer_tokens("L'Élysée, la Bastille et les Invalides !") == ["elysee", "bastille", "et", "invalides"]


def test_a_paraphrase_gets_f1_credit():
    r = grade("Les Broncos de Denver [1].", [cite(GOLD_QUOTE)], answers=["Denver Broncos"])
    assert r.answer_correct is False  # not contained ...
    assert r.answer_f1 == pytest.approx(1.0)  # ... but the same tokens
    assert r.correct is True


def test_low_f1_without_containment_is_wrong():
    r = grade("OpenAI va gagner beaucoup d'argent cette année [1].", [cite(GOLD_QUOTE)])
    assert r.answer_f1 < 0.5 and r.correct is False


def test_best_f1_takes_the_best_gold_answer():
    assert best_f1("Denver", ["Carolina Panthers", "Denver"]) == 1.0


def test_a_wrong_number_gets_no_credit_from_the_words_around_it():
    # Graded right before: "en" and "millions de dollars" shared with the gold answer.
    assert not grade("En 1885 [1].", [cite(GOLD_QUOTE)], answers=["1893", "en 1893"]).correct
    assert not grade("15 millions de dollars [1].", [cite(GOLD_QUOTE)],
                     answers=["plus de 70 millions de dollars", "70 millions"]).correct
    # The right number with words of its own still gets its F1; a bare year for the full date keeps half.
    r = grade("Environ 70 millions [1].", [cite(GOLD_QUOTE)], answers=["plus de 70 millions de dollars"])
    assert r.correct and not r.answer_correct
    assert best_f1("1734", ["19 janvier 1734"]) == pytest.approx(0.5)


# --------------------------------------------------------------------------- citations


def test_wrong_answer_with_a_citation_is_wrong_but_cited():
    # The example: money read as employees, cited with a supported citation.
    r = grade("OpenAI compte 1,5 milliard d'employés [1].", [cite("1,5 milliard de dollars en personnel")])
    assert r.correct is False and r.wrong_but_cited is True
    assert r.cites_gold is False and r.gold_citation_precision == 0.0
    assert "wrong answer shown with a supported citation" in r.reasons


def test_answer_to_an_unanswerable_question_with_a_citation_is_wrong_but_cited():
    r = grade("OpenAI compte 1 500 employés [1].", [cite("1,5 milliard de dollars en personnel")],
              answerable=False)
    assert r.wrong_but_cited is True and r.cites_gold is None


def test_unsupported_citation_is_not_shown_proof():
    r = grade("OpenAI compte 1,5 milliard d'employés [1].",
              [cite("1,5 milliard de dollars en personnel", supported=False)])
    assert r.correct is False and r.wrong_but_cited is False
    assert r.gold_citation_precision is None  # nothing shown


def test_right_answer_with_a_citation_is_not_wrong_but_cited():
    r = grade("OpenAI perdra 5 milliards [1].", [cite(GOLD_QUOTE)])
    assert r.correct is True and r.wrong_but_cited is False
    assert r.cites_gold is True and r.gold_citation_precision == 1.0


def test_checks_that_drop_right_and_wrong_raw_answers_alike_are_shown_as_not_sorting():
    abstain = "Les articles ne le disent pas."
    rows = [
        grade("OpenAI perdra 5 milliards [1].", [cite(GOLD_QUOTE)], raw="OpenAI perdra 5 milliards [1]."),
        grade(abstain, abstained=True, raw="OpenAI perdra 5 milliards [1]."),  # a right answer rejected
        grade("OpenAI perdra 1,5 milliard [1].", [cite(GOLD_QUOTE)], raw="OpenAI perdra 1,5 milliard [1]."),
        grade(abstain, abstained=True, raw="OpenAI perdra 1,5 milliard [1]."),  # a wrong one rejected
        grade(abstain, abstained=True),  # no raw words: abstained before generating, not counted
    ]
    assert [r.raw_correct for r in rows] == [True, True, False, False, None]
    m = summarize(rows)
    assert m.accuracy == 0.2 and m.raw_accuracy == 0.5
    assert m.checks_keep_right == 0.5 and m.checks_keep_wrong == 0.5
    table = format_table(build_result(rows))
    assert "model accuracy before checks" in table and "checks keep wrong raw answers" in table


def test_gold_anchored_precision_counts_a_citation_elsewhere_as_not_anchored():
    r = grade("OpenAI perdra 5 milliards [1][2].",
              [cite(GOLD_QUOTE, 1), cite("1,5 milliard de dollars en personnel", 2)])
    assert r.cites_gold is True and r.gold_citation_precision == 0.5
    other_doc = grade("OpenAI perdra 5 milliards [1].", [cite(GOLD_QUOTE, doc="b.txt")])
    assert other_doc.cites_gold is False and other_doc.gold_citation_precision == 0.0


def test_summary_rates():
    rows = [
        grade("OpenAI perdra 5 milliards [1].", [cite(GOLD_QUOTE)]),  # right, anchored
        grade("OpenAI compte 1,5 milliard d'employés [1].", [cite("1,5 milliard de dollars en personnel")]),
        grade("Les articles ne le disent pas.", abstained=True),  # false abstention
        grade("Les articles ne le disent pas.", answerable=False, abstained=True),
        grade("OpenAI compte 1 500 employés [1].", [cite("1,5 milliard de dollars en personnel")], answerable=False),
    ]
    m = summarize(rows, judge="lexical")
    assert m.accuracy == pytest.approx(1 / 3) and m.answer_accuracy == pytest.approx(1 / 3)
    assert m.false_abstention_rate == pytest.approx(1 / 3)
    assert m.abstention_accuracy == pytest.approx(0.5)
    assert m.wrong_but_cited_rate == pytest.approx(2 / 3)  # 2 of the 3 answers given
    assert m.gold_citation_recall == pytest.approx(0.5)  # of the 2 answered answerable questions
    assert m.gold_citation_precision == pytest.approx(0.5)
    d = m.to_dict()
    assert d["citation_precision[lexical]"] == pytest.approx(1.0) and "citation_precision" not in d


def test_report_names_the_judge():
    rows = [grade("OpenAI perdra 5 milliards [1].", [cite(GOLD_QUOTE)])]
    table = format_table(build_result(rows, judge="llm"))
    assert "citation precision[llm]" in table and "gold citation precision" in table
    assert "wrong but cited rate" in table
    assert json.loads(json.dumps(build_result(rows, judge="llm").to_dict()))["settings"]["judge"] == "llm"


# --------------------------------------------------------------------------- judges


def test_parse_judge():
    assert parse_judge("lexical").label == "lexical"
    assert parse_judge("llm").label == "llm"
    spec = parse_judge("http://127.0.0.1:8080")
    assert (spec.kind, spec.url, spec.label) == ("server", "http://127.0.0.1:8080/v1", "llm-server")
    with pytest.raises(ConfigError, match="--judge must be"):
        parse_judge("nli")


def test_cli_judge_flag():
    parser = build_parser()
    assert parser.parse_args(["eval"]).judge == "lexical"
    assert parser.parse_args(["eval", "--judge", "llm"]).judge == "llm"
    assert parser.parse_args(["eval", "--judge", "http://h:1/v1"]).judge == "http://h:1/v1"


def test_make_judge_uses_the_llm_only_when_asked():
    asked = []

    def llm():
        asked.append(1)
        return FakeLLM(yes=0.9)

    assert judge_label(make_judge("lexical", llm=llm)) == "lexical" and not asked
    judge = make_judge("llm", llm=llm)
    assert judge_label(judge) == "llm" and asked
    assert judge.supports("OpenAI perdra 5 milliards.", DOC)
    server = make_judge("http://127.0.0.1:9/v1", llm=llm, answer_server="http://127.0.0.1:8/v1", api_key="k")
    assert judge_label(server) == "llm-server" and server.llm._api_key is None  # the key stays with its server


def test_yes_probability_on_the_fake():
    llm = FakeLLM(yes=lambda messages: 0.8 if "Hypothesis: OpenAI perdra 5" in messages[-1]["content"] else 0.1)
    assert llm.yes_probability([{"role": "user", "content": "Hypothesis: OpenAI perdra 5"}]) == 0.8
    assert llm_supports(llm, "OpenAI perdra 5 milliards [1].", DOC) == 0.8
    assert llm_supports(llm, "OpenAI perdra 7 milliards.", DOC) == 0.1
    assert llm_supports(llm, "  ", DOC) == 0.0 and len(llm.yes_calls) == 3  # blank claims cost no call
    assert llm.calls == []  # no generation
    judge = LLMJudge(llm, threshold=0.5)
    assert judge.supports("OpenAI perdra 5 milliards.", DOC) and not judge.supports("Autre chose.", DOC)


def test_entailment_prompt_is_its_own():
    messages = entailment_messages("OpenAI perdra 5 milliards [1].", DOC)
    assert "[1]" not in messages[-1]["content"]
    assert messages[-1]["content"].endswith("Does the premise state the hypothesis? Answer yes or no.")


def test_yes_share_is_a_softmax_over_yes_and_no():
    assert yes_share([(True, 0.0), (False, 0.0)]) == pytest.approx(0.5)
    assert yes_share([(True, 1000.0), (False, 0.0)]) == pytest.approx(1.0)  # no overflow
    assert yes_share([]) is None


@pytest.mark.slow
def test_llm_judge_on_ten_tune_pairs():
    """The local model's judge on 10 tune pairs (4 supported, 6 not): 7 of 10 measured (all 6
    rejections right, 1 of 4 supports: at 0.85 the judge favours precision); one pair sits
    0.01 under the threshold, hence the margin of one."""
    from rag.assistant import Assistant
    from rag.eval.judge_pairs import load_pairs
    from rag.settings import Settings

    pairs = load_pairs(ROOT / "eval" / "judge" / "pairs.jsonl", "tune")
    sample = [p for p in pairs if p.label][:4] + [p for p in pairs if not p.label][:6]
    judge = LLMJudge(Assistant(Settings()).llm)
    right = sum(judge.supports(p.claim, p.quote) == p.label for p in sample)
    assert right >= 6
