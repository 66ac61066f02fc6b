"""`rag index FOLDER --rebuild` rebuilds the whole index: the articles it held from other
folders are read again from their files, those whose file is gone are removed and named,
and the refusals that ask for a rebuild name the index folder they are about."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

import rag
import rag.assistant
from rag.cli import main
from rag.index import store
from rag.index.store import MANIFEST, load_index, read_documents
from rag.index.sync import index_folder

from .conftest import FakeEmbedder, seed_articles

HELIOS = "Helios lève 45 millions d'euros.\n\nLa start-up Helios a levé 45 millions d'euros jeudi à Grenoble."
ORBITAL = "Orbital signe avec l'ESA.\n\nOrbital Data a signé un contrat de 12 millions d'euros avec l'ESA."


@pytest.fixture(autouse=True)
def fake_models(monkeypatch):
    monkeypatch.setattr(rag.assistant, "SentenceTransformerEmbedder", lambda *a, **k: FakeEmbedder())


def cli(capsys, *argv: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def mixed(tmp_path, seeds_copy, capsys):
    """An index of the seeds plus two articles added from another folder."""
    other, idx = tmp_path / "other", tmp_path / "index"
    other.mkdir()
    (other / "helios.txt").write_text(HELIOS, encoding="utf-8")
    (other / "orbital.txt").write_text(ORBITAL, encoding="utf-8")
    assert cli(capsys, "index", seeds_copy, "--index-dir", idx, "--quiet")[0] == 0
    assert cli(capsys, "index", other, "--index-dir", idx, "--quiet")[0] == 0
    assert len(load_index(idx).documents) == 7
    return seeds_copy, other, idx


def test_rebuild_of_one_folder_keeps_the_articles_of_the_others(mixed, capsys):
    seeds, other, idx = mixed
    code, out, err = cli(capsys, "index", other, "--rebuild", "--index-dir", idx, "--quiet")
    assert code == 0, err
    data = load_index(idx)
    assert set(data.documents) == {p.name for p in seed_articles()} | {"helios.txt", "orbital.txt"}
    # Every article read again and embedded again: the numbers say so, and nothing is called removed.
    assert re.search(r": rebuilt, 7 added, 0 updated, 0 removed, 0 unchanged; \d+ chunks", out), out
    assert "kept 5 article(s) from other folders" in out  # as without --rebuild
    for c in data.chunks:
        assert data.documents[c.doc_id].text[c.start:c.end] == c.text
    # Read again from their own folder, with its metadata.csv: the seeds keep their dates.
    assert all(data.documents[p.name].date_source.startswith("metadata.csv") for p in seed_articles())


def test_rebuild_removes_and_names_the_articles_whose_file_is_gone(mixed, capsys):
    seeds, other, idx = mixed
    (other / "orbital.txt").unlink()
    gone = seed_articles()[0].name
    (seeds / gone).unlink()
    changed = seed_articles()[1].name
    with open(seeds / changed, "a", encoding="utf-8") as f:
        f.write("\nUne phrase ajoutée depuis.")
    code, out, err = cli(capsys, "index", other, "--rebuild", "--index-dir", idx, "--quiet", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert sorted(report["removed"]) == sorted([gone, "orbital.txt"]) and report["rebuilt"]
    assert len(report["added"]) == 5 and report["updated"] == report["unchanged"] == []
    assert report["removed_reasons"][gone] == f"file not found: {seeds / gone}"
    assert report["removed_reasons"]["orbital.txt"] == f"no longer in {other}"
    data = load_index(idx)
    assert len(data.documents) == 5 and data.documents[changed].text.endswith("Une phrase ajoutée depuis.")
    # The text report names them too.
    (other / "orbital.txt").write_text(ORBITAL, encoding="utf-8")
    assert cli(capsys, "index", other, "--index-dir", idx, "--quiet")[0] == 0
    (seeds / changed).unlink()
    code, out, _ = cli(capsys, "index", other, "--rebuild", "--index-dir", idx, "--quiet")
    assert code == 0 and re.search(r"1 removed, .*; removed " + re.escape(f"{changed} (file not found: "), out), out


def test_rebuild_after_a_garbled_manifest_still_keeps_the_other_folders(mixed, capsys):
    seeds, other, idx = mixed
    (idx / MANIFEST).write_text('{"format_version": 1, "gener', encoding="utf-8")
    code, _, err = cli(capsys, "ask", "Combien Helios a-t-elle levé ?", "--index-dir", idx)
    assert code == 2 and f"`rag index --rebuild --index-dir {idx}`" in err  # advice for this index
    code, out, err = cli(capsys, "index", other, "--rebuild", "--index-dir", idx, "--quiet")
    assert code == 0, err
    assert len(load_index(idx).documents) == 7 and "7 added" in out


def test_rebuild_does_not_keep_an_altered_document(mixed):
    """A damaged documents file: what can no longer be trusted is not carried into the rebuild."""
    _, _, idx = mixed
    manifest = json.loads((idx / MANIFEST).read_text())
    path = idx / manifest["files"]["documents"]["name"]
    lines = path.read_text("utf-8").splitlines()
    first = json.loads(lines[0])
    first["text"] = first["text"].replace("e", "é", 1)  # the text no longer matches its sha256
    lines[0] = json.dumps(first, ensure_ascii=False)
    lines[1] = lines[1][: len(lines[1]) // 2]  # cut
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(read_documents(idx)) == 5


def test_new_chunk_settings_keep_the_articles_of_other_folders(mixed):
    seeds, other, idx = mixed
    report = index_folder(other, index_dir=idx, embedder=FakeEmbedder(), chunk_size=300, chunk_overlap=50,
                          progress=False)
    assert report.removed == [] and len(report.added) == 7 and report.rebuilt
    assert len(load_index(idx).documents) == 7


def test_rebuild_without_an_index_is_a_plain_build(seeds_copy, tmp_path):
    report = index_folder(seeds_copy, index_dir=tmp_path / "index", embedder=FakeEmbedder(), chunk_size=500,
                          chunk_overlap=100, rebuild=True, progress=False)
    assert len(report.added) == 5 and not report.rebuilt and report.removed == []


# ---------- refusals name the index they are about ----------

@pytest.mark.parametrize("content", ["", "{", "\x00\x01garbage", "[]"])
def test_garbled_or_empty_manifest_names_the_index_folder(mixed, capsys, content):
    _, _, idx = mixed
    (idx / MANIFEST).write_text(content, encoding="utf-8")
    code, _, err = cli(capsys, "ask", "Qui ?", "--index-dir", idx)
    assert code == 2 and err.count("\n") == 1
    assert f"`rag index --rebuild --index-dir {idx}`" in err


@pytest.mark.parametrize("edit", [
    lambda m: m.pop("chunking"),
    lambda m: m["embedder"].pop("dim"),
    lambda m: m["files"].update(chunks="chunks-1.jsonl"),
    lambda m: m.update(generation="two"),
])
def test_incomplete_manifest_is_refused_in_one_line(mixed, capsys, edit):
    _, _, idx = mixed
    manifest = json.loads((idx / MANIFEST).read_text())
    edit(manifest)
    (idx / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    code, _, err = cli(capsys, "ask", "Qui ?", "--index-dir", idx)
    assert code == 2 and err.count("\n") == 1 and f"--index-dir {idx}`" in err, err


def test_every_rebuild_advice_of_the_package_names_the_index_folder():
    """Following advice without --index-dir would rebuild ./index, another index."""
    found = 0
    for path in Path(rag.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "rag index --rebuild" in node.value:
                found += 1
                assert "rag index --rebuild --index-dir" in node.value, (path, node.value)
    assert found >= 5


def test_inconsistent_index_and_old_lexical_format_name_the_index_folder(mixed, capsys):
    _, _, idx = mixed
    manifest = json.loads((idx / MANIFEST).read_text())
    lexical = idx / manifest["files"]["lexical"]["name"]
    with np.load(lexical) as z:
        state = {k: z[k] for k in z.files}
    state["format_version"] = np.int64(0)
    with open(lexical, "wb") as f:
        np.savez(f, **state)
    manifest["files"]["lexical"]["sha256"] = store.file_sha256(lexical)
    (idx / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    code, _, err = cli(capsys, "ask", "Qui ?", "--index-dir", idx)
    assert code == 2 and "lexical index format version 0" in err and f"--index-dir {idx}`" in err, err


def test_remove_of_an_unknown_document_lists_what_the_index_holds(mixed, capsys):
    _, _, idx = mixed
    code, out, err = cli(capsys, "remove", "helio.txt", "--index-dir", idx)
    assert code == 2 and out == ""
    assert "'helio.txt' (did you mean helios.txt?)" in err
    assert "The index holds 7 documents: 000_" in err and "orbital.txt" in err
    assert "rag index --json" not in err  # that command indexes a folder; it lists nothing


def test_rebuild_from_another_working_folder_finds_articles_indexed_by_a_relative_path(
        tmp_path, seeds_copy, capsys, monkeypatch):
    other, idx = tmp_path / "other", tmp_path / "index"
    other.mkdir()
    (other / "helios.txt").write_text(HELIOS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "index", "docs", "--index-dir", idx, "--quiet")[0] == 0  # relative folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = cli(capsys, "index", other, "--rebuild", "--index-dir", idx, "--quiet")
    assert code == 0 and "6 added" in out and "0 removed" in out, out + err
    assert len(load_index(idx).documents) == 6
    # Indexing again by another spelling of the same folder is not new metadata.
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli(capsys, "index", "./docs", "--index-dir", idx, "--quiet")
    assert "0 added, 0 updated, 0 removed, 6 unchanged;" in out, out


def test_rebuild_keeps_as_indexed_an_article_recorded_by_a_relative_path_not_found_from_here(mixed, capsys):
    """Indexes written before sources were absolute: the file may only be out of sight."""
    seeds, other, idx = mixed
    manifest = json.loads((idx / MANIFEST).read_text())
    path = idx / manifest["files"]["documents"]["name"]
    path.write_text(path.read_text("utf-8").replace(json.dumps(str(seeds))[1:-1], "gone-folder"), encoding="utf-8")
    code, out, err = cli(capsys, "index", other, "--rebuild", "--index-dir", idx, "--quiet", "--json")
    report = json.loads(out)
    assert code == 0 and report["removed"] == [] and len(report["added"]) == 7, err
    assert report["kept_unread"] == sorted(p.name for p in seed_articles())
    assert len(load_index(idx).documents) == 7


def test_the_rebuild_advice_works_from_a_folder_without_the_docs_folder(mixed, capsys, tmp_path, monkeypatch):
    """`rag index --rebuild --index-dir DIR`, as every rebuild advice says, run where the default
    --docs-dir (./seeds) does not exist: the index is rebuilt from its own articles' folders."""
    seeds, other, idx = mixed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = cli(capsys, "index", "--rebuild", "--index-dir", idx, "--quiet")
    assert code == 0, err
    assert set(load_index(idx).documents) == {p.name for p in seed_articles()} | {"helios.txt", "orbital.txt"}
    assert re.search(r"rebuilt, 7 added, 0 updated, 0 removed", out), out
    assert not (elsewhere / "seeds").exists()
