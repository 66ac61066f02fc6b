from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rag.answer.retrieve import Retriever, merge_spans, rrf_fuse
from rag.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from rag.index.store import MANIFEST, load_index
from rag.index.sync import index_folder

from .conftest import ROOT, FakeEmbedder, seed_articles


def build(docs, index_dir, embedder=None, **kw):
    return index_folder(docs, index_dir=index_dir, embedder=embedder or FakeEmbedder(), chunk_size=500,
                        chunk_overlap=100, progress=False, **kw)


def test_build_and_round_trip(seeds_copy, tmp_path):
    idx = tmp_path / "index"
    report = build(seeds_copy, idx)
    assert len(report.added) == 5 and report.n_chunks > 10
    manifest = json.loads((idx / MANIFEST).read_text())
    assert manifest["format_version"] == 1 and manifest["embedder"] == {"id": "fake-embedder", "dim": 256}
    assert set(manifest["documents"]) == {p.name for p in seed_articles()}
    # Save then load: the index as built in memory against a fresh load of the files written
    # (copied elsewhere first, so nothing can come from the builder's memory).
    built = report.data
    assert built is not None and built.generation == manifest["generation"]
    copy = tmp_path / "copy"
    shutil.copytree(idx, copy)
    data = load_index(copy, embedder_id="fake-embedder")
    assert data is not built and data.documents == built.documents and data.chunks == built.chunks
    assert np.array_equal(data.embeddings, built.embeddings)
    for c in data.chunks:
        assert data.documents[c.doc_id].text[c.start:c.end] == c.text
    for q, lang in [("Combien OpenAI va perdre ?", "fr"), ("Which company raised money?", "en")]:
        r1 = Retriever(built, FakeEmbedder()).retrieve(q, k=5, language=lang)[0]
        r2 = Retriever(data, FakeEmbedder()).retrieve(q, k=5, language=lang)[0]
        assert r1 and [(p.chunk_id, p.start, p.end, p.score) for p in r1] == [
            (p.chunk_id, p.start, p.end, p.score) for p in r2]


def test_incremental_reembeds_only_changes(seeds_copy, tmp_path):
    idx = tmp_path / "index"
    build(seeds_copy, idx)
    before = load_index(idx)
    (seeds_copy / "new.txt").write_text("Un nouvel article sur Nvidia. Il parle de puces.", encoding="utf-8")
    (seeds_copy / "000_e98cb6c1cff36586.txt").unlink()
    report = build(seeds_copy, idx)
    assert report.added == ["new.txt"] and report.removed == ["000_e98cb6c1cff36586.txt"]
    assert len(report.unchanged) == 4 and report.embedded_chunks == 1
    after = load_index(idx)
    old_ids = {c.chunk_id for c in before.chunks if c.doc_id != "000_e98cb6c1cff36586.txt"}
    assert old_ids <= {c.chunk_id for c in after.chunks}
    report = build(seeds_copy, idx)
    assert report.embedded_chunks == 0 and not (report.added or report.updated or report.removed)


def test_other_embedder_is_refused(seeds_copy, tmp_path):
    idx = tmp_path / "index"
    build(seeds_copy, idx)
    with pytest.raises(IndexMismatchError, match="rag index --rebuild"):
        load_index(idx, embedder_id="another-model")

    class Other(FakeEmbedder):
        id = "other"

    with pytest.raises(IndexMismatchError):
        build(seeds_copy, idx, embedder=Other())
    assert build(seeds_copy, idx, embedder=Other(), rebuild=True).n_chunks > 0


def test_missing_and_corrupt(seeds_copy, tmp_path):
    with pytest.raises(IndexMissingError, match="rag index"):
        load_index(tmp_path / "nothing")
    idx = tmp_path / "index"
    build(seeds_copy, idx)
    manifest = json.loads((idx / MANIFEST).read_text())
    chunks = idx / manifest["files"]["chunks"]["name"]
    chunks.write_bytes(chunks.read_bytes()[:-50])
    with pytest.raises(IndexCorruptError, match="rebuild"):
        load_index(idx)


def test_sigkill_during_build_keeps_previous_index(seeds_copy, tmp_path):
    idx = tmp_path / "index"
    build(seeds_copy, idx)
    good = load_index(idx)
    for i in range(40):
        shutil.copy(seeds_copy / "001_a2c6221ca19d9293.txt", seeds_copy / f"copy{i}.txt")
        with open(seeds_copy / f"copy{i}.txt", "a", encoding="utf-8") as f:
            f.write(f"\nVariante {i}.")
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from conftest import FakeEmbedder
        from rag.index.sync import index_folder
        class Slow(FakeEmbedder):
            def encode_passages(self, texts, progress=False):
                print('embedding', flush=True)
                time.sleep(30)
                return super().encode_passages(texts)
        index_folder({str(seeds_copy)!r}, index_dir=__import__('pathlib').Path({str(idx)!r}), embedder=Slow(),
                     chunk_size=500, chunk_overlap=100, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "embedding"
    proc.kill()
    proc.wait()
    again = load_index(idx)
    assert [c.chunk_id for c in again.chunks] == [c.chunk_id for c in good.chunks]


def test_rrf_and_merge():
    assert rrf_fuse([[1, 2], [2, 3]], [1.0, [2.0, 2.0]], rrf_k=0)[0][0] == 2
    from rag.records import Chunk

    a = Chunk("a:0-10", "a", 0, 10, "x" * 10)
    b = Chunk("a:8-20", "a", 8, 20, "x" * 12)
    c = Chunk("b:0-5", "b", 0, 5, "y" * 5)
    merged = merge_spans([(a, 0.9, 0.5), (c, 0.8, 0.4), (b, 0.7, 0.3)], 2, max_chars=100)
    assert [(m[0], m[1], m[2]) for m in merged] == [("a", 0, 20), ("b", 0, 5)]
    assert np.isclose(merged[0][4], 0.5)


def test_reranker_reorders_the_head(seeds_copy, tmp_path):
    idx = tmp_path / "index"
    build(seeds_copy, idx)
    data = load_index(idx)
    seen: list[int] = []

    class Reverse:
        """Scores the fused order backwards: the last chunk of the head comes first."""

        def scores(self, question, texts):
            seen.append(len(texts))
            return [float(i) for i in range(len(texts))]

    q = "Combien OpenAI va perdre ?"
    plain = Retriever(data, FakeEmbedder()).ranked_chunks(q, "fr")
    reranked = Retriever(data, FakeEmbedder(), reranker=Reverse(), rerank_depth=6).ranked_chunks(q, "fr")
    assert seen == [6]
    assert [i for i, _, _ in reranked[:6]] == [i for i, _, _ in plain[:6]][::-1]
    assert [i for i, _, _ in reranked[6:]] == [i for i, _, _ in plain[6:]]


def test_missing_cross_encoder_is_a_clear_error():
    from rag.answer.rerank import CrossEncoderReranker
    from rag.errors import ModelError

    with pytest.raises(ModelError, match="unset --reranker"):
        CrossEncoderReranker("/nonexistent/cross-encoder").scores("q", ["t"])


def test_rebuild_keeps_unrelated_files_and_drops_old_generations(seeds_copy, tmp_path):
    idx = tmp_path / "index"
    idx.mkdir()
    (idx / ".gitignore").write_text("*\n")
    (idx / "notes.txt").write_text("mine")
    build(seeds_copy, idx)
    build(seeds_copy, idx, rebuild=True)
    names = {p.name for p in idx.iterdir()}
    assert {".gitignore", "notes.txt", "manifest.json"} <= names
    assert not any(n.startswith("chunks-1.") for n in names)  # the first generation is gone


def test_an_index_built_without_title_context_loads_with_a_warning(seeds_copy, tmp_path, caplog):
    idx = tmp_path / "index"
    build(seeds_copy, idx)
    with caplog.at_level("WARNING", logger="rag.index.store"):
        load_index(idx, embedder_id="fake-embedder")
    assert not caplog.records
    manifest = json.loads((idx / MANIFEST).read_text())
    del manifest["chunking"]["context"]  # as written before the titles were added
    (idx / MANIFEST).write_text(json.dumps(manifest))
    with caplog.at_level("WARNING", logger="rag.index.store"):
        data = load_index(idx, embedder_id="fake-embedder")
    assert data.chunks and "rag index" in caplog.text and "older version" in caplog.text
