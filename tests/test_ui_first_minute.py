"""The web chat's first minute (warm-up, model status) and the conversation download, with the fakes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from rag.answer.prompt import SYSTEM_PROMPT
from tests.fakes import first_passage_reply
from tests.test_ui import _quiet_toasts  # noqa: F401 -- autouse: toasts outside a request warn
from ui.app import ChatUI, Session

QUESTION = "Combien OpenAI devrait-elle perdre cette année ?"


def test_warm_up_runs_the_prompt_prefix_and_the_page_says_when_ready(make_assistant):
    assistant = make_assistant(first_passage_reply)
    ui = ChatUI(assistant, assistant.settings)
    gate = threading.Event()
    original = assistant.retrieve

    def slow_retrieve(*args, **kwargs):
        gate.wait(10)  # hold the warm-up while the page is checked
        return original(*args, **kwargs)

    assistant.retrieve = slow_retrieve
    thread = ui.warm_up_in_background()
    assert "loading model" in ui.readiness_html()
    assert ui.readiness()[1].active is True
    gate.set()
    thread.join(10)
    assert ui.ready.is_set() and "model ready" in ui.readiness_html()
    assert ui.readiness()[1].active is False
    (warm,) = assistant.llm.calls  # one LLM call on the fixed prefix
    assert warm[0]["content"] == SYSTEM_PROMPT
    # The question after it shares that prefix (what llama.cpp keeps in its KV cache).
    list(ui.respond(QUESTION, [], Session()))
    assert assistant.llm.calls[-1][:-1] == warm[:-1]


def test_warm_up_failure_is_shown_not_raised(make_assistant):
    from rag.errors import ModelError

    assistant = make_assistant(first_passage_reply)
    ui = ChatUI(assistant, assistant.settings)

    def broken(*a, **k):
        raise ModelError("llama.cpp could not load model.gguf")

    assistant.retrieve = broken
    ui.warm_up_in_background().join(10)
    assert ui.ready.is_set() and "could not load" in ui.readiness_html()


def test_conversation_download_has_questions_answers_and_sources(make_assistant):
    assistant = make_assistant(first_passage_reply)
    ui = ChatUI(assistant, assistant.settings)
    md_update, _ = ui.export(Session())
    assert md_update["interactive"] is False  # nothing to download yet
    session = Session()
    for q in (QUESTION, "Which AI company is said to spend more money than it receives?"):
        *_, (_, _, session, _, _) = ui.respond(q, [], session)
    md_update, json_update = ui.export(session)
    md = Path(md_update["value"]).read_text(encoding="utf-8")
    data = json.loads(Path(json_update["value"]).read_text(encoding="utf-8"))
    first = session.answers[0]
    c = first.citations[0]
    assert md.startswith("# Conversation") and QUESTION in md and c.quote in md and c.doc_id in md
    assert (c.date or "undated") in md
    assert [t["question"] for t in data["turns"]] == [a.question for a in session.answers]
    cited = data["turns"][0]["citations"][0]
    assert cited["quote"] == c.quote and cited["doc_id"] == c.doc_id and "date" in cited


def test_conversation_downloads_stay_in_one_folder_that_is_bounded_and_removed(make_assistant, monkeypatch):
    import ui.app as app

    monkeypatch.setattr(app, "EXPORTS_KEPT", 3)
    assistant = make_assistant(first_passage_reply)
    ui = ChatUI(assistant, assistant.settings)
    session = Session()
    *_, (_, _, session, _, _) = ui.respond(QUESTION, [], session)
    paths = [Path(ui.export(session)[0]["value"]) for _ in range(5)]
    root = Path(ui._exports.name)
    assert all(p.parent.parent == root for p in paths)  # nothing strewn across the temp folder
    assert sorted(root.iterdir()) == sorted({p.parent for p in paths[-3:]})  # the newest three, no more
    assert paths[-1].read_text(encoding="utf-8").startswith("# Conversation")
    ui._exports.cleanup()  # what the server's end does
    assert not root.exists()
