"""`rag index FOLDER` adds a folder's articles; it removes only those whose file under FOLDER is gone."""

from __future__ import annotations

import json

from rag import cli


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _index(capsys, folder, idx, *extra):
    capsys.readouterr()
    assert cli.main(["index", str(folder), "--index-dir", str(idx), "--quiet", "--json", *extra]) == 0
    out = capsys.readouterr()
    return json.loads(out.out), out.err


def test_second_folder_adds_and_prune_removes_after_listing(tmp_path, capsys, monkeypatch, fake_embedder):
    monkeypatch.setattr("rag.assistant.SentenceTransformerEmbedder", lambda *a, **k: fake_embedder)
    a, b, idx = tmp_path / "a", tmp_path / "b", tmp_path / "index"
    _write(a, "alpha.txt", "Alpha lève 10 millions d'euros.\n\nLa start-up Alpha a levé 10 millions d'euros mardi.")
    _write(a, "beta.txt", "Beta rachète Gamma.\n\nLe groupe Beta a racheté Gamma pour 2 milliards.")
    _write(b, "delta.txt", "Delta ouvre un centre.\n\nDelta ouvre un centre de données à Lyon.")

    assert sorted(_index(capsys, a, idx)[0]["added"]) == ["alpha.txt", "beta.txt"]
    report, _ = _index(capsys, b, idx)
    assert report["added"] == ["delta.txt"] and report["removed"] == []  # folder a is kept

    (a / "beta.txt").unlink()  # gone from its own folder: removed when that folder is indexed
    report, _ = _index(capsys, a, idx)
    assert report["removed"] == ["beta.txt"] and "delta.txt" in report["unchanged"]

    capsys.readouterr()
    assert cli.main(["index", str(a), "--index-dir", str(idx), "--quiet"]) == 0
    assert "`--prune` would remove: delta.txt" in capsys.readouterr().out

    report, err = _index(capsys, a, idx, "--prune")
    assert "removing 1 article(s)" in err and "delta.txt" in err
    assert report["removed"] == ["delta.txt"]
