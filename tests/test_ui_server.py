"""The real Gradio server in-process, called through gradio_client's named `/ask` endpoint."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

QUESTION = "Combien OpenAI devrait-elle perdre cette année ?"
GOOD_FR = "Selon The Information, OpenAI perdra environ 5 milliards de dollars cette année [1]."
OPENAI_DOC = "004_f51b68045130b9a9.txt"
# Gradio's queue calls pandas APIs that pandas 3 deprecates: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(assistant) -> Iterator[str]:
    """Serve ``assistant``'s page on a free loopback port; yields the URL, closes the server after."""
    from ui.app import build_app, launch

    settings = assistant.settings.with_(host="127.0.0.1", port=free_port(), share=False)
    demo = build_app(assistant, settings)
    url = launch(demo, settings, quiet=True)
    try:
        yield url
    finally:
        demo.close()


def check_answer(d: dict, assistant) -> None:
    assert "error" not in d, d.get("error")
    assert not d["abstained"] and "5 milliards" in d["answer"]
    assert d["citations"], d
    for c in d["citations"]:
        assert assistant.document_text(c["doc_id"])[c["start"]:c["end"]] == c["quote"]
    assert any(c["doc_id"] == OPENAI_DOC and "5 milliards" in c["quote"] for c in d["citations"])


def test_ask_endpoint_returns_cited_answer(make_assistant):
    from gradio_client import Client

    assistant = make_assistant(GOOD_FR)
    with running_app(assistant) as url:
        client = Client(url, verbose=False)
        d = client.predict(QUESTION, api_name="/ask")
        check_answer(d, assistant)
        assert set(d["timings"]) >= {"ttft_ms", "total_ms", "completion_tokens"}
        # k is optional (1-10); errors come back as a dict, the server keeps running.
        assert client.predict(QUESTION, 2, api_name="/ask")["passages"]
        err = client.predict("   ", api_name="/ask")
        assert set(err) == {"error"} and "empty" in err["error"]
        check_answer(client.predict(QUESTION, api_name="/ask"), assistant)


def test_chat_endpoints_are_not_exposed(make_assistant):
    from gradio_client import Client

    with running_app(make_assistant(GOOD_FR)) as url:
        info = Client(url, verbose=False).view_api(print_info=False, return_format="dict")
        assert list(info["named_endpoints"]) == ["/ask"]


@pytest.fixture(scope="session")
def real_assistant(tmp_path_factory):
    """The default embedder and LLM, loaded once for the session."""
    from rag.assistant import Assistant
    from rag.settings import Settings

    tmp = tmp_path_factory.mktemp("real")
    docs = tmp / "docs"
    shutil.copytree(SEEDS, docs)
    return Assistant(Settings(index_dir=str(tmp / "index"), docs_dir=str(docs)))


@pytest.mark.slow
def test_ask_endpoint_with_real_models(real_assistant):
    from gradio_client import Client

    with running_app(real_assistant) as url:
        d = Client(url, verbose=False).predict(QUESTION, api_name="/ask")
    check_answer(d, real_assistant)
    assert d["language"] == "fr" and d["timings"]["completion_tokens"] > 0


def test_serve_binds_settings_host_and_port_and_logs_url(make_assistant, monkeypatch, caplog):
    import logging
    import urllib.request

    import gradio as gr

    import ui.app

    fake = make_assistant(GOOD_FR)
    settings = fake.settings.with_(host="127.0.0.1", port=free_port())
    seen = {}

    def stop_after_check(demo):
        seen["url"] = demo.local_url
        with urllib.request.urlopen(demo.local_url, timeout=10) as r:
            seen["status"] = r.status
        raise KeyboardInterrupt  # what Ctrl-C does to the blocked main thread

    monkeypatch.setattr(ui.app, "Assistant", lambda s: fake)
    monkeypatch.setattr(gr.Blocks, "block_thread", stop_after_check)
    with caplog.at_level(logging.INFO, logger="ui.app"), pytest.raises(KeyboardInterrupt):
        ui.app.serve(settings)
    assert seen == {"url": f"http://127.0.0.1:{settings.port}/", "status": 200}
    assert f"http://127.0.0.1:{settings.port}/" in caplog.text
