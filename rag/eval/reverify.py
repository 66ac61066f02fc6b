"""Re-grade an eval run's answers with the current checks, without the LLM.

``rag eval --json`` keeps each answer's ``raw_answer`` (the model's words before
the checks). With temperature 0 the model says the same again for the same
prompt, so a change to the checks alone (the judge, the meaning checks, the
focus check) can be measured in seconds by re-verifying those words against the
same passages, instead of minutes of generation. A change to retrieval, evidence
or the prompt changes what the model sees: this tool then measures nothing, and
``rag eval`` must be rerun.

The run is replayed through :func:`rag.eval.run.run_eval` with an assistant
whose answers are the saved words re-verified, so every figure is computed
exactly as ``rag eval`` computes it (timings excepted: nothing is generated, they read 0).

    python -m rag.eval.reverify run.json eval/outside/tune.jsonl --index-dir IDX [--changes]

With ``--as-shown`` the run's final answers and citations are graded as they were
shown, without re-verifying anything: today's metrics (accuracy with token F1,
gold-span citation precision, wrong-but-cited) applied to a run made by an older
version of the project, whose ``rag eval --json`` kept those but not the raw words.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import DatasetError, RagError
from rag.eval.dataset import load_dataset

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.records import Answer, Passage


class _SavedRun:
    """An assistant for :func:`~rag.eval.run.run_eval` whose answers come from a saved run;
    retrieval and documents are the index's."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def retrieve(self, question: str, *, k: int | None = None) -> list[Passage]:
        return self.assistant.retrieve(question, k=k)

    def document_text(self, doc_id: str) -> str:
        return self.assistant.document_text(doc_id)


class Replay(_SavedRun):
    """Answers each question with its saved raw answer, verified by the current checks."""

    def __init__(self, assistant: Assistant, raw_answers: Mapping[str, str],
                 token_probs: Mapping[str, list[tuple[str, float]]] | None = None) -> None:
        super().__init__(assistant)
        self.raw_answers = raw_answers
        self.token_probs = token_probs or {}

    def ask(self, question: str, *, k: int | None = None) -> Answer:
        pipeline = self.assistant.pipeline()
        prepared = pipeline.prepare(question, k=k)
        raw = self.raw_answers.get(question, "")
        result = pipeline.verified(prepared.answer, raw, prepared.texts) if raw and prepared.messages else None
        answer = prepared.answer
        answer.raw_answer = raw
        # The saved run's token probabilities: confidence_auc, and the unsure flag, as in the run.
        answer.token_probs = self.token_probs.get(question)
        return pipeline.complete(answer, pipeline.flag_unsure(answer, result))


class Shown(_SavedRun):
    """Answers each question with the final answer and citations a saved run showed, unchanged."""

    def __init__(self, assistant: Assistant, shown: Mapping[str, Mapping[str, Any]]) -> None:
        super().__init__(assistant)
        self.shown = shown

    def ask(self, question: str, *, k: int | None = None) -> Answer:
        from rag.records import Answer, Citation

        saved = self.shown.get(question)
        if saved is None:
            raise DatasetError(f"the saved run has no answer for {question!r}")
        fields = Citation.__dataclass_fields__
        citations = [Citation(**{f: c[f] for f in fields if f in c}) for c in saved.get("citations") or []]
        return Answer(question=question, answer=saved.get("answer") or "", language=saved.get("lang") or "",
                      abstained=bool(saved.get("abstained")), citations=citations)


def shown_answers(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Question text -> the saved record of what was shown, for the questions that were answered.

    >>> sorted(shown_answers({"questions": [{"question": "Qui ?", "answer": "Paul [1]."}, {"question": "Où ?"}]}))
    ['Qui ?']
    """
    return {q["question"]: q for q in results.get("questions", []) if q.get("answer") is not None}


def raw_answers(results: Mapping[str, Any]) -> dict[str, str]:
    """Question text -> the model's raw answer, from a ``rag eval --json`` file.

    >>> raw_answers({"questions": [{"question": "Qui ?", "raw_answer": "Paul [1]."}, {"question": "Où ?"}]})
    {'Qui ?': 'Paul [1].'}
    """
    return {q["question"]: q["raw_answer"] for q in results.get("questions", []) if q.get("raw_answer")}


def saved_token_probs(results: Mapping[str, Any]) -> dict[str, list[tuple[str, float]]]:
    """Question text -> the token probabilities of its raw answer, from a ``rag eval --json`` file.

    >>> saved_token_probs({"questions": [{"question": "Qui ?", "token_probs": [["Paul", 0.9]]}, {"question": "Où ?"}]})
    {'Qui ?': [('Paul', 0.9)]}
    """
    return {q["question"]: [(t, p) for t, p in q["token_probs"]]
            for q in results.get("questions", []) if q.get("token_probs")}


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval.reverify", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="JSON written by `rag eval --json` (with raw_answer)")
    parser.add_argument("dataset", help="the QA set of that run")
    parser.add_argument("--index-dir", default="index")
    parser.add_argument("--changes", action="store_true", help="list the questions whose grade changed")
    parser.add_argument("--as-shown", action="store_true",
                        help="grade the saved final answers and citations as they are (a run by an older version)")
    parser.add_argument("--json", dest="json_path", help="write the re-graded run here, as `rag eval --json` does")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        results = json.loads(Path(args.results).read_text(encoding="utf-8"))
        items = load_dataset(args.dataset)
    except (OSError, ValueError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    saved: Mapping[str, Any] = shown_answers(results) if args.as_shown else raw_answers(results)
    if not saved:
        missing = "answers" if args.as_shown else "raw answers: rerun `rag eval --json` with this version"
        print(f"error: {args.results} holds no {missing}", file=sys.stderr)
        return 2
    from rag.assistant import Assistant
    from rag.eval.report import format_table, write_json
    from rag.eval.run import run_eval

    try:
        assistant = Assistant.open(args.index_dir)
        result = run_eval(Shown(assistant, saved) if args.as_shown else Replay(assistant, saved, saved_token_probs(results)), items)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(result))
    if args.json_path:
        write_json(result, args.json_path)
    if args.changes:
        before = {q.get("id"): q.get("correct") for q in results.get("questions", [])}
        for row in result.questions:
            if before.get(row.id) is not None and row.correct != before[row.id]:
                print(f"{'gained' if row.correct else 'lost'} {row.id}: {row.answer}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
