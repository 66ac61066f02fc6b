"""Shared fixtures: deterministic fakes of the embedder and the LLM that implement
the real interfaces, and an autouse fixture keeping user state and network out."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEV = ROOT / "eval" / "dev.jsonl"


def seed_articles() -> list[Path]:
    """The articles of seeds/ (the folder also holds metadata that is not indexed)."""
    from rag.index.load import SUPPORTED_SUFFIXES

    return sorted(p for p in SEEDS.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)


class FakeEmbedder:
    """Bag of folded words hashed into 256 dims: deterministic, instant, no model."""

    id = "fake-embedder"
    dim = 256

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in re.findall(r"\w+", text.lower()):
            h = int(hashlib.md5(w[:6].encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        return self.encode_queries(texts)


class FakeLLM:
    """Canned output: ``reply(messages) -> str`` streamed word by word."""

    name = "fake-llm"

    def __init__(self, reply: Callable[[list[dict[str, str]]], str] | str = "",
                 yes: Callable[[list[dict[str, str]]], float] | float = 0.5) -> None:
        self.reply = reply
        self.yes = yes  # what yes_probability answers
        self.calls: list[list[dict[str, str]]] = []
        self.yes_calls: list[list[dict[str, str]]] = []
        self.lock = threading.RLock()

    def stream_chat(self, messages, *, max_tokens=256, temperature=0.0, stop=None, grammar=None) -> Iterator[str]:
        self.calls.append(messages)
        text = self.reply(messages) if callable(self.reply) else self.reply
        yield from re.findall(r"\S+\s*", text)

    def count_tokens(self, messages) -> int:
        return sum(len(m["content"].split()) for m in messages)

    def yes_probability(self, messages) -> float:
        self.yes_calls.append(messages)
        return float(self.yes(messages) if callable(self.yes) else self.yes)


_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _local_only(address) -> None:
    """Refuse any connection that would leave the machine (loopback and Unix sockets pass)."""
    host = address[0] if isinstance(address, tuple) else None
    if isinstance(host, str) and not host.startswith(_LOOPBACK):
        raise ConnectionRefusedError(f"tests may not use the network (connection to {address!r} refused)")


def _guarded_connect(self, address):
    _local_only(address)
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    _local_only(address)
    return _connect_ex(self, address)


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path_factory):
    """No user settings leak in, no hub, no network: offline flags, no RAG_* variables, and
    sockets that refuse every non-loopback address, for every test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def seeds_copy(tmp_path) -> Path:
    dst = tmp_path / "docs"
    shutil.copytree(SEEDS, dst)
    return dst


def fake_assistant(docs: Path, index_dir: Path, embedder: FakeEmbedder, reply="", **settings_kw):
    """An assistant over ``docs`` with the fake embedder and a canned LLM ``reply``."""
    from rag.assistant import Assistant
    from rag.settings import Settings

    settings = Settings(index_dir=str(index_dir), docs_dir=str(docs), **settings_kw)
    return Assistant(settings, embedder=embedder, llm=FakeLLM(reply))


@pytest.fixture
def make_assistant(tmp_path, fake_embedder, seeds_copy):
    """Build an assistant over a copy of the seeds with the fakes."""
    return lambda reply="", **kw: fake_assistant(seeds_copy, tmp_path / "index", fake_embedder, reply, **kw)


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate a server started by a test; kill it if it does not stop in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
