"""Support-judge quality on labelled (claim, quote) pairs: ``eval/judge/pairs.jsonl``.

Each line has ``claim``, ``quote``, ``label`` (does the quote support the
claim), ``kind`` (``exact``, ``number_swap``, ``instruction``...), ``split``
(``tune`` or ``check``) and the languages of claim and quote. Thresholds are
set on ``tune`` only; ``check`` is reported, never tuned on
(``eval/judge/README.md``).

    python -m rag.eval.judge_pairs eval/judge/pairs.jsonl --split tune
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.answer.judge import LexicalJudge, SupportJudge
from rag.errors import DatasetError

__all__ = ["JudgePair", "PairScore", "evaluate_pairs", "load_pairs", "main", "score_verdicts"]


@dataclass(frozen=True)
class JudgePair:
    """One labelled (claim, quote) pair."""

    id: str
    split: str
    claim: str
    quote: str
    label: bool
    kind: str
    claim_lang: str
    quote_lang: str

    @property
    def crosslingual(self) -> bool:
        return self.claim_lang != self.quote_lang

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class PairScore:
    """Confusion counts of a judge on a group of pairs ("supported" is the positive class)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)

    @property
    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.n if self.n else None

    def add(self, label: bool, verdict: bool) -> PairScore:
        """This score with one more (label, verdict).

        >>> s = PairScore().add(True, True).add(False, True).add(True, False)
        >>> (s.tp, s.fp, s.fn, s.precision, s.recall)
        (1, 1, 1, 0.5, 0.5)
        """
        return PairScore(self.tp + (label and verdict), self.fp + (not label and verdict),
                         self.fn + (label and not verdict), self.tn + (not label and not verdict))

    def to_dict(self) -> dict[str, object]:
        return {"n": self.n, "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "precision": self.precision, "recall": self.recall, "f1": self.f1, "accuracy": self.accuracy}


def load_pairs(path: str | Path, split: str | None = None) -> list[JudgePair]:
    """Pairs of ``path`` (JSONL), only those of ``split`` when given."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such pair file (expected eval/judge/pairs.jsonl)")
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            pair = JudgePair(str(d["id"]), str(d["split"]), str(d["claim"]), str(d["quote"]), bool(d["label"]),
                             str(d["kind"]), str(d["claim_lang"]), str(d["quote_lang"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{n}: not a judge pair ({exc}); see eval/judge/README.md") from exc
        if split is None or pair.split == split:
            pairs.append(pair)
    return pairs


def score_verdicts(pairs: Sequence[JudgePair], verdicts: Sequence[bool]) -> dict[str, PairScore]:
    """Confusion counts overall (``all``), per kind (``kind:...``) and for cross-lingual pairs.

    >>> p = [JudgePair("a", "tune", "c", "q", True, "exact", "en", "en"),
    ...      JudgePair("b", "tune", "c", "q", False, "negation", "en", "fr")]
    >>> s = score_verdicts(p, [True, True])
    >>> s["all"].precision, s["crosslingual"].fp, s["kind:negation"].accuracy
    (0.5, 1, 0.0)
    """
    if len(pairs) != len(verdicts):
        raise ValueError(f"{len(pairs)} pairs but {len(verdicts)} verdicts")
    scores: dict[str, PairScore] = {"all": PairScore(), "crosslingual": PairScore(), "monolingual": PairScore()}
    for pair, verdict in zip(pairs, verdicts):
        for key in ("all", f"kind:{pair.kind}", "crosslingual" if pair.crosslingual else "monolingual"):
            scores[key] = scores.get(key, PairScore()).add(pair.label, verdict)
    return scores


def evaluate_pairs(pairs: Sequence[JudgePair], judge: SupportJudge | None = None,
                   ) -> tuple[dict[str, PairScore], list[bool], float]:
    """Run ``judge`` (default :class:`LexicalJudge`) on ``pairs``.

    Returns the scores of :func:`score_verdicts`, the verdicts in order and the
    mean time per pair in microseconds (each pair judged once, after one
    warm-up pair that loads the stemmers).
    """
    judge = judge or LexicalJudge()
    # Load the stemmers and the language identifier first: a one-off cost, not a per-pair one.
    judge.supports("Zorglub a levé 12 millions d'euros en 2021.", "Zorglub raised 12 million euros in 2021.")
    start = time.perf_counter()
    verdicts = [judge.supports(p.claim, p.quote) for p in pairs]
    micros = (time.perf_counter() - start) * 1e6 / max(1, len(pairs))
    return score_verdicts(pairs, verdicts), verdicts, micros


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def format_scores(scores: dict[str, PairScore], micros: float) -> str:
    """A plain-text table: one row per group, precision/recall/F1/accuracy."""
    order = ["all", "monolingual", "crosslingual", *sorted(k for k in scores if k.startswith("kind:"))]
    lines = [f"{'group':<22} {'n':>4} {'prec':>6} {'rec':>6} {'F1':>6} {'acc':>6}  tp  fp  fn  tn"]
    for key in order:
        s = scores.get(key)
        if s is None or not s.n:
            continue
        lines.append(f"{key:<22} {s.n:>4} {_fmt(s.precision):>6} {_fmt(s.recall):>6} {_fmt(s.f1):>6} "
                     f"{_fmt(s.accuracy):>6} {s.tp:>3} {s.fp:>3} {s.fn:>3} {s.tn:>3}")
    lines.append(f"cost: {micros:.0f} µs per pair")
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval.judge_pairs",
                                     description="Precision/recall of the support judge on labelled pairs.")
    parser.add_argument("path", nargs="?", default="eval/judge/pairs.jsonl")
    parser.add_argument("--split", choices=["tune", "check", "all"], default="tune")
    parser.add_argument("--errors", action="store_true", help="list the misjudged pairs with the judge's reason")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        pairs = load_pairs(args.path, None if args.split == "all" else args.split)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    judge = LexicalJudge()
    scores, verdicts, micros = evaluate_pairs(pairs, judge)
    if args.json:
        print(json.dumps({"split": args.split, "us_per_pair": micros,
                          "scores": {k: v.to_dict() for k, v in scores.items()}}, indent=2))
    else:
        print(f"split {args.split}: {len(pairs)} pairs")
        print(format_scores(scores, micros))
    if args.errors:
        explain = getattr(judge, "explain", None)
        for pair, verdict in zip(pairs, verdicts):
            if verdict != pair.label:
                why = explain(pair.claim, pair.quote) if explain else None
                print(f"\n{pair.id} {pair.kind} label={pair.label} score={judge.score(pair.claim, pair.quote):.2f}"
                      f" reason={why}\n  C: {pair.claim}\n  Q: {pair.quote}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
