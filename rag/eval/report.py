"""Writers for evaluation results: terminal table, JSON, Markdown and a PNG chart.

Every writer takes an :class:`rag.eval.metrics.EvalResult` or its ``to_dict()``
form, so a saved JSON report can be rendered again without re-running.
"""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.eval.run import EvalResult

LOG = logging.getLogger(__name__)

SCOPES = ("overall", "fr", "en")

# (label, key path in a metrics dict, kind) in display order.
TABLE_ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("recall@1", ("retrieval", "recall@1"), "ratio"),
    ("recall@3", ("retrieval", "recall@3"), "ratio"),
    ("recall@5", ("retrieval", "recall@5"), "ratio"),
    ("recall@10", ("retrieval", "recall@10"), "ratio"),
    ("MRR@10", ("retrieval", "mrr@10"), "ratio"),
    ("gold in the model's evidence", ("retrieval", "gold_in_evidence"), "ratio"),
    ("accuracy (contains or F1>=0.5)", ("accuracy",), "ratio"),
    ("answer accuracy (contains)", ("answer_accuracy",), "ratio"),
    ("answer F1", ("answer_f1",), "ratio"),
    ("fact recall (overview questions)", ("fact_recall",), "ratio"),
    ("abstention accuracy", ("abstention_accuracy",), "ratio"),
    ("false abstention rate", ("false_abstention_rate",), "ratio"),
    ("wrong but cited rate", ("wrong_but_cited_rate",), "ratio"),
    ("wrong answers given, cited or not", ("wrong_given_rate",), "ratio"),
    ("answers shown unconfirmed", ("unconfirmed_rate",), "ratio"),
    ("model accuracy before checks", ("raw_accuracy",), "ratio"),
    ("checks keep right raw answers", ("checks_keep_right",), "ratio"),
    ("checks keep wrong raw answers", ("checks_keep_wrong",), "ratio"),
    ("model confidence AUC, right vs wrong", ("confidence_auc",), "ratio"),
    ("gold citation precision", ("gold_citation_precision",), "ratio"),
    ("gold citation recall", ("gold_citation_recall",), "ratio"),
    ("citation precision[{judge}]", ("citation_precision[{judge}]",), "ratio"),
    ("citation recall[{judge}]", ("citation_recall[{judge}]",), "ratio"),
    ("language match", ("language_match",), "ratio"),
    ("degenerate rate", ("degenerate_rate",), "ratio"),
    ("TTFT p50 (ms)", ("ttft_ms_p50",), "ms"),
    ("TTFT p95 (ms)", ("ttft_ms_p95",), "ms"),
    ("total p50 (ms)", ("total_ms_p50",), "ms"),
    ("total p95 (ms)", ("total_ms_p95",), "ms"),
    ("prompt tokens (mean)", ("prompt_tokens_mean",), "count"),
    ("questions", ("n_questions",), "count"),
)

# Bars of the chart: (label, key path); the retrieval-only chart keeps the first two.
CHART_METRICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("recall@5", ("retrieval", "recall@5")),
    ("MRR@10", ("retrieval", "mrr@10")),
    ("accuracy", ("accuracy",)),
    ("gold citation precision", ("gold_citation_precision",)),
    ("gold citation recall", ("gold_citation_recall",)),
    ("language match", ("language_match",)),
)


def _as_dict(result: EvalResult | Mapping[str, Any]) -> Mapping[str, Any]:
    return result if isinstance(result, Mapping) else result.to_dict()


def _scopes(d: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    by_lang = d.get("by_language", {})
    return {"overall": d["overall"], **{s: by_lang.get(s, {}) for s in SCOPES[1:]}}


def _get(metrics: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = metrics
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def format_value(value: Any, kind: str = "ratio") -> str:
    """Display form of one metric value.

    >>> format_value(0.66666), format_value(1234.56, "ms"), format_value(None), format_value(12.0, "count")
    ('0.667', '1235', '-', '12')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "ms":
        return f"{value:.0f}"
    if kind == "count":
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{value:.3f}"


def _table_rows(d: Mapping[str, Any]) -> list[list[str]]:
    scopes = _scopes(d)
    settings = d.get("settings", {})
    retrieval_only = bool(settings.get("retrieval_only"))
    judge = settings.get("judge") or "-"
    rows = []
    for label, path, kind in TABLE_ROWS:
        if retrieval_only and path[0] not in ("retrieval", "n_questions"):
            continue
        # Judge-made figures carry the judge's name (citation_precision[lexical]).
        label, path = label.format(judge=judge), tuple(p.format(judge=judge) for p in path)
        rows.append([label] + [format_value(_get(scopes[s], path), kind) for s in SCOPES])
    return rows


def format_table(result: EvalResult | Mapping[str, Any]) -> str:
    """A plain-text table: one row per metric, columns overall / fr / en."""
    return text_table(["metric", *SCOPES], _table_rows(_as_dict(result)))


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, right_align: bool = True) -> str:
    """Columns padded to their widest cell, a rule under the header; the first
    column left-aligned, the others right-aligned (or all left, lines stripped).

    >>> print(text_table(["metric", "fr"], [["recall", "0.9"], ["n", "12"]]))
    metric   fr
    ------  ---
    recall  0.9
    n        12
    """
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        if not right_align:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        first = cells[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def write_json(result: EvalResult | Mapping[str, Any], path: str | Path) -> Path:
    """Write the full result (metrics and per-question rows) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_as_dict(result), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    LOG.info("wrote %s", path)
    return path


def md_cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: no pipes, newlines or raw HTML.

    >>> md_cell("a | b\\n<c>")
    'a \\\\| b<br>&lt;c&gt;'
    """
    if text is None:
        return ""
    text = html.escape(str(text), quote=False).replace("|", "\\|")
    return "<br>".join(part.strip() for part in text.replace("\r\n", "\n").split("\n"))


def _citation_line(c: Mapping[str, Any]) -> str:
    return f'[{c.get("marker")}] {c.get("doc_id")}: "{c.get("quote", "")}"'


def write_markdown(result: EvalResult | Mapping[str, Any], path: str | Path) -> Path:
    """Write a summary table and one readable row per question."""
    d = _as_dict(result)
    settings = d.get("settings", {})
    out = ["# Evaluation report", ""]
    mode = "retrieval only" if settings.get("retrieval_only") else "retrieval and answers"
    # Retrieval metrics read the top k; answers are made from answer_k passages, which a reader
    # of the report must not take for the same number.
    answered = "" if settings.get("retrieval_only") else f"; answers from {settings.get('answer_k') or '-'} passages"
    out.append(f"Mode: {mode}; recall over the top {settings.get('k', '-')}{answered}; "
               f"judge: {settings.get('judge') or '-'}.")
    if not settings.get("retrieval_only"):
        out += ["", "Gold citation precision/recall check citations against the QA set's gold quotes; "
                f"citation precision/recall[{settings.get('judge') or '-'}] are that judge's verdicts "
                "(the lexical judge is the one the pipeline cites with). Accuracy counts an answer right "
                "when it contains a gold answer or its token F1 reaches 0.5."]
    out += ["", "## Summary", "", "| metric | " + " | ".join(SCOPES) + " |",
            "|---|" + "---:|" * len(SCOPES)]
    out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in _table_rows(d)]
    out += ["", "## Questions", "",
            "| id | lang | question | answer | citations | first hit | result | reasons |",
            "|---|---|---|---|---|---:|---|---|"]
    for q in d.get("questions", []):
        citations = "\n".join(_citation_line(c) for c in q.get("citations", []))
        answer = q.get("answer")
        if q.get("abstained"):
            answer = f"(abstained) {answer}"
        verdict = {True: "pass", False: "fail", None: "-"}[q.get("correct")]
        cells = [q.get("id"), q.get("lang"), q.get("question"), answer, citations,
                 q.get("first_hit_rank") if q.get("first_hit_rank") is not None else "-",
                 verdict, "\n".join(q.get("reasons", []))]
        out.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    LOG.info("wrote %s", path)
    return path


def write_chart(result: EvalResult | Mapping[str, Any], path: str | Path) -> Path:
    """Grouped bars (overall, fr, en) per metric, saved as PNG."""
    try:
        # The Agg canvas directly, not pyplot: no global backend switch, no GUI.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        from rag.errors import DependencyError

        raise DependencyError("charts need matplotlib: pip install matplotlib") from e
    d = _as_dict(result)
    scopes = _scopes(d)
    metrics = CHART_METRICS[:2] if d.get("settings", {}).get("retrieval_only") else CHART_METRICS
    width = 0.8 / len(SCOPES)
    fig = Figure(figsize=(max(6.0, 1.6 * len(metrics)), 4.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, scope in enumerate(SCOPES):
        values = [_get(scopes[scope], p) for _, p in metrics]
        xs = [j + (i - (len(SCOPES) - 1) / 2) * width for j in range(len(metrics))]
        bars = ax.bar(xs, [v if v is not None else 0.0 for v in values], width, label=scope)
        labels = ["n/a" if v is None else f"{v:.2f}" for v in values]
        ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
    ax.set_xticks(range(len(metrics)), [label for label, _ in metrics])
    ax.set_ylim(0, 1.25)  # headroom for the value labels and the legend
    ax.set_ylabel("score")
    ax.set_title("Evaluation by language")
    ax.legend(loc="upper center", fontsize=8, ncols=len(SCOPES), frameon=False)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    LOG.info("wrote %s", path)
    return path
