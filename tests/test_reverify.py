"""rag.eval.reverify: re-grading saved answers without the LLM (grading logic is in its doctests)."""

from __future__ import annotations

import json

from rag.eval import reverify


def test_a_run_without_raw_answers_is_refused_with_a_message(tmp_path, capsys):
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"questions": [{"id": "dev-01", "answer": "x", "correct": True}]}))
    assert reverify.main([str(run), "eval/dev.jsonl"]) == 2
    assert "no raw answers" in capsys.readouterr().err


def test_a_missing_results_file_is_a_one_line_error(tmp_path, capsys):
    assert reverify.main([str(tmp_path / "nope.json"), "eval/dev.jsonl"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1


def test_regrading_counts_a_wrong_cited_answer_and_an_abstention():
    from rag.eval.dataset import EvalItem

    item = EvalItem(id="q", lang="fr", question="Combien ?", answers=("16 millions",), gold=(), answerable=True)
    rows = [reverify.grade(item, "Microsoft a investi 20 millions [1].", True),
            reverify.grade(item, None, False)]
    s = reverify.summary(rows)["fr"]
    assert s["accuracy"] == 0.0 and s["wrong_but_cited_rate"] == 1.0 and s["false_abstention_rate"] == 0.5
