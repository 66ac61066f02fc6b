"""Every error a user can cause from the command line ends in one line naming the
file (and line) and what to do, a non-zero exit and no traceback."""

from __future__ import annotations

import json
import socket

import pytest

import rag.assistant
from rag.cli import main
from rag.errors import redact
from rag.eval.dataset import DEFAULT_DATASET
from rag.index import store
from rag.index.load import decode_bytes
from rag.settings import Settings

from .conftest import FakeEmbedder


@pytest.fixture(autouse=True)
def fake_models(monkeypatch):
    monkeypatch.setattr(rag.assistant, "SentenceTransformerEmbedder", lambda *a, **k: FakeEmbedder())


def run(capsys, *argv: str) -> str:
    """Run the CLI; it must fail with exit 2 and one line on stderr, no traceback."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def index(tmp_path, seeds_copy, capsys):
    idx = tmp_path / "index"
    assert main(["index", str(seeds_copy), "--index-dir", str(idx), "--quiet"]) == 0
    capsys.readouterr()
    return idx


def test_eval_missing_dataset(capsys, tmp_path):
    line = run(capsys, "eval", str(tmp_path / "missing.jsonl"), "--index-dir", str(tmp_path / "i"))
    assert "missing.jsonl: dataset not found" in line and "give the path" in line


def test_eval_malformed_line(capsys, tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = {"id": "q1", "lang": "fr", "question": "Qui ?", "answers": [], "gold": [], "answerable": False}
    bad.write_text(json.dumps(good) + "\n{not json\n", encoding="utf-8")
    line = run(capsys, "eval", str(bad), "--index-dir", str(tmp_path / "i"))
    assert "bad.jsonl, line 2: invalid JSON" in line and "fix it" in line


def test_bench_missing_dataset_and_default_found_from_anywhere(capsys, tmp_path, monkeypatch):
    line = run(capsys, "bench", "--dataset", str(tmp_path / "nope.jsonl"), "--index-dir", str(tmp_path / "i"))
    assert "nope.jsonl: dataset not found" in line
    monkeypatch.chdir(tmp_path)  # outside the repository: the default still resolves
    assert DEFAULT_DATASET.is_absolute() and DEFAULT_DATASET.is_file()


@pytest.mark.parametrize("command", [["ask", "Qui ?"], ["index"]])
def test_manifest_that_is_not_an_object(capsys, index, seeds_copy, command):
    (index / store.MANIFEST).write_text("[]", encoding="utf-8")
    argv = [*command, *([str(seeds_copy)] if command == ["index"] else []), "--index-dir", str(index)]
    line = run(capsys, *argv)
    assert "manifest.json is not an index manifest" in line and "rag index --rebuild" in line


def test_incomplete_manifest_does_not_suggest_embedder_none(capsys, index):
    (index / store.MANIFEST).write_text(json.dumps({"format_version": 1, "files": {}}), encoding="utf-8")
    line = run(capsys, "ask", "Qui ?", "--index-dir", str(index))
    assert "None" not in line and "rag index --rebuild" in line


def test_read_only_index_folder_on_index(capsys, tmp_path, seeds_copy, monkeypatch):
    def refuse(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(store, "atomic_write_bytes", refuse)  # what a read-only folder does, even as root
    line = run(capsys, "index", str(seeds_copy), "--index-dir", str(tmp_path / "ro"), "--quiet")
    assert "Cannot write the index in" in line and "Permission denied" in line and "--index-dir" in line


def test_unreadable_index_data_file_on_ask(capsys, index, monkeypatch):
    real = store.file_sha256

    def unreadable(path):
        if path.name.startswith("embeddings"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(store, "file_sha256", unreadable)
    line = run(capsys, "ask", "Qui ?", "--index-dir", str(index))
    assert "embeddings-" in line and "cannot be read (Permission denied)" in line and "readable" in line


@pytest.mark.parametrize("command", [["index", "--quiet"], ["ask", "Qui ?"]])
def test_index_dir_naming_a_file(capsys, tmp_path, seeds_copy, command):
    afile = tmp_path / "notes.txt"
    afile.write_text("x", encoding="utf-8")
    argv = [command[0], *([str(seeds_copy)] if command[0] == "index" else command[1:]), "--index-dir", str(afile)]
    if command[0] == "index":
        argv.append("--quiet")
    line = run(capsys, *argv)
    assert "notes.txt is a file" in line and "--index-dir" in line


def test_secrets_are_redacted_in_messages(capsys):
    assert redact("HTTP 401: Invalid key: Bearer sk-live-12345678abc") == "HTTP 401: Invalid key: Bearer ***"
    with pytest.raises(Exception) as info:
        Settings(llm_base_url="ftp://bob:hunter2@10.0.0.2/v1")
    assert "hunter2" not in str(info.value)
    line = run(capsys, "ask", "Qui ?", "--llm-base-url", "ftp://bob:hunter2@host/v1")
    assert "hunter2" not in line and "***@" in line


def test_utf16_with_bom_and_a_stray_nul_are_text():
    assert decode_bytes("\ufeffLe café ouvre.".encode("utf-16-le")) == ("Le café ouvre.", "utf-16")
    assert decode_bytes("Le café\x00 ouvre.".encode()) == ("Le café ouvre.", "utf-8")
    with pytest.raises(Exception, match="binary"):
        decode_bytes(bytes(range(256)) * 8)


def test_network_is_blocked_for_fast_tests():
    with pytest.raises(ConnectionRefusedError, match="network"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
