"""The OpenAI-compatible HTTP backend: against a tiny fake server (fast) and a real
``python -m llama_cpp.server`` with the small GGUF (slow)."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rag.answer.llm_http import OpenAICompatLLM, chatml
from rag.assistant import Assistant
from rag.errors import ConfigError, LLMError
from rag.settings import Settings, api_root, settings_from_args

from .conftest import SEEDS, FakeEmbedder, stop_process

GOOD_FR = "Selon The Information, OpenAI perdra environ 5 milliards de dollars cette année [1]."
QUESTION = "Combien OpenAI devrait-elle perdre cette année ?"
MESSAGES = [{"role": "system", "content": "Tu réponds."}, {"role": "user", "content": "Bonjour ?"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeOpenAIServer:
    """An OpenAI-compatible server on 127.0.0.1 streaming ``reply`` word by word.

    ``mode``: "ok", "http500", "sleep" (silent until stopped), "garbage" (a non-JSON
    event), "cut" (closes before [DONE]), "error-event" (an error chunk mid-stream).
    """

    def __init__(self) -> None:
        self.reply = GOOD_FR
        self.mode = "ok"
        self.tokenize = True
        self.yes_logprob, self.no_logprob = -0.1, -2.5  # a one-token yes/no completion's top_logprobs
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.stopped = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, data: Any) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                server.requests.append((self.path, {}, dict(self.headers)))
                if self.path == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
                else:
                    self._json(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((self.path, body, dict(self.headers)))
                if self.path == "/extras/tokenize/count" and server.tokenize:
                    return self._json(200, {"count": len(body["input"].split())})
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"detail": "Not Found"})
                if body.get("logprobs") and not body.get("stream"):
                    top = [{"token": "Yes", "logprob": server.yes_logprob}, {"token": "No", "logprob": server.no_logprob},
                           {"token": "Maybe", "logprob": -5.0}]
                    return self._json(200, {"choices": [{"index": 0, "message": {"content": "Yes"},
                                                         "logprobs": {"content": [{"token": "Yes", "logprob": -0.1,
                                                                                   "top_logprobs": top}]}}]})
                if server.mode == "http500":
                    return self._json(500, {"error": {"message": "model exploded", "type": "server_error"}})
                if server.mode == "sleep":
                    server.stopped.wait(30)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for word in re.findall(r"\S+\s*", server.reply):
                    self._event({"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]})
                if server.mode == "garbage":
                    self._event("<html>oops</html>")
                elif server.mode == "error-event":
                    self._event({"error": {"message": "context overflow"}})
                if server.mode != "cut":
                    self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    self._event("[DONE]")

            def _event(self, data: Any) -> None:
                text = data if isinstance(data, str) else json.dumps(data)
                self.wfile.write(f"data: {text}\n\n".encode())
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def chat_bodies(self) -> list[dict[str, Any]]:
        return [b for p, b, _ in self.requests if p == "/v1/chat/completions"]

    def close(self) -> None:
        self.stopped.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    s = FakeOpenAIServer()
    yield s
    s.close()


def test_streams_pieces_in_order_and_sends_the_options(server):
    llm = OpenAICompatLLM(server.url, timeout=5)
    pieces = list(llm.stream_chat(MESSAGES, max_tokens=7, temperature=0.0, stop=["\n\n", "Question:"]))
    assert len(pieces) > 5 and "".join(pieces) == GOOD_FR
    (body,) = server.chat_bodies()
    assert body["messages"] == MESSAGES and body["stream"] is True
    assert (body["max_tokens"], body["temperature"], body["stop"]) == (7, 0.0, ["\n\n", "Question:"])
    assert body["model"] == "fake-model" and llm.name == "fake-model"  # the server's first model
    assert "grammar" not in body
    list(llm.stream_chat(MESSAGES, grammar='root ::= "x"'))
    assert server.chat_bodies()[-1]["grammar"] == 'root ::= "x"'
    assert [p for p, _, _ in server.requests].count("/v1/models") == 1  # asked once


def test_configured_model_and_api_key_are_sent(server):
    llm = OpenAICompatLLM(server.url + "/v1/", "qwen-small", timeout=5, api_key="sk-test")
    list(llm.stream_chat(MESSAGES))
    path, body, headers = server.requests[-1]
    assert path == "/v1/chat/completions" and body["model"] == "qwen-small"
    assert headers["Authorization"] == "Bearer sk-test"
    assert "/v1/models" not in [p for p, _, _ in server.requests]


@pytest.mark.parametrize("url, root", [
    ("http://h:1", "http://h:1/v1"), ("http://h:1/v1", "http://h:1/v1"), (" https://h/api/v1/ ", "https://h/api/v1"),
])
def test_base_url_with_or_without_v1(url, root):
    assert api_root(url) == root


@pytest.mark.parametrize("url", ["localhost:8080", "ftp://h/v1", "http://"])
def test_bad_base_url_is_a_config_error(url):
    with pytest.raises(ConfigError, match="http://"):
        Settings(llm_base_url=url)
    with pytest.raises(ConfigError):
        Settings(llm_timeout=0)


def test_count_tokens_uses_the_server_then_estimates(server):
    llm = OpenAICompatLLM(server.url, timeout=5)
    assert llm.count_tokens(MESSAGES) == len(chatml(MESSAGES).split())
    server.tokenize = False
    fresh = OpenAICompatLLM(server.url, timeout=5)
    assert fresh.count_tokens(MESSAGES) > 0  # no tokenize endpoint: an estimate
    assert fresh.count_tokens(MESSAGES) > 0 and fresh._count_path == ""
    down = OpenAICompatLLM(f"http://127.0.0.1:{free_port()}", timeout=5)
    assert down.count_tokens(MESSAGES) > 0  # never fails an answer


def test_assistant_answers_through_the_server(server, tmp_path, seeds_copy):
    settings = Settings(index_dir=str(tmp_path / "index"), docs_dir=str(seeds_copy), llm_base_url=server.url)
    a = Assistant(settings, embedder=FakeEmbedder())
    assert isinstance(a.llm, OpenAICompatLLM)
    assert a.with_model("small") is a  # the server decides the model
    stream = a.stream(QUESTION)
    pieces = list(stream)
    ans = stream.answer
    assert len(pieces) > 5 and not ans.abstained and "5 milliards" in ans.answer
    (c,) = ans.citations
    assert c.doc_id == "004_f51b68045130b9a9.txt" and c.supported
    assert a.document_text(c.doc_id)[c.start:c.end] == c.quote
    assert ans.timings.prompt_tokens > 0 and ans.timings.ttft_ms > 0
    # The answer is the last streamed request (yes/no checks may follow it).
    assert [b for b in server.chat_bodies() if b.get("stream")][-1]["max_tokens"] == settings.max_tokens


def test_server_down_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}"
    llm = OpenAICompatLLM(url, timeout=5)
    t0 = time.perf_counter()
    with pytest.raises(LLMError, match=re.escape(f"{url}/v1: connection refused")) as info:
        list(llm.stream_chat(MESSAGES))
    assert "RAG_LLM_BASE_URL" in str(info.value) and time.perf_counter() - t0 < 3


def test_unknown_host_is_a_clear_error():
    with pytest.raises(LLMError, match="unknown host 'no-such-host.invalid'"):
        list(OpenAICompatLLM("http://no-such-host.invalid:8080", "m", timeout=5).stream_chat(MESSAGES))


def test_http_error_is_a_clear_error(server):
    server.mode = "http500"
    with pytest.raises(LLMError, match=r"HTTP 500 to /v1/chat/completions \(model exploded\)"):
        list(OpenAICompatLLM(server.url, "m", timeout=5).stream_chat(MESSAGES))


def test_read_timeout_fails_quickly(server):
    server.mode = "sleep"
    llm = OpenAICompatLLM(server.url, "m", timeout=0.5)
    t0 = time.perf_counter()
    with pytest.raises(LLMError, match=r"sent nothing for 0.5 s.*--llm-timeout"):
        list(llm.stream_chat(MESSAGES))
    assert time.perf_counter() - t0 < 3


@pytest.mark.parametrize("mode, message", [
    ("garbage", "malformed data: '<html>oops</html>'"),
    ("cut", "ended the stream before the answer was complete"),
    ("error-event", "failed while answering: context overflow"),
])
def test_bad_streams_are_clear_errors(server, mode, message):
    server.mode = mode
    with pytest.raises(LLMError, match=re.escape(message)):
        list(OpenAICompatLLM(server.url, "m", timeout=5).stream_chat(MESSAGES))


def test_settings_from_env_and_flags():
    from rag.cli import build_parser

    s = Settings.from_env({"RAG_LLM_BASE_URL": "http://10.0.0.2:8000/v1", "RAG_LLM_MODEL": "qwen",
                           "RAG_LLM_TIMEOUT": "30", "RAG_LLM_API_KEY": "sk-secret"})
    assert (s.llm_base_url, s.llm_model, s.llm_timeout, s.llm_api_key) == ("http://10.0.0.2:8000/v1", "qwen", 30.0,
                                                                           "sk-secret")
    assert "sk-secret" not in repr(s)
    args = build_parser().parse_args(["ask", "q", "--llm-base-url", "http://127.0.0.1:9/v1", "--llm-model", "m",
                                      "--llm-timeout", "5"])
    s = settings_from_args(args)
    assert (s.llm_base_url, s.llm_model, s.llm_timeout) == ("http://127.0.0.1:9/v1", "m", 5.0)
    with pytest.raises(SystemExit):  # the key is never a flag (it would show in `ps`)
        build_parser().parse_args(["ask", "q", "--llm-api-key", "x"])


def test_cli_ask_with_the_server_down(monkeypatch, capsys, tmp_path, seeds_copy):
    import rag.assistant
    from rag.cli import main

    monkeypatch.setattr(rag.assistant, "SentenceTransformerEmbedder", lambda *a, **k: FakeEmbedder())
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("RAG_LLM_BASE_URL", url)
    code = main(["ask", QUESTION, "--index-dir", str(tmp_path / "index"), "--docs-dir", str(seeds_copy)])
    err = capsys.readouterr().err
    assert code != 0
    assert f"error: Could not reach the LLM server at {url}/v1: connection refused" in err
    assert "Traceback" not in err


# ---------- a real llama_cpp.server with the small GGUF ----------
@pytest.fixture(scope="module")
def llama_server(tmp_path_factory) -> Iterator[str]:
    from rag.answer.models import resolve_model

    model = resolve_model("small", Settings().model_cache)
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "qwen-small",
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", str(os.cpu_count() or 2),
           "--n_threads_batch", str(os.cpu_count() or 2), "--flash_attn", "true", "--use_mmap", "false",
           "--logits_all", "false", "--verbose", "false"]
    url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({proc.returncode}):\n{log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as r:
                    if json.load(r)["data"]:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server not ready after 120 s:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        stop_process(proc, timeout=15)


@pytest.mark.slow
def test_real_server_answers_with_verified_citations(llama_server, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    settings = Settings(index_dir=str(tmp_path / "index"), docs_dir=str(docs), llm_base_url=llama_server)
    a = Assistant(settings)
    a.reindex(docs, progress=False)
    stream = a.stream(QUESTION)
    pieces = list(stream)
    ans = stream.answer
    t = ans.timings
    print(f"\nthrough llama_cpp.server: ttft {t.ttft_ms / 1000:.1f} s, total {t.total_ms / 1000:.1f} s, "
          f"{t.prompt_tokens} prompt tokens; {ans.answer!r}")
    assert a.llm.name == "qwen-small"  # the server's model, from /v1/models
    assert pieces and t.ttft_ms > 0 and t.total_ms >= t.ttft_ms and t.prompt_tokens > 100
    assert not ans.abstained, ans.answer
    assert "5 milliards" in ans.answer.replace("\u202f", " ").replace("\xa0", " "), ans.answer
    assert any(c.doc_id == "004_f51b68045130b9a9.txt" and c.supported for c in ans.citations), ans.to_dict()
    for c in ans.citations:
        assert a.document_text(c.doc_id)[c.start:c.end] == c.quote


def test_yes_probability_from_top_logprobs(server):
    llm = OpenAICompatLLM(server.url + "/v1")
    p = llm.yes_probability(MESSAGES)
    assert p == pytest.approx(math.exp(-0.1) / (math.exp(-0.1) + math.exp(-2.5)))
    body = server.chat_bodies()[-1]
    assert (body["max_tokens"], body["logprobs"], body["top_logprobs"], body["stream"]) == (1, True, 10, False)
    assert body["messages"] == MESSAGES and body["model"] == "fake-model"
    server.yes_logprob, server.no_logprob = -3.0, -0.05
    assert llm.yes_probability(MESSAGES) < 0.1


def test_yes_probability_without_logprobs_reads_the_token():
    from rag.answer.llm_http import _yes_from_completion

    assert _yes_from_completion({"choices": [{"message": {"content": "Yes."}}]}, "u") == 1.0
    assert _yes_from_completion({"choices": [{"message": {"content": "Peut-être"}}]}, "u") == 0.0
    with pytest.raises(LLMError, match="unexpected completion"):
        _yes_from_completion({"nothing": 1}, "u")
