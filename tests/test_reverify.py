"""rag.eval.reverify: re-grading saved answers without the LLM."""

from __future__ import annotations

import json

from rag.eval import reverify
from rag.eval.dataset import load_dataset
from rag.eval.run import run_eval

from .conftest import ROOT


def test_a_run_without_raw_answers_is_refused_with_a_message(tmp_path, capsys):
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"questions": [{"id": "dev-01", "answer": "x", "correct": True}]}))
    assert reverify.main([str(run), "eval/dev.jsonl"]) == 2
    assert "no raw answers" in capsys.readouterr().err


def test_a_missing_results_file_is_a_one_line_error(tmp_path, capsys):
    assert reverify.main([str(tmp_path / "nope.json"), "eval/dev.jsonl"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_replay_grades_the_saved_words_as_rag_eval_did_without_the_llm(make_assistant):
    items = [i for i in load_dataset(ROOT / "eval" / "dev.jsonl") if i.id in ("dev-15", "dev-07")]
    answered = make_assistant("OpenAI perdra environ 5 milliards de dollars cette année [1].")
    first = run_eval(answered, items, progress=False)
    replay = make_assistant("never used")
    again = run_eval(reverify.Replay(replay, reverify.raw_answers(first.to_dict())), items, progress=False)
    assert not replay.llm.calls
    assert [(r.id, r.correct, r.abstained, r.answer) for r in again.questions] == [
        (r.id, r.correct, r.abstained, r.answer) for r in first.questions]
    assert {r.id: r.correct for r in first.questions} == {"dev-07": False, "dev-15": True}


def test_as_shown_grades_the_saved_answers_and_citations_unchanged(make_assistant):
    items = [i for i in load_dataset(ROOT / "eval" / "dev.jsonl") if i.id in ("dev-15", "dev-07")]
    first = run_eval(make_assistant("OpenAI perdra environ 5 milliards de dollars cette année [1]."), items,
                     progress=False)
    replay = make_assistant("never used")
    again = run_eval(reverify.Shown(replay, reverify.shown_answers(first.to_dict())), items, progress=False)
    assert not replay.llm.calls
    key = [(r.id, r.correct, r.abstained, r.answer, r.wrong_but_cited, [c.quote for c in r.citations])
           for r in first.questions]
    assert [(r.id, r.correct, r.abstained, r.answer, r.wrong_but_cited, [c.quote for c in r.citations])
            for r in again.questions] == key
    assert any(r.citations for r in again.questions)


def test_as_shown_needs_answers_in_the_run(tmp_path, capsys):
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"questions": [{"id": "dev-01", "question": "Qui ?"}]}))
    assert reverify.main([str(run), "eval/dev.jsonl", "--as-shown"]) == 2
    assert "holds no answers" in capsys.readouterr().err


def test_replay_shows_an_unsure_short_answer_unconfirmed_as_the_run_did(make_assistant):
    from .test_confidence import ProbableLLM

    items = [i for i in load_dataset(ROOT / "eval" / "dev.jsonl") if i.id == "dev-15"]
    answered = make_assistant()
    answered._llm = ProbableLLM("5 milliards de dollars [1].", [0.4, 0.4, 0.4, 0.4, 0.99])
    first = run_eval(answered, items, progress=False).to_dict()
    assert first["questions"][0]["citations"] and not any(c["supported"] for c in first["questions"][0]["citations"])
    replay = make_assistant("never used")
    again = run_eval(reverify.Replay(replay, reverify.raw_answers(first), reverify.saved_token_probs(first)), items,
                     progress=False).to_dict()
    assert [c["supported"] for c in again["questions"][0]["citations"]] == [
        c["supported"] for c in first["questions"][0]["citations"]]
    assert again["overall"]["wrong_but_cited_rate"] == first["overall"]["wrong_but_cited_rate"]
