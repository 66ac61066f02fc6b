"""QA round 32: defects a tester found in `rag check`, `rag ask` and the answer record,
each pinned by a test that failed before its fix (fakes only, no model)."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

import pytest

import rag.assistant
from rag import cli
from rag.answer.pipeline import clean_question
from rag.check import check, read_records
from rag.errors import RagError
from tests.conftest import FakeEmbedder, FakeLLM
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


@pytest.fixture
def run_cli(monkeypatch, capsys, seeds_copy, tmp_path):
    """``rag …`` in-process over a copy of the seeds with the fake embedder and ``llm``
    (default: the grounded fake; None: the assistant's own, patched by the test):
    returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(rag.assistant, "SentenceTransformerEmbedder", lambda *a, **k: FakeEmbedder())
    flags = ["--index-dir", str(tmp_path / "cli-index"), "--docs-dir", str(seeds_copy)]
    default = FakeLLM(first_passage_reply)

    def run(*argv: str, llm: FakeLLM | None = default) -> tuple[int, str, str]:
        if llm is not None:
            monkeypatch.setattr(rag.assistant.Assistant, "llm", llm)
        code = cli.main([*argv, *flags])
        out, err = capsys.readouterr()
        return code, out, err

    return run


# ---------- 1. rag check: a marker with no citation behind it fails; JSON errors on their line ----------

def test_check_fails_a_marker_without_citation(assistant, record):
    bad = copy.deepcopy(record)
    bad["answer"] = record["answer"] + " Mistral vaut 100 milliards [2]."
    report = check([bad], assistant=assistant)
    assert not report.ok and report.failures() == {"missing_citation": 1}
    missing = [c for c in report.checks if c.failures][0]
    assert missing.marker == 2 and missing.sentence == "Mistral vaut 100 milliards." and missing.doc_id == ""
    *_, row, totals = report.table().splitlines()
    assert "[2]" in row and "missing_citation" in row
    assert totals.startswith("1 citation(s) and 1 marker(s) with no citation in 1 record(s): 1 ok, 1 failed")
    assert report.to_dict()["citations"] == 1


def test_check_fails_markers_of_a_record_without_citations(assistant, record):
    bad = {**copy.deepcopy(record), "citations": []}
    report = check([bad], assistant=assistant)
    assert report.failures() == {"missing_citation": 1} and not report.ok
    # An abstention has no marker and no citation: nothing to fail.
    abstention = {**bad, "answer": "Les articles ne le disent pas.", "abstained": True}
    assert check([abstention], assistant=assistant).ok


def test_cli_check_exits_1_on_a_dangling_marker(assistant, record, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(rag.assistant, "SentenceTransformerEmbedder", lambda *a, **k: assistant.embedder)
    bad = copy.deepcopy(record)
    bad["answer"] += " Mistral vaut 100 milliards [2]."
    path = tmp_path / "answers.jsonl"
    path.write_text(json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8")
    assert cli.main(["check", str(path), "--index-dir", assistant.settings.index_dir]) == 1
    out = capsys.readouterr().out
    assert re.search(r"\[2\]\s+-\s+missing_citation", out) and "1 failed" in out


def test_check_names_the_line_of_a_json_error(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text('{"answer": "x", "citations": []\n{"answer": "y"}\n', encoding="utf-8")  # line 1 unclosed
    with pytest.raises(RagError, match=r"not JSON at line 1, column 32"):
        read_records(path)
    path.write_text('{"answer": "x"}\nnope\n', encoding="utf-8")
    with pytest.raises(RagError, match=r"not JSON at line 2, column 1"):
        read_records(path)
    path.write_text('{"answer": "x"}\n{"answer": \n', encoding="utf-8")  # cut short at the end of the file
    with pytest.raises(RagError, match=r"not JSON at line 2, column 11"):
        read_records(path)


# ---------- 2. a citation's chunk_id names the chunk that holds its quote ----------

def _chunk_span(chunk_id: str) -> tuple[int, int]:
    start, end = chunk_id.rsplit(":", 1)[1].split("-")
    return int(start), int(end)


def test_citation_chunk_id_holds_its_quote(assistant):
    """A passage merged from adjacent chunks carries its best-ranked chunk's id: with the
    fakes, passage [1] of this question spans chunks 903-1292 and 1192-1654 of article 004
    and was named 1192-1654, and so was the citation of its first sentence, at 903."""
    answer = assistant.ask(QUESTION)
    assert any(p.start < _chunk_span(p.chunk_id)[0] for p in answer.passages)  # a merged passage
    assert answer.citations
    for c in answer.citations:
        start, end = _chunk_span(c.chunk_id)
        assert c.chunk_id.startswith(c.doc_id + ":") and start <= c.start < end, c
        assert assistant.document_text(c.doc_id)[c.start:c.end] == c.quote  # offsets untouched


# ---------- 3. date filters: an empty range says so; an inverted one is refused ----------

def test_a_range_with_no_article_says_so(assistant):
    answer = assistant.ask(QUESTION, since="2025")
    assert answer.abstained and answer.passages == []
    assert answer.notices == [
        "Aucun article indexé n'est daté à partir du 2025-01-01 (5 article(s) daté(s) hors de cette période)."]
    english = assistant.ask("How much will OpenAI lose this year?", since="2025")
    assert english.notices == ["No indexed article is dated from 2025-01-01 (5 dated article(s) outside it)."]


def test_cli_range_with_no_article(run_cli):
    code, out, _ = run_cli("ask", QUESTION, "--since", "2025")
    assert code == 0 and "Closest passages" not in out
    assert "note: Aucun article indexé n'est daté à partir du 2025-01-01" in out


def test_inverted_range_is_refused(assistant, run_cli):
    with pytest.raises(RagError, match="since 2025 is after until 2023"):
        assistant.ask(QUESTION, since="2025", until="2023")
    with pytest.raises(RagError, match="range is empty"):
        assistant.events(QUESTION, since="2024-06", until="2024-03")  # at the call, before any event
    code, out, err = run_cli("ask", QUESTION, "--since", "2025", "--until", "2023")
    assert code == 2 and out == ""
    assert err == "error: Article dates: the range is empty: since 2025 is after until 2023.\n"


# ---------- 4. terminal escape sequences are removed whole ----------

@pytest.mark.parametrize("raw", [
    "Combien OpenAI\x1b[31m devrait-elle perdre cette année ?",        # CSI colour
    "Combien OpenAI\x1b[1;38;5;196m devrait-elle perdre\x1b[0m cette année ?",
    "Combien OpenAI\x9b31m devrait-elle perdre cette année ?",          # 8-bit CSI
    "\x1b]0;titre\x07Combien OpenAI devrait-elle perdre cette année ?",  # OSC ended by BEL
    "\x1b]8;;http://x.y\x1b\\Combien OpenAI\x1b]8;;\x1b\\ devrait-elle perdre cette année ?",  # OSC ended by ST
    "Combien OpenAI devrait-elle\x1b[2K perdre cette année ?\x1b[?25h",
])
def test_escape_sequences_are_removed_whole(raw):
    assert clean_question(raw, 500) == (QUESTION, False)


def test_a_coloured_question_is_answered(assistant):
    answer = assistant.ask("Combien OpenAI\x1b[31m devrait-elle perdre cette année ?")
    assert answer.question == QUESTION and not answer.abstained


# ---------- 5. a question of punctuation only is empty, in the API and the CLI ----------

@pytest.mark.parametrize("question", ["   ?  ", "?!", " … ", "\x1b[31m ? \x1b[0m"])
def test_punctuation_only_is_empty(assistant, run_cli, question):
    with pytest.raises(RagError, match="The question is empty"):
        assistant.ask(question)
    code, out, err = run_cli("ask", question)
    assert code == 2 and out == "" and err.startswith("error: The question is empty")


# ---------- 6. closest passages, best score first ----------

def test_closest_passages_are_sorted_by_score(make_assistant, run_cli):
    a = make_assistant("NOT_IN_ARTICLES")
    answer = a.ask(QUESTION)
    assert answer.abstained and len(answer.passages) > 2
    scores = [p.score for p in answer.passages]
    assert scores == sorted(scores, reverse=True)
    for e in answer.evidence:  # the sentences the model read still point at their passage
        p = answer.passages[e.passage - 1]
        assert p.doc_id == e.doc_id and p.start <= e.start and e.end <= p.end
    record = answer.to_dict()
    assert [p["score"] for p in record["passages"]] == scores

    from rag.display import answer_to_markdown

    shown = [float(s) for s in re.findall(r"score (\d\.\d\d)", answer_to_markdown(answer))]
    assert shown == sorted(shown, reverse=True) and len(shown) == 3


def test_cli_lists_closest_passages_best_first(run_cli):
    code, out, _ = run_cli("ask", QUESTION, llm=FakeLLM("NOT_IN_ARTICLES"))
    assert code == 0 and "Closest passages:" in out
    shown = [float(s) for s in re.findall(r"^  - \S+ \((\d\.\d\d)\)", out, re.M)]
    assert len(shown) == 3 and shown == sorted(shown, reverse=True)


def test_cli_sources_show_their_date_and_whole_words(run_cli):
    code, out, _ = run_cli("ask", QUESTION, llm=FakeLLM(first_passage_reply))
    sources = re.findall(r"^  \[\d+\] (.*) — (\S+) \[\d+:\d+\]", out, re.M)
    assert code == 0 and sources, out
    for title, _doc in sources:
        assert re.search(r"\(.*\d{4}(-\d\d)*\)$", title), title  # the article's date, as on the web page
        name = title.rsplit(" (", 1)[0]
        assert len(name) <= 60 or name.endswith(" …"), name  # cut between words, and said so


# ---------- 7. the model load is not counted in the time to first token ----------

class SlowLoadingLLM(FakeLLM):
    """A local model whose load (``llama``) takes ``LOAD_S`` seconds, like llama.cpp's."""

    LOAD_S = 0.4

    def __init__(self, path, **kwargs) -> None:
        super().__init__(first_passage_reply)
        self._llama = None

    @property
    def llama(self):
        if self._llama is None:
            time.sleep(self.LOAD_S)
            self._llama = object()
        return self._llama


@pytest.fixture
def slow_model(monkeypatch):
    monkeypatch.setattr(rag.assistant, "LlamaCppLLM", SlowLoadingLLM)
    monkeypatch.setattr("rag.answer.models.resolve_model", lambda model, cache: Path("fake.gguf"))


def test_time_to_first_token_leaves_out_the_model_load(slow_model, seeds_copy, tmp_path, fake_embedder):
    from rag.settings import Settings

    a = rag.assistant.Assistant(Settings(index_dir=str(tmp_path / "idx"), docs_dir=str(seeds_copy)),
                                embedder=fake_embedder)
    a.data  # noqa: B018 -- the index is built before timing anything
    first = a.ask(QUESTION)
    assert not first.abstained and 0 < first.timings.ttft_ms < SlowLoadingLLM.LOAD_S * 1000
    assert first.timings.total_ms < SlowLoadingLLM.LOAD_S * 1000
    assert a.model_load_s >= SlowLoadingLLM.LOAD_S  # reported on its own
    second = a.ask(QUESTION)  # loaded once: nothing more to leave out
    assert second.timings.ttft_ms < SlowLoadingLLM.LOAD_S * 1000


def test_cli_reports_the_model_load_on_its_own(slow_model, run_cli):
    code, out, _ = run_cli("ask", QUESTION, llm=None)
    assert code == 0
    line = out.strip().splitlines()[-1]
    m = re.search(r"\(model loaded in (\d+\.\d) s; (\d+\.\d) s to first token", line)
    assert m, line
    assert float(m.group(1)) >= SlowLoadingLLM.LOAD_S - 0.05 and float(m.group(2)) < SlowLoadingLLM.LOAD_S
