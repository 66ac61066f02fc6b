"""`rag check` / `rag.check`: each kind of broken citation is caught and named."""

from __future__ import annotations

import copy
import json

import pytest

import rag
from rag import cli
from rag.check import check, read_records
from tests.fakes import first_passage_reply

QUESTION = "Combien OpenAI devrait-elle perdre cette année ?"


@pytest.fixture
def assistant(make_assistant):
    return make_assistant(first_passage_reply)


@pytest.fixture
def record(assistant):
    answer = assistant.ask(QUESTION)
    assert answer.citations and not answer.abstained
    return answer.to_dict()


def _failures(assistant, record):
    report = check([record], assistant=assistant)
    return [c.failures for c in report.checks]


def test_a_fresh_answer_passes(assistant, record):
    report = rag.check([record], assistant=assistant)
    assert report.ok and report.failures() == {} and len(report.checks) == len(record["citations"])
    assert all(c.get("doc_sha256") for c in record["citations"])


def test_altered_quote(assistant, record):
    bad = copy.deepcopy(record)
    c = bad["citations"][0]
    c["quote"] = c["quote"].replace(c["quote"].split()[0], "Zorglub", 1)
    assert "altered_quote" in _failures(assistant, bad)[0]


def test_shifted_span(assistant, record):
    bad = copy.deepcopy(record)
    bad["citations"][0]["start"] += 3
    bad["citations"][0]["end"] += 3
    failures = check([bad], assistant=assistant).checks[0]
    assert failures.failures == ["shifted_span"] and "quote found at" in failures.notes[0]


def test_document_changed(assistant, record, seeds_copy):
    doc_id = record["citations"][0]["doc_id"]
    path = seeds_copy / doc_id
    path.write_text(path.read_text(encoding="utf-8") + "\n\nUn paragraphe ajouté après la réponse.\n",
                    encoding="utf-8")
    assistant.reindex(seeds_copy, progress=False)
    assert _failures(assistant, record)[0] == ["document_changed"]  # the quote is still there, same place


def test_unsupported_sentence(assistant, record):
    bad = copy.deepcopy(record)
    bad["answer"] = "Le Japon a gagné la Coupe du monde de rugby en 1987 [1]."
    assert _failures(assistant, bad)[0] == ["unsupported"]


def test_unknown_document(assistant, record):
    bad = copy.deepcopy(record)
    bad["citations"][0]["doc_id"] = "999_nowhere.txt"
    assert _failures(assistant, bad)[0] == ["unknown_document"]


def test_cli_json_table_and_exit_code(assistant, record, tmp_path, capsys):
    bad = copy.deepcopy(record)
    bad["citations"][0]["start"] += 3
    bad["citations"][0]["end"] += 3
    good_file, bad_file = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good_file.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    # An /ask error record and an indented `rag ask --json` object are read as well.
    bad_file.write_text(json.dumps({"error": "x"}) + "\n" + json.dumps(bad, indent=1), encoding="utf-8")
    assert len(read_records(bad_file)) == 2
    flags = ["--index-dir", assistant.settings.index_dir]
    import rag.assistant

    original = rag.assistant.SentenceTransformerEmbedder
    rag.assistant.SentenceTransformerEmbedder = lambda *a, **k: assistant.embedder
    try:
        assert cli.main(["check", str(good_file), *flags]) == 0
        assert "0 failed" in capsys.readouterr().out
        assert cli.main(["check", str(bad_file), "--json", *flags]) == 1
        out = json.loads(capsys.readouterr().out)
        assert out["failures"] == {"shifted_span": 1} and out["skipped"]
        assert cli.main(["check", str(good_file), "--judge", "llm", *flags]) in (0, 2)  # 2: no LLM judge yet
    finally:
        rag.assistant.SentenceTransformerEmbedder = original


def test_llm_judge_uses_the_entailment_module(assistant, record):
    entail = pytest.importorskip("rag.answer.entail", reason="rag/answer/entail.py is not there yet")

    class YesLLM:
        name = "yes"

        def __init__(self, p: float) -> None:
            self.p = p

        def yes_probability(self, messages) -> float:
            return self.p

    assert entail.LLMJudge(YesLLM(0.9)).supports("a", "b")
    assistant._llm = YesLLM(0.9)
    assert check([record], assistant=assistant, judge="llm").ok
    assistant._llm = YesLLM(0.1)
    report = check([record], assistant=assistant, judge="llm")
    assert report.failures() == {"unsupported": 1} and report.judge == "llm"
