"""The ``rag`` command line: index, remove, ask, chat, check, serve, models, eval, bench.

Every command takes the settings flags (``--index-dir``, ``--model``...), which
default to ``RAG_*`` environment variables and then to :class:`Settings`.
Errors a user can cause end in a one-line message, never a stack trace.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.errors import RagError, redact
from rag.settings import Settings, add_settings_args, settings_from_args

log = logging.getLogger("rag")

COMMON = ["index_dir", "docs_dir", "model", "embedder", "query_prompt", "passage_prompt", "chunk_size",
          "chunk_overlap", "index_type", "cache_dir", "max_file_mb", "n_ctx", "n_threads", "n_batch"]
ANSWERING = ["k", "confirm", "strict_checks", "short_answers", "located_answers", "quoted_overviews", "news", "max_tokens", "temperature",
             "answer_language", "context_budget", "evidence_ratio", "word_match", "retrieval_word_match", "reranker",
             "channels", "max_question_chars", "llm_base_url", "llm_model", "llm_timeout", "since", "until"]


def _assistant(settings: Settings) -> Any:
    from rag.assistant import Assistant

    return Assistant(settings)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from rag.assistant import Assistant

    folder = args.folder or settings.docs_dir
    if args.rebuild and not args.folder and not Path(folder).is_dir():
        # "Rebuild the index with rag index --rebuild --index-dir DIR" (every rebuild advice)
        # from a folder without --docs-dir: rebuild from where the index's articles came from.
        from rag.index.store import read_documents
        from rag.index.sync import indexed_folder

        folder = str(indexed_folder(read_documents(Path(settings.index_dir))) or folder)
    assistant = Assistant(settings)
    report = assistant.reindex(folder, rebuild=args.rebuild, progress=not args.quiet)
    # Articles indexed from other folders are kept; --prune removes them, after naming them.
    here = {o.doc_id or o.path for o in report.outcomes}
    others = sorted(d for d in assistant.data.documents if d not in here)
    if args.prune and others:
        print(f"--prune: removing {len(others)} article(s) not in {folder}: {', '.join(others)}", file=sys.stderr)
        pruned = assistant.remove(others)
        pruned.added, pruned.updated, pruned.outcomes = report.added, report.updated, report.outcomes
        report = pruned
        others = []
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return 0
    copy_of = {c.doc_id: (g.canonical, c.jaccard) for g in report.copies for c in g.copies}
    for o in report.outcomes:
        odd = o.status != "loaded" or o.detail.startswith("decoded as") and o.detail != "decoded as utf-8"
        if odd:
            print(f"  {o.status:9s} {o.path}: {o.detail}")
        if o.status == "loaded":  # each article's date and where it came from
            print(f"  {o.status:9s} {o.path}: {o.dated()}")
        if o.doc_id in copy_of:
            canonical, jaccard = copy_of[o.doc_id]
            print(f"  {'copy':9s} {o.path}: copy of {canonical} (one story; estimated Jaccard {jaccard:.2f})")
    print(f"Index {settings.index_dir}: {report.summary()}")
    if others:
        print(f"  kept {len(others)} article(s) from other folders; `--prune` would remove: {', '.join(others[:10])}"
              + (" …" if len(others) > 10 else ""))
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from rag.assistant import Assistant

    assistant = Assistant(settings)
    sources = {d: assistant.data.documents[d].source for d in args.doc_ids if d in assistant.data.documents}
    report = assistant.remove(args.doc_ids)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return 0
    print(f"Index {settings.index_dir}: {report.summary()}")
    for doc_id, source in sources.items():
        if source and Path(source).exists():
            print(f"  note: {source} still exists; `rag index` on its folder will add {doc_id} again "
                  "unless you move or delete the file.")
    return 0


def _show_draft(stream: Any) -> str:
    """Stream the draft answer to a terminal and return what was shown (nothing when
    stdout is not a terminal: there only the verified answer is printed)."""
    tty = sys.stdout.isatty()
    shown = ""
    for piece in stream:
        if tty:
            shown += piece
            print(piece, end="", flush=True)
    return shown


def _erase(shown: str) -> None:
    """Erase the lines the draft took (cursor up, clear to the end of the screen), so
    the verified answer replaces it instead of following it."""
    if not shown:
        return
    columns = max(1, shutil.get_terminal_size().columns)
    rows = sum(max(1, -(-len(line) // columns)) for line in shown.split("\n"))
    print("\r" + (f"\033[{rows - 1}A" if rows > 1 else "") + "\033[J", end="", flush=True)


def timing_line(t: Any, passages: int, model_load_s: float | None = None) -> str:
    """The line under an answer. When this answer loaded the model, the load is shown on its
    own (the time to first token counts from when the model was ready) and the first token is
    marked as read on a cold prompt cache: the fixed prompt prefix (instructions and worked
    examples, ~750 tokens) was processed once, which later answers of `rag chat` reuse.

    >>> from rag.records import Timings
    >>> timing_line(Timings(ttft_ms=2900, total_ms=3400, prompt_tokens=130), 5)
    '  (2.9 s to first token, 3.4 s total, 130 prompt tokens, 5 passages)'
    >>> timing_line(Timings(ttft_ms=14900, total_ms=15400, prompt_tokens=880), 5, 2.14)
    '  (model loaded in 2.1 s; 14.9 s to first token on a cold prompt cache, 15.4 s total, 880 prompt tokens, 5 passages)'
    >>> timing_line(Timings(total_ms=40), 0)
    '  (0.0 s total, 0 prompt tokens, 0 passages)'
    """
    load = f"model loaded in {model_load_s:.1f} s; " if model_load_s is not None else ""
    cold = " on a cold prompt cache" if model_load_s is not None else ""
    first = f"{t.ttft_ms / 1000:.1f} s to first token{cold}, " if t.ttft_ms else ""
    return (f"  ({load}{first}{t.total_ms / 1000:.1f} s total, "
            f"{t.prompt_tokens} prompt tokens, {passages} passages)")


def _print_answer(ans: Any, *, draft: str = "", model_load_s: float | None = None) -> None:
    from rag.display import closest_passages, shorten

    _erase(draft)
    if ans.standalone_question:
        print(f"(question understood as: {ans.standalone_question})")
    print(ans.answer)
    for note in ans.notices:
        print(f"note: {note}")
    if ans.abstained and ans.passages:
        print("\nClosest passages:")
        for p in closest_passages(ans.passages):
            print(f"  - {p.doc_id} ({p.score:.2f}): {shorten(' '.join(p.text.split()), 160)}")
    else:
        for c in ans.citations:
            flag = "" if c.supported else " (unverified)"
            source = ", ".join(x for x in (c.outlet, c.date) if x)  # where and when, as the web chat shows
            print(f"  [{c.marker}] {shorten(c.title, 60)}{f' ({source})' if source else ''} — {c.doc_id} "
                  f"[{c.start}:{c.end}]{flag}\n      « {c.quote} »")
        for s in ans.unsupported_sentences:
            print(f"  unsupported: {s}")
    print(timing_line(ans.timings, len(ans.passages), model_load_s))


def _ask_shown(stream: Any, assistant: Any) -> None:
    """Stream one answer and print it; the model load is named if it happened meanwhile."""
    loaded_before = assistant.model_load_s
    draft = _show_draft(stream)
    assert stream.answer is not None
    load = assistant.model_load_s if loaded_before is None else None
    _print_answer(stream.answer, draft=draft, model_load_s=load)


def _check_question_options(question: str | None, settings: Settings) -> None:
    """Refuse what cannot be answered before anything is loaded: an empty question, a bad date range."""
    from rag.answer.pipeline import clean_question
    from rag.assistant import date_bounds

    date_bounds(settings.since, settings.until)
    if question is not None:
        clean_question(question, settings.max_question_chars)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    _check_question_options(args.question, settings)
    assistant = _assistant(settings)
    if args.json:
        print(json.dumps(assistant.ask(args.question).to_dict(), ensure_ascii=False, indent=1))
        return 0
    _ask_shown(assistant.stream(args.question), assistant)
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    _check_question_options(None, settings)
    assistant = _assistant(settings)
    convo = assistant.conversation()
    print("Ask about the articles (French or English). Empty line or Ctrl-D to quit; /clear to reset.")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        if question == "/clear":
            convo.clear()
            print("(conversation cleared)")
            continue
        try:
            _ask_shown(convo.stream(question), assistant)
        except RagError as exc:
            print(f"error: {redact(str(exc))}")


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from rag.check import check, read_records

    report = check(read_records(args.answers), assistant=_assistant(settings), judge=args.judge)
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) if args.json else report.table())
    return 0 if report.ok else 1


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from ui.app import serve
    except ImportError as exc:
        raise RagError(f"The web chat is not available ({exc}). Install the project with `pip install -e .`.") from exc
    # The URL and progress of the server are worth showing even without --verbose.
    logging.getLogger("ui").setLevel(logging.INFO)
    logging.getLogger("rag").setLevel(logging.INFO)
    serve(settings)
    return 0


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from rag.answer.models import describe_models

    rows = describe_models(settings.model_cache, assemble_missing=args.assemble)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        state = "assembled" if r["assembled"] else ("installed" if r["installed"] else "NOT INSTALLED")
        print(f"{r['name']:8s} {r['description']}  {int(r['size']) / 1e6:.0f} MB  {state}\n"
              f"         path   {r['path']}\n         sha256 {r['sha256']}\n         from   {r['packages']}")
        if r.get("error"):
            print(f"         error  {r['error']}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.dataset import DEFAULT_DATASET, load_dataset
    from rag.eval.judges import make_judge, parse_judge
    from rag.eval.report import format_table, write_chart, write_json, write_markdown
    from rag.eval.run import run_eval

    items = load_dataset(args.dataset or DEFAULT_DATASET)  # before loading any model: a bad file fails fast
    spec = parse_judge(args.judge)
    assistant = _assistant(settings)
    judge = None if args.retrieval_only else make_judge(
        spec, llm=lambda: assistant.llm, timeout=settings.llm_timeout,
        answer_server=settings.llm_base_url, api_key=settings.llm_api_key)
    result = run_eval(assistant, items, retrieval_only=args.retrieval_only, answer_k=args.k, judge=judge)
    print(format_table(result))
    if args.json_path:
        write_json(result, args.json_path)
    if args.report:
        write_markdown(result, args.report)
    if args.chart:
        write_chart(result, args.chart)
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from rag.eval.bench import run_bench

    run_bench(settings, dataset=args.dataset, json_path=args.json_path, synthetic_chunks=args.synthetic_chunks,
              limit=args.limit, ann_vectors=args.ann_vectors, ann_only=args.ann_only)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Ask questions about a folder of news articles, offline.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Show debug logs.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[..., int], help: str, extra: Sequence[str] = ()) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        add_settings_args(p, COMMON + list(extra))
        p.set_defaults(func=func)
        return p

    p = add("index", cmd_index, "Index a folder of articles (only what changed is re-embedded).")
    p.add_argument("folder", nargs="?", help="Folder of .txt/.md/.html/.pdf files (default: --docs-dir).")
    p.add_argument("--rebuild", action="store_true", help="Rebuild from scratch.")
    p.add_argument("--prune", action="store_true",
                   help="Also remove the indexed articles that are not in FOLDER (they are listed first).")
    p.add_argument("--json", action="store_true", help="Print the report as JSON.")
    p.add_argument("--quiet", action="store_true", help="No progress bar.")

    p = add("remove", cmd_remove, "Remove articles from the index by doc_id (their files are not touched).")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="doc_id as shown in citations, e.g. 001_x.txt")
    p.add_argument("--json", action="store_true", help="Print the report as JSON.")

    p = add("ask", cmd_ask, "Ask one question.", ANSWERING)
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="Print the answer record as JSON.")

    add("chat", cmd_chat, "Hold a conversation in the terminal.", ANSWERING)
    p = add("check", cmd_check, "Check the citations of answer records against the index (exit 1 if any fails).",
            ["llm_base_url", "llm_model", "llm_timeout"])
    p.add_argument("answers", help="Answer records: JSON Lines (`rag ask --json`, the /ask endpoint).")
    p.add_argument("--judge", default=None, metavar="llm|URL",
                   help="Support judge: default the deterministic one; `llm` the answering model "
                        "(rag.answer.entail), or the URL of an OpenAI-compatible server.")
    p.add_argument("--json", action="store_true", help="Print the full report as JSON.")
    add("serve", cmd_serve, "Start the web chat.", ANSWERING + ["host", "port", "share"])

    p = add("models", cmd_models, "List the model presets and their files.")
    p.add_argument("--json", action="store_true")
    p.add_argument("--assemble", action="store_true", help="Assemble and verify missing preset files.")

    p = add("eval", cmd_eval, "Evaluate retrieval, answers and citations on a QA set.", ANSWERING)
    p.add_argument("dataset", nargs="?", default=None,
                   help="JSONL file (see eval/README in the docs; default: the repository's eval/dev.jsonl).")
    p.add_argument("--json", dest="json_path", help="Write the metrics as JSON here.")
    p.add_argument("--report", help="Write a Markdown report here.")
    p.add_argument("--chart", help="Write a PNG chart here.")
    p.add_argument("--retrieval-only", action="store_true", help="Skip generation (seconds).")
    p.add_argument("--judge", default="lexical",
                   help="Judge of the ALCE citation scores, reported beside the gold-anchored ones: lexical "
                        "(the pipeline's own, fast), llm (the local model's yes/no) or an OpenAI-compatible "
                        "server URL (http://host:port/v1). Default: lexical.")

    p = add("bench", cmd_bench, "Benchmark indexing, retrieval and answering.", ANSWERING)
    p.add_argument("--dataset", default=None,
                   help="JSONL QA set (default: the repository's eval/dev.jsonl, wherever rag is run from).")
    p.add_argument("--json", dest="json_path")
    p.add_argument("--synthetic-chunks", type=int, default=100_000)
    p.add_argument("--limit", type=int, default=0, help="Use only the first N questions (0 = all).")
    p.add_argument("--ann-vectors", type=int, default=1_000_000,
                   help="Vectors in the index-type benchmark (recall vs exact, build time, size); 0 skips it.")
    p.add_argument("--ann-only", action="store_true", help="Run only the index-type benchmark (no LLM).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_args(args)
        return int(args.func(args, settings) or 0)
    except RagError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the user named or owns: say which and what went wrong
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {redact(where + (exc.strerror or str(exc)))}; check the path and its permissions.",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
