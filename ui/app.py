"""The web chat (Gradio): a thin layer over :class:`rag.assistant.Assistant`.

``build_app(assistant, settings)`` returns the page; ``serve(settings)`` is what
``rag serve`` runs. The event handlers live on :class:`ChatUI` so tests call
them directly with fakes; the HTML comes from the pure functions of
:mod:`ui.format`.

No ``from __future__ import annotations`` here: ``gr.api`` reads the type hints
of the ``/ask`` function at run time.
"""

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The page must work offline: no usage statistics sent home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.answer.followup import MAX_TURNS  # noqa: E402
from rag.answer.prompt import build_messages, may_be_abstain_token  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.display import conversation_markdown  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.records import Answer  # noqa: E402
from rag.settings import Settings  # noqa: E402

from . import format as fmt  # noqa: E402
from .style import CSS, HEAD, theme  # noqa: E402

log = logging.getLogger(__name__)

GENERIC_ERROR = "Something went wrong while answering; the details are in the server log. Try again."
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf"]
EXPORTS_KEPT = 50  # conversation downloads kept on disk while the server runs
K_MIN, K_MAX = 1, 10
LANGUAGE_CHOICES = [("Auto", "auto"), ("Français", "fr"), ("English", "en")]
MODELS = [("Default (1.5B)", "default"), ("Small (0.5B)", "small"), ("GGUF file…", "gguf")]
STATUS_TEXT = {
    "rewriting follow-up": "Reading the follow-up with the conversation…",
    "retrieving": "Searching the articles…",
    "generating": "Writing the answer…",
    "retrying": "Writing the answer again…",
    "translating": "Translating the articles' sentences…",
}


@dataclass
class Session:
    """One browser tab's chat: (question, answer) pairs for follow-ups and the
    sources of each answer, kept in a ``gr.State``."""

    history: list[tuple[str, str]] = field(default_factory=list)
    sections: list[tuple[int, str, str]] = field(default_factory=list)
    turns: int = 0
    answers: list[Answer] = field(default_factory=list)  # for the conversation download


def _notify_warning(message: str) -> None:
    """A toast in the page (outside a request, Gradio turns it into a Python warning)."""
    gr.Warning(message)


class ChatUI:
    """The page's handlers, independent of the layout so tests can call them."""

    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        self.assistant = assistant
        self.settings = settings
        # At most one extra model is kept loaded next to the startup one: each
        # GGUF holds hundreds of MB.
        self._variant: tuple[str, Assistant] | None = None
        self._lock = threading.Lock()
        # Set once the models are loaded and the prompt prefix is processed (at once when
        # no warm-up runs: the first question then loads them).
        self.ready = threading.Event()
        self.ready.set()
        self.warm_error = ""
        # Conversation downloads live under one folder, removed when the page's server ends
        # (its finalizer); only the newest EXPORTS_KEPT are kept while it runs.
        self._exports = tempfile.TemporaryDirectory(prefix="rag-conversations-")
        self._exported = 0
        self._exports_lock = threading.Lock()

    # ---------- first minute ----------
    def warm_up(self) -> None:
        """Load the index, the embedder and the LLM, and run the fixed prompt prefix
        (system message and worked examples) through the LLM so its KV cache holds it:
        the first question then starts about as fast as the next ones."""
        t0 = time.perf_counter()
        try:
            self.assistant.retrieve("warm-up")  # index, embedder, retriever
            language = self.settings.answer_language if self.settings.answer_language in ("fr", "en") else "fr"
            for _ in self.assistant.llm.stream_chat(build_messages("?", [], language), max_tokens=1):
                pass
            log.info("models loaded and prompt prefix cached in %.1f s", time.perf_counter() - t0)
        except RagError as exc:
            self.warm_error = str(exc)
            log.warning("warm-up failed: %s", exc)
        except Exception:
            self.warm_error = GENERIC_ERROR
            log.exception("warm-up failed")
        finally:
            self.ready.set()

    def warm_up_in_background(self) -> threading.Thread:
        self.ready.clear()
        thread = threading.Thread(target=self.warm_up, name="warm-up", daemon=True)
        thread.start()
        return thread

    def readiness_html(self) -> str:
        if not self.ready.is_set():
            return fmt.status_html("loading model… (the first answer waits for it)")
        if self.warm_error:
            return fmt.error_html(self.warm_error)
        return '<div class="status ready">model ready</div>'

    def readiness(self) -> tuple[str, Any]:
        """The model status line, and the timer polling it (stopped once ready)."""
        return self.readiness_html(), gr.Timer(active=not self.ready.is_set())

    def export(self, session: Session | None) -> tuple[Any, Any]:
        """The conversation (questions, answers, sources with quotes, dates and document
        ids) as Markdown and JSON files for the two download buttons."""
        answers = (session or Session()).answers
        if not answers:
            return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
        folder = self._export_folder()
        md, js = folder / "conversation.md", folder / "conversation.json"
        md.write_text(conversation_markdown(answers), encoding="utf-8")
        js.write_text(json.dumps({"turns": [a.to_dict() for a in answers]}, ensure_ascii=False, indent=1),
                      encoding="utf-8")
        return gr.update(value=str(md), interactive=True), gr.update(value=str(js), interactive=True)

    def _export_folder(self) -> Path:
        """A new folder for one download, the oldest ones beyond ``EXPORTS_KEPT`` removed
        (each answer exports the whole conversation again: only the last of a tab is wanted,
        and Gradio serves its own copy of what was returned)."""
        root = Path(self._exports.name)
        with self._exports_lock:
            old = sorted(root.iterdir())  # named by a counter: oldest first
            for stale in old[: max(0, len(old) + 1 - EXPORTS_KEPT)]:
                shutil.rmtree(stale, ignore_errors=True)
            self._exported += 1
            return Path(tempfile.mkdtemp(prefix=f"{self._exported:09d}-", dir=root))

    # ---------- models ----------
    def model_name(self, preset: str, gguf_path: str = "") -> str:
        """The ``model`` setting chosen in the page: a preset or a GGUF path."""
        if preset != "gguf":
            return preset or self.settings.model
        path = (gguf_path or "").strip()
        if not path:
            raise RagError("Type the path of a .gguf file, or choose the default or small model.")
        if not path.lower().endswith(".gguf"):
            raise RagError(f"{path} is not a .gguf file.")
        return path

    def assistant_for(self, model: str) -> Assistant:
        if model == self.assistant.settings.model:
            return self.assistant
        with self._lock:
            if self._variant is None or self._variant[0] != model:
                self.assistant.data  # noqa: B018 -- load the index first so the variant shares it
                self._variant = (model, self.assistant.with_model(model))
            return self._variant[1]

    # ---------- chat ----------
    def respond(self, question: str, messages: list[dict[str, Any]] | None, session: Session | None,
                k: float = 5, preset: str = "default", gguf_path: str = "",
                language: str = "auto", since: str = "",
                until: str = "") -> Iterator[tuple[list[dict[str, Any]], str, Session, str, str]]:
        """Answer one chat message, streaming. Yields
        ``(messages, sources_panel_html, session, status_html, question_box)``."""
        messages = list(messages or [])
        session = session or Session()
        question = question or ""
        panel = fmt.sources_panel(session.sections)
        if question.strip():
            messages.append({"role": "user", "content": question})
            messages.append({"role": "assistant", "content": fmt.streaming_html("", "Searching the articles…")})
        try:
            model = self.model_name(preset, gguf_path)
            assistant = self.assistant_for(model)
            k_int = max(K_MIN, min(K_MAX, int(k or self.settings.k)))
            lang = language if language in ("fr", "en") else None
            events = assistant.events(question, k=k_int, history=session.history[-MAX_TURNS:], language=lang,
                                      since=(since or "").strip() or None, until=(until or "").strip() or None)
            raw = ""
            status = STATUS_TEXT["generating"]
            for kind, value in events:
                if kind == "status":
                    if value == "retrying":
                        raw = ""  # the first attempt is discarded: so is its text
                    status = STATUS_TEXT.get(value, value)
                    messages[-1] = {"role": "assistant", "content": fmt.streaming_html(raw, status)}
                    yield list(messages), panel, session, fmt.status_html(status), ""
                elif kind == "token":
                    raw += value
                    shown = "" if may_be_abstain_token(raw) else raw
                    messages[-1] = {"role": "assistant", "content": fmt.streaming_html(shown, status)}
                    yield list(messages), panel, session, fmt.status_html(status), ""
                elif kind == "answer":
                    answer = value
                    session.turns += 1
                    session.answers.append(answer)
                    turn = session.turns
                    session.history.append((answer.standalone_question or answer.question, answer.answer))
                    session.sections.append((turn, answer.question,
                                             fmt.sources_html(answer, turn, assistant.document_text)))
                    messages[-1] = {"role": "assistant", "content": fmt.message_html(answer, turn)}
                    yield list(messages), fmt.sources_panel(session.sections), session, "", ""
        except RagError as exc:
            yield from self._error(str(exc), messages, panel, session, question)
        except Exception:
            log.exception("chat request failed")
            yield from self._error(GENERIC_ERROR, messages, panel, session, question)

    def _error(self, message: str, messages: list[dict[str, Any]], panel: str, session: Session,
               question: str) -> Iterator[tuple[list[dict[str, Any]], str, Session, str, str]]:
        _notify_warning(message)
        if question.strip() and messages and messages[-1]["role"] == "assistant":
            messages[-1] = {"role": "assistant", "content": fmt.error_html(message)}
            question = ""  # the question stays visible in the chat
        yield messages, panel, session, fmt.error_html(message), question

    def clear(self) -> tuple[list[dict[str, Any]], str, Session, str, str]:
        return [], fmt.sources_panel([]), Session(), "", ""

    # ---------- documents ----------
    def refresh_documents(self) -> tuple[str, str]:
        """``(table_html, status_html)`` of the indexed articles, or a readable
        message if the index can't be loaded."""
        try:
            docs = self.assistant.documents()
        except RagError as exc:
            return "", fmt.error_html(str(exc))
        except Exception:
            log.exception("listing documents failed")
            return "", fmt.error_html(GENERIC_ERROR)
        n = len(docs)
        return fmt.documents_html(docs), fmt.status_html(f"{n} article{'s' if n != 1 else ''} indexed.")

    def upload(self, files: list[str] | str | None,
               progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, str, None]:  # noqa: B008
        """Index uploaded files one by one; a bad file is reported and skipped.
        Returns ``(table_html, message_html, cleared_upload)``."""
        if isinstance(files, str):
            files = [files]
        files = [f for f in (files or []) if f]
        done: list[str] = []
        errors: list[str] = []
        for i, path in enumerate(files):
            name = Path(path).name  # Gradio keeps the original name inside a unique temp folder
            progress((i, len(files)), desc=f"Indexing {name}")
            try:
                report = self.assistant.add_file(path, filename=name, progress=True)
                done.append(f"{name}: indexed as {', '.join(report.added + report.updated) or name}.")
            except RagError as exc:
                message = str(exc)
                # Some loader messages don't say which file they are about.
                errors.append(message if name in message or Path(name).stem in message else f"{name}: {message}")
            except Exception:
                log.exception("upload of %s failed", name)
                errors.append(f"{name}: could not be indexed; the details are in the server log.")
        with self._lock:
            # A model variant holds its own copy of the index: drop it so the next
            # question with that model sees the new documents.
            if done:
                self._variant = None
        table, table_status = self.refresh_documents()
        for message in errors:
            _notify_warning(message)
        if done:
            gr.Info(" ".join(done))
        lines = [fmt.status_html(m) for m in done] + [fmt.error_html(m) for m in errors]
        return table, "".join(lines) or table_status, None

    # ---------- API ----------
    def ask(self, question: str, k: int = 5, since: str = "", until: str = "") -> dict:
        """Answer a question about the articles: the answer record as a dict
        (keys: answer, citations, passages, timings…), or ``{"error": message}``.
        ``since``/``until`` (YYYY, YYYY-MM or YYYY-MM-DD) bound the article dates; ``k`` is
        refused outside 1-10 (the page's slider clamps; a script is told)."""
        try:
            k_int = int(k)
        except (TypeError, ValueError):
            k_int = None
        if k_int is None or not K_MIN <= k_int <= K_MAX:
            return {"error": f"k must be a whole number of passages from {K_MIN} to {K_MAX} (got {k!r})."}
        try:
            return self.assistant.ask(question, k=k_int, since=(since or "").strip() or None,
                                      until=(until or "").strip() or None).to_dict()
        except RagError as exc:
            return {"error": str(exc)}
        except Exception:
            log.exception("/ask failed")
            return {"error": GENERIC_ERROR}


def _initial_preset(settings: Settings) -> tuple[str, str]:
    if settings.model in ("default", "small"):
        return settings.model, ""
    return "gguf", settings.model


def build_app(assistant: Assistant, settings: Settings, *, warm_up: bool = False) -> gr.Blocks:
    """The chat page over ``assistant``. Launch it with :func:`launch`. With ``warm_up``,
    the models load in the background at once and the page says so until they are ready."""
    ui = ChatUI(assistant, settings)
    if warm_up:
        ui.warm_up_in_background()
    preset, gguf = _initial_preset(settings)
    # Gradio copies every file it serves into its cache: those older than a day go, hourly.
    with gr.Blocks(title="Actualités IA · questions sourcées", delete_cache=(3600, 86400)) as demo:
        session = gr.State(Session())
        gr.HTML(
            '<header class="app-header"><h1>Actualités IA</h1>'
            "<p>Ask in French or English about the indexed news articles. Every claim links to the "
            "passage that supports it.</p></header>"
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        chatbot = gr.Chatbot(
                            label="Conversation", show_label=False, height=520, layout="panel",
                            buttons=["copy"], feedback_options=None, elem_id="chat",
                            placeholder="<div class='placeholder'><b>Posez une question sur les articles</b>"
                                        "<br>e.g. « Combien OpenAI devrait-elle perdre cette année ? »</div>",
                        )
                        with gr.Row(elem_id="ask-row"):
                            question = gr.Textbox(
                                placeholder="Votre question… / Your question…", show_label=False,
                                container=False, scale=6, autofocus=True, elem_id="question", max_lines=4,
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="send")
                            clear = gr.Button("Clear", variant="secondary", scale=1, min_width=80, elem_id="clear")
                        status = gr.HTML("", elem_id="status")
                        ready = gr.HTML(ui.readiness_html(), elem_id="model-status")
                        with gr.Row(elem_id="download-row"):
                            download_md = gr.DownloadButton("Download conversation (Markdown)", interactive=False,
                                                            size="sm", elem_id="download-md")
                            download_json = gr.DownloadButton("Download conversation (JSON)", interactive=False,
                                                              size="sm", elem_id="download-json")
                        with gr.Row(elem_id="controls"):
                            k = gr.Slider(K_MIN, K_MAX, value=min(max(settings.k, K_MIN), K_MAX), step=1,
                                          label="Passages (k)", min_width=150)
                            language = gr.Dropdown(LANGUAGE_CHOICES, value=settings.answer_language,
                                                   label="Answer language", min_width=150)
                            # With an LLM server the server decides the model: shown, not chosen here.
                            server = settings.llm_base_url
                            model = gr.Dropdown(MODELS, value=preset, label="Model", min_width=150,
                                                interactive=not server,
                                                info=f"LLM server {server}" if server else None)
                        gguf_path = gr.Textbox(value=gguf, label="GGUF file path", placeholder="/path/to/model.gguf",
                                               visible=preset == "gguf")
                        with gr.Accordion("Article dates", open=False, elem_id="dates"):
                            with gr.Row():
                                since = gr.Textbox(value=settings.since, label="Since", placeholder="YYYY-MM-DD",
                                                   max_lines=1, elem_id="since")
                                until = gr.Textbox(value=settings.until, label="Until", placeholder="YYYY-MM-DD",
                                                   max_lines=1, elem_id="until")
                    with gr.Column(scale=2, min_width=340):
                        gr.HTML('<h3 class="panel-title">Sources</h3>')
                        sources = gr.HTML(fmt.sources_panel([]), elem_id="sources")
            with gr.Tab("Documents", id="documents"):
                docs_status = gr.HTML("", elem_id="docs-status")
                table = gr.HTML(fmt.documents_html([]), elem_id="documents")
                upload = gr.File(
                    label=f"Add articles ({', '.join(UPLOAD_TYPES)}; up to {settings.max_file_mb:g} MB each)",
                    file_count="multiple", file_types=UPLOAD_TYPES, type="filepath", elem_id="upload",
                )

        chat_inputs = [question, chatbot, session, k, model, gguf_path, language, since, until]
        chat_outputs = [chatbot, sources, session, status, question]
        # One llama.cpp model is not thread-safe: chat and API share one queue slot.
        for trigger in (question.submit, send.click):
            trigger(ui.respond, chat_inputs, chat_outputs, concurrency_id="llm", api_visibility="private").then(
                ui.export, session, [download_md, download_json], queue=False, api_visibility="private")
        timer = gr.Timer(1.0, active=not ui.ready.is_set())
        timer.tick(ui.readiness, None, [ready, timer], queue=False, api_visibility="private")
        clear.click(ui.clear, None, chat_outputs, queue=False, api_visibility="private")
        # The chatbot's own trash button must forget the history too, not only the bubbles.
        chatbot.clear(ui.clear, None, chat_outputs, queue=False, api_visibility="private")
        model.change(lambda p: gr.update(visible=p == "gguf"), model, gguf_path, queue=False,
                     api_visibility="private")
        upload.upload(ui.upload, upload, [table, docs_status, upload], concurrency_id="index",
                      api_visibility="private")
        demo.load(ui.refresh_documents, None, [table, docs_status], api_visibility="private")

        def ask(question: str, k: int = 5, since: str = "", until: str = "") -> dict:
            """Answer a question about the articles. Returns the answer record
            (answer, citations with quotes and offsets, passages, timings) or {"error": message}.
            since/until (YYYY, YYYY-MM or YYYY-MM-DD) keep only articles dated within them."""
            return ui.ask(question, k, since, until)

        gr.api(ask, api_name="ask", concurrency_id="llm")
    demo.queue(default_concurrency_limit=1)
    return demo


def launch(demo: gr.Blocks, settings: Settings, *, port: int | None = None,
           prevent_thread_lock: bool = True, quiet: bool = False) -> str:
    """Start the server (with the page's theme, CSS and script) and return its local URL."""
    demo.launch(
        server_name=settings.host, server_port=port or settings.port, share=settings.share,
        prevent_thread_lock=prevent_thread_lock, quiet=quiet, ssr_mode=False,
        theme=theme(), css=CSS, head=HEAD, show_error=False,
        max_file_size=int(settings.max_file_mb * 1e6), footer_links=["api"],
    )
    return demo.local_url


def serve(settings: Settings) -> None:
    """Run the web chat until interrupted (``rag serve``)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    assistant = Assistant(settings)
    try:
        assistant.data  # noqa: B018 -- build or load the index before the first visitor
    except RagError as exc:
        # The page shows the same message; the server still starts so it can be read there.
        log.warning("%s", exc)
    demo = build_app(assistant, settings, warm_up=True)  # models load while the page opens
    url = launch(demo, settings, quiet=True)
    log.info("web chat on %s", url)
    if getattr(demo, "share_url", None):
        log.info("public share link: %s", demo.share_url)
    try:
        demo.block_thread()
    finally:
        demo.close()
