"""An LLM behind any OpenAI-compatible HTTP server.

``OpenAICompatLLM`` streams ``/v1/chat/completions`` (server-sent events) from
llama.cpp's ``llama-server``, ``python -m llama_cpp.server``, vLLM or Ollama.
Standard library only (``http.client``), so no extra dependency; proxies from
the environment are not used, as the server is normally on this machine or LAN.

Every failure (server down, timeout, HTTP error, malformed stream) becomes an
:class:`~rag.errors.LLMError` whose message names the URL and what to check.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from rag.answer.llm import REPEAT_PENALTY, yes_or_no, yes_share
from rag.errors import LLMError, redact
from rag.settings import api_root

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]

CONNECT_TIMEOUT = 5.0
# Fallback when the server cannot tokenize: an answer prompt of the project (French
# question, 5 passages) is 5856 characters in ChatML and 1549 Qwen2.5 tokens.
CHARS_PER_TOKEN = 3.8
SETTINGS_HINT = "Set --llm-base-url / RAG_LLM_BASE_URL."


def iter_sse_data(lines: Iterable[bytes]) -> Iterator[str]:
    """The ``data`` of each server-sent event in ``lines``; comments (pings) and other fields skipped.

    >>> list(iter_sse_data([b'data: {"a": 1}\\n', b'\\n', b': ping\\n', b'\\n', b'data: [DONE]\\n']))
    ['{"a": 1}', '[DONE]']
    """
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:  # a blank line ends an event
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def chatml(messages: Messages) -> str:
    """``messages`` in ChatML, the chat template of the project's Qwen models, with the generation prompt.

    >>> chatml([{"role": "user", "content": "Hi"}])
    '<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n'
    """
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


class _StatusError(LLMError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class OpenAICompatLLM:
    """A model served over the OpenAI chat API. Nothing is contacted until the first call.

    ``model`` empty means the server's first model (``/v1/models``). ``timeout`` is
    how long the server may stay silent while answering; connecting gets at most
    ``CONNECT_TIMEOUT`` seconds, so a server that is down fails fast.
    """

    def __init__(self, base_url: str, model: str = "", *, timeout: float = 120.0,
                 api_key: str | None = None) -> None:
        self.base_url = api_root(base_url)
        self.shown_url = redact(self.base_url)  # for messages: no user:password@
        parts = urlsplit(self.base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = parts.path  # ends in /v1; the server's extras live next to it
        self.model = model
        self.name = model or f"default model of {self.shown_url}"  # the id once /v1/models answered
        self.timeout = timeout
        self.connect_timeout = min(CONNECT_TIMEOUT, timeout)
        self._api_key = api_key
        self._model_resolved = bool(model)
        self._count_path: str | None = None  # tokenize endpoint that worked; "" = none does
        # The server runs one generation at a time (llama_cpp.server even interrupts
        # the running one): callers queue here, as with the in-process backend.
        self.lock = threading.RLock()

    def __repr__(self) -> str:
        return f"OpenAICompatLLM({self.shown_url!r}, model={self.model!r})"

    # ---------- HTTP ----------
    def _unreachable(self, reason: str) -> LLMError:
        return LLMError(f"Could not reach the LLM server at {self.shown_url}: {reason}. "
                        f"Is it running? {SETTINGS_HINT}")

    def _broken(self, exc: BaseException, timeout: float | None = None) -> LLMError:
        """The error for a failure after connecting (reading the answer)."""
        if isinstance(exc, TimeoutError):
            return LLMError(
                f"The LLM server at {self.shown_url} sent nothing for {timeout or self.timeout:g} s "
                f"(model {self.name}). It may be busy or too slow for this model; "
                "raise --llm-timeout / RAG_LLM_TIMEOUT or check the server's log."
            )
        return LLMError(f"The LLM server at {self.shown_url} broke off the connection "
                        f"({type(exc).__name__}: {exc}). Check the server's log.")

    def _open(self, method: str, path: str, payload: dict[str, Any] | None = None, *,
              timeout: float | None = None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send one request to ``path`` (absolute) and return the connection and a 2xx response."""
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except ConnectionRefusedError:
            raise self._unreachable("connection refused") from None
        except TimeoutError:
            raise self._unreachable(f"no answer within {self.connect_timeout:g} s") from None
        except socket.gaierror as exc:
            raise self._unreachable(f"unknown host {self._host!r} ({exc.strerror})") from None
        except ssl.SSLError as exc:
            raise self._unreachable(f"TLS error ({exc})") from None
        except OSError as exc:
            raise self._unreachable(exc.strerror or str(exc)) from None
        headers = {"Accept": "text/event-stream, application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        try:
            assert conn.sock is not None
            conn.sock.settimeout(timeout or self.timeout)
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            if resp.status < 400:
                return conn, resp
            detail = _error_detail(resp.read(4000))
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise self._broken(exc, timeout) from None
        conn.close()
        raise self._status_error(resp.status, path, detail)

    def _status_error(self, status: int, path: str, detail: str) -> _StatusError:
        what = f"The LLM server at {self.shown_url} answered HTTP {status} to {path}"
        if detail:
            what += f" ({detail})"
        if status in (401, 403):
            advice = "Set RAG_LLM_API_KEY to the server's API key."
        elif status == 404:
            advice = ("Check the URL (the server's OpenAI API root, usually ending in /v1) "
                      "and the model name (--llm-model / RAG_LLM_MODEL).")
        else:
            advice = "Check the server's log."
        return _StatusError(f"{what}. {advice}", status)

    def _get_json(self, path: str, payload: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        conn, resp = self._open("POST" if payload is not None else "GET", path, payload, timeout=timeout)
        try:
            return json.loads(resp.read())
        except (OSError, http.client.HTTPException) as exc:
            raise self._broken(exc, timeout) from None
        except ValueError:
            raise LLMError(f"The LLM server at {self.shown_url} sent malformed JSON for {path}. "
                           f"Is it an OpenAI-compatible server? {SETTINGS_HINT}") from None
        finally:
            conn.close()

    # ---------- model ----------
    def _model_id(self) -> str:
        """The model to ask for: the configured one, else the server's first (once)."""
        if not self._model_resolved:
            try:
                listing = self._get_json(self._path + "/models", timeout=min(self.timeout, 30.0))
                ids = [m["id"] for m in listing.get("data", []) if isinstance(m, dict) and m.get("id")]
            except _StatusError as exc:  # no model listing: let the server use its default
                log.info("no model list at %s (HTTP %d): using the server's default model", self.base_url,
                         exc.status)
                ids = []
            except AttributeError:
                ids = []
            if ids:
                self.model = self.name = str(ids[0])
                log.info("LLM server %s: using model %s (of %d)", self.base_url, self.model, len(ids))
            self._model_resolved = True
        return self.model

    # ---------- LLM protocol ----------
    def stream_chat(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
                    stop: list[str] | None = None, grammar: str | None = None) -> Iterator[str]:
        """Yield the answer's pieces as the server streams them.

        ``grammar`` (GBNF) is passed through: llama.cpp servers honour it, others ignore it.
        """
        with self.lock:
            body: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                                    "stream": True, "repeat_penalty": REPEAT_PENALTY}
            model = self._model_id()
            if model:
                body["model"] = model
            if stop:
                body["stop"] = list(stop)
            if grammar:
                body["grammar"] = grammar
            conn, resp = self._open("POST", self._path + "/chat/completions", body)
            try:
                if "text/event-stream" not in (resp.getheader("Content-Type") or ""):
                    # A server that ignored "stream": the whole answer at once.
                    yield from self._pieces([resp.read().decode("utf-8", errors="replace")], streamed=False)
                else:
                    yield from self._pieces(iter_sse_data(resp), streamed=True)
            except (OSError, http.client.HTTPException) as exc:
                raise self._broken(exc) from None
            finally:
                conn.close()  # also when the caller stops early: the server stops generating

    def _pieces(self, events: Iterable[str], *, streamed: bool) -> Iterator[str]:
        """The text pieces in ``events`` (JSON chunks, then ``[DONE]`` when streamed)."""
        finished = False
        for data in events:
            if data.strip() == "[DONE]":
                finished = True
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                raise LLMError(f"The LLM server at {self.shown_url} sent malformed data: {data[:120]!r}. "
                               f"Is it an OpenAI-compatible server? {SETTINGS_HINT}") from None
            if not isinstance(chunk, dict):
                raise LLMError(f"The LLM server at {self.shown_url} sent unexpected data: {data[:120]!r}.")
            if "error" in chunk:
                raise LLMError(f"The LLM server at {self.shown_url} failed while answering: "
                               f"{_error_message(chunk)}. Check the server's log.")
            for choice in chunk.get("choices") or []:
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                part = choice.get("delta" if streamed else "message") or {}
                piece = part.get("content") if isinstance(part, dict) else None
                if piece:
                    yield str(piece)
                finished = finished or bool(choice.get("finish_reason"))
            if not streamed:
                finished = True
        if not finished:
            raise LLMError(f"The LLM server at {self.shown_url} ended the stream before the answer was complete. "
                           "Check the server's log.")

    def yes_probability(self, messages: Messages) -> float:
        """P(yes) of the reply's first token against P(no), from the server's ``top_logprobs``.

        One non-streamed chat completion of one token (``logprobs``, ``top_logprobs: 10``),
        the way OpenAI, vLLM and llama-server report token probabilities. A server that
        sends no logprobs gives 1.0 or 0.0 from the token it wrote (0.0 when that is
        neither yes nor no).
        """
        with self.lock:
            body: dict[str, Any] = {"messages": messages, "max_tokens": 1, "temperature": 0.0, "stream": False,
                                    "logprobs": True, "top_logprobs": 10}
            model = self._model_id()
            if model:
                body["model"] = model
            data = self._get_json(self._path + "/chat/completions", body)
        return _yes_from_completion(data, self.shown_url)

    def count_tokens(self, messages: Messages) -> int:
        """Prompt tokens for ``messages``; never raises.

        The messages are rendered in ChatML and counted by the server's tokenizer
        (llama_cpp.server's ``/extras/tokenize/count`` or llama-server's
        ``/tokenize``): exact for the project's Qwen models. Servers without such
        an endpoint (vLLM, Ollama) or a failing call give an estimate,
        ``len(prompt) / CHARS_PER_TOKEN``.
        """
        prompt = chatml(messages)
        root = self._path[: -len("/v1")]
        candidates = [self._count_path] if self._count_path is not None else [
            root + "/extras/tokenize/count", root + "/tokenize"]
        with self.lock:  # a request meanwhile could interrupt another caller's answer
            for path in filter(None, candidates):
                payload = {"input": prompt} if path.endswith("/count") else {"content": prompt}
                try:
                    data = self._get_json(path, payload, timeout=min(self.timeout, 10.0))
                    count = data.get("count") if "count" in data else len(data.get("tokens") or [])
                except _StatusError:
                    continue  # no such endpoint here: try the next one
                except (LLMError, AttributeError, TypeError):
                    log.debug("token count via %s failed", path, exc_info=True)
                    return _estimate(prompt)  # down or odd: estimate, and try again next time
                if isinstance(count, int) and count > 0:
                    self._count_path = path
                    return count
            self._count_path = ""
        return _estimate(prompt)


def _yes_from_completion(data: Any, url: str) -> float:
    """P(yes) from a chat completion of one token with ``top_logprobs``.

    >>> choice = {"message": {"content": "Yes"}, "logprobs": {"content": [{"token": "Yes", "logprob": -0.1,
    ...     "top_logprobs": [{"token": "Yes", "logprob": -0.1}, {"token": "No", "logprob": -2.5}]}]}}
    >>> round(_yes_from_completion({"choices": [choice]}, "u"), 3)
    0.917
    >>> _yes_from_completion({"choices": [{"message": {"content": "non"}}]}, "u")
    0.0
    """
    try:
        choice = data["choices"][0]
        tokens = ((choice.get("logprobs") or {}).get("content") or [{}])[0]
        top = tokens.get("top_logprobs") or []
        pairs = [(verdict, float(t["logprob"])) for t in top
                 if (verdict := yes_or_no(str(t.get("token", "")))) is not None]
        written = str((choice.get("message") or {}).get("content") or "")
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        raise LLMError(f"The LLM server at {url} sent an unexpected completion for the yes/no question: "
                       f"{json.dumps(data, ensure_ascii=False)[:200]}. Is it an OpenAI-compatible server?") from None
    share = yes_share(pairs)
    if share is not None:
        return share
    first = written.split()[0] if written.split() else ""
    return 1.0 if yes_or_no(first.strip(".,!:")) else 0.0


def _estimate(prompt: str) -> int:
    return math.ceil(len(prompt) / CHARS_PER_TOKEN)


def _error_message(data: Any) -> str:
    """The message in an OpenAI-style (``{"error": {"message"}}``) or FastAPI (``{"detail"}``) error body."""
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            return str(err) if not isinstance(err, list | dict) else json.dumps(err, ensure_ascii=False)
    return json.dumps(data, ensure_ascii=False)


def _error_detail(body: bytes) -> str:
    """A short readable detail from an HTTP error body."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        text = _error_message(json.loads(text))
    except ValueError:
        pass
    # Servers echo credentials ("Invalid key: Bearer ..."): never show them.
    return redact(" ".join(text.split()))[:300]
