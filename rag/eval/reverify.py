"""Re-grade an eval run's answers with the current checks, without the LLM.

``rag eval --json`` keeps each answer's ``raw_answer`` (the model's words before
the checks). With temperature 0 the model says the same again for the same
prompt, so a change to the checks alone (the judge, the meaning checks, the
focus check) can be measured in seconds by re-verifying those words against the
same passages, instead of minutes of generation. A change to retrieval, evidence
or the prompt changes what the model sees: this tool then measures nothing, and
``rag eval`` must be rerun.

    python -m rag.eval.reverify run.json eval/outside/tune.jsonl --index-dir IDX [--changes]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import DatasetError
from rag.eval.dataset import EvalItem, load_dataset
from rag.eval.grading import answer_matches, best_f1, correct


@dataclass(frozen=True)
class Regraded:
    id: str
    lang: str
    answerable: bool
    answer: str | None  # None: abstained
    cited: bool  # shows a supported citation
    correct: bool
    was_correct: bool | None


def grade(item: EvalItem, answer: str | None, cited: bool, was_correct: bool | None = None) -> Regraded:
    """One answer graded as ``rag eval`` grades it (None = abstained).

    >>> from rag.eval.dataset import EvalItem
    >>> item = EvalItem(id="q", lang="en", question="Who?", answers=("Ealy",), gold=(), answerable=True)
    >>> grade(item, "Kony Ealy intercepted it [1].", True).correct, grade(item, None, False).correct
    (True, False)
    """
    if item.answerable:
        ok = answer is not None and correct(answer_matches(answer, item.answers), best_f1(answer, item.answers))
    else:
        ok = answer is None
    return Regraded(item.id, item.lang, item.answerable, answer, cited, ok, was_correct)


def summary(rows: Iterable[Regraded]) -> dict[str, dict[str, float]]:
    """Per language and overall: accuracy and false abstentions over answerable questions,
    wrong-but-cited over answers given to them, abstention on unanswerable ones.

    >>> rows = [Regraded("a", "en", True, "x", True, True, None), Regraded("b", "en", True, "y", True, False, None),
    ...         Regraded("c", "en", True, None, False, False, None), Regraded("d", "en", False, None, False, True, None)]
    >>> summary(rows)["en"]
    {'accuracy': 0.333, 'false_abstention_rate': 0.333, 'wrong_but_cited_rate': 0.5, 'abstention_accuracy': 1.0, 'n_answerable': 3}
    """
    counts: dict[str, Counter[str]] = {}
    for r in rows:
        for key in (r.lang, "overall"):
            c = counts.setdefault(key, Counter())
            if r.answerable:
                c["n"] += 1
                c["correct"] += r.correct
                c["abstained"] += r.answer is None
                c["given"] += r.answer is not None
                c["wbc"] += r.answer is not None and not r.correct and r.cited
            else:
                c["unanswerable"] += 1
                c["abstained_ok"] += r.correct
    out = {}
    for key, c in counts.items():
        n = c["n"] or 1
        out[key] = {
            "accuracy": round(c["correct"] / n, 3),
            "false_abstention_rate": round(c["abstained"] / n, 3),
            "wrong_but_cited_rate": round(c["wbc"] / max(c["given"], 1), 3),
            "abstention_accuracy": round(c["abstained_ok"] / c["unanswerable"], 3) if c["unanswerable"] else None,
            "n_answerable": c["n"],
        }
    return out


def reverify(results: dict[str, Any], items: list[EvalItem], index_dir: str | Path) -> list[Regraded]:
    """Every question of ``results`` re-verified with the current checks (loads the index and embedder)."""
    from rag.assistant import Assistant

    pipeline = Assistant.open(index_dir).pipeline()
    by_id = {i.id: i for i in items}
    rows = []
    for q in results.get("questions", []):
        item = by_id.get(q.get("id"))
        if item is None:
            continue
        raw = q.get("raw_answer") or ""
        prepared = pipeline.prepare(item.question)
        result = pipeline.verified(prepared.answer, raw, prepared.texts) if raw and prepared.messages else None
        cited = bool(result and any(c.supported for c in result.citations))
        rows.append(grade(item, result.answer if result else None, cited, q.get("correct")))
    return rows


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval.reverify", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="JSON written by `rag eval --json` (with raw_answer)")
    parser.add_argument("dataset", help="the QA set of that run")
    parser.add_argument("--index-dir", default="index")
    parser.add_argument("--changes", action="store_true", help="list the questions whose grade changed")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        results = json.loads(Path(args.results).read_text(encoding="utf-8"))
        items = load_dataset(args.dataset)
    except (OSError, ValueError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not any(q.get("raw_answer") for q in results.get("questions", [])):
        print(f"error: {args.results} holds no raw answers: rerun `rag eval --json` with this version", file=sys.stderr)
        return 2
    rows = reverify(results, items, args.index_dir)
    print(json.dumps(summary(rows), indent=2))
    if args.changes:
        for r in rows:
            if r.was_correct is not None and r.correct != r.was_correct:
                print(f"{'gained' if r.correct else 'lost'} {r.id}: {r.answer or '(abstained)'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
