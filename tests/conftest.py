"""Shared fixtures: deterministic fakes of the embedder and the LLM that implement
the real interfaces, and an autouse fixture keeping user state and network out."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEV = ROOT / "eval" / "dev.jsonl"


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

    def __init__(self, reply: Callable[[list[dict[str, str]]], str] | str = "") -> None:
        self.reply = reply
        self.calls: list[list[dict[str, str]]] = []
        self.lock = threading.RLock()

    def stream_chat(self, messages, *, max_tokens=256, temperature=0.0, stop=None, grammar=None) -> Iterator[str]:
        self.calls.append(messages)
        text = self.reply(messages) if callable(self.reply) else self.reply
        yield from re.findall(r"\S+\s*", text)

    def count_tokens(self, messages) -> int:
        return sum(len(m["content"].split()) for m in messages)


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path_factory):
    """No user settings leak in, no hub: offline flags and no RAG_* variables for every test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key, raising=False)
    yield


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def seeds_copy(tmp_path) -> Path:
    dst = tmp_path / "docs"
    shutil.copytree(SEEDS, dst)
    return dst


@pytest.fixture
def make_assistant(tmp_path, fake_embedder, seeds_copy):
    """Build an assistant over a copy of the seeds with the fakes."""
    from rag.assistant import Assistant
    from rag.settings import Settings

    def make(reply="", **settings_kw):
        settings = Settings(index_dir=str(tmp_path / "index"), docs_dir=str(seeds_copy), **settings_kw)
        return Assistant(settings, embedder=fake_embedder, llm=FakeLLM(reply))

    return make


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate a server started by a test; kill it if it does not stop in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
