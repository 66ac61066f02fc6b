"""Large-corpus features: index types, incremental updates that embed only what
changed, and removing articles."""

from __future__ import annotations

import numpy as np
import pytest

from rag.cli import main
from rag.errors import RagError
from rag.index import vectors
from rag.index.store import load_index
from rag.index.sync import index_folder, remove_documents

from .conftest import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, remembering every passage text it was asked to embed."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def encode_passages(self, texts, *, progress=False):
        self.embedded.extend(texts)
        return super().encode_passages(texts)


def build(docs, idx, embedder=None, **kw):
    return index_folder(docs, index_dir=idx, embedder=embedder or FakeEmbedder(), chunk_size=500,
                        chunk_overlap=100, progress=False, **kw)


def test_adding_one_article_embeds_only_that_article(seeds_copy, tmp_path):
    idx = tmp_path / "index"
    build(seeds_copy, idx)
    before = load_index(idx)
    article = ("Mistral AI a levé 600 millions d'euros en juin. La start-up française vise les entreprises. "
               "Ses modèles sont publiés en open source. ") * 6
    (seeds_copy / "new.txt").write_text(article, encoding="utf-8")
    counting = CountingEmbedder()
    report = build(seeds_copy, idx, counting)
    assert report.added == ["new.txt"] and len(report.unchanged) == 5
    assert counting.embedded and all(text in article for text in counting.embedded)
    after = load_index(idx)
    new_chunks = [c for c in after.chunks if c.doc_id == "new.txt"]
    assert report.embedded_chunks == len(new_chunks) > 1
    # Unchanged articles keep their chunk ids and their vectors.
    old = {c.chunk_id: before.embeddings[i] for i, c in enumerate(before.chunks)}
    for i, c in enumerate(after.chunks):
        if c.doc_id != "new.txt":
            assert np.array_equal(after.embeddings[i], old[c.chunk_id])


def test_remove_keeps_the_others_and_refuses_unknown_ids(seeds_copy, tmp_path):
    idx = tmp_path / "index"
    build(seeds_copy, idx)
    gone = "001_a2c6221ca19d9293.txt"
    report = remove_documents([gone], index_dir=idx, embedder=CountingEmbedder())
    assert report.removed == [gone] and len(report.unchanged) == 4 and report.embedded_chunks == 0
    data = load_index(idx)
    assert gone not in data.documents and all(c.doc_id != gone for c in data.chunks)
    with pytest.raises(RagError, match="did you mean 002_12dc10dc675edb87.txt"):
        remove_documents(["002_12dc10dc675edb87.tx"], index_dir=idx, embedder=FakeEmbedder())
    assert len(load_index(idx).documents) == 4  # the failed removal changed nothing


def test_rag_remove_command(seeds_copy, tmp_path, capsys, monkeypatch):
    import rag.assistant

    monkeypatch.setattr(rag.assistant, "SentenceTransformerEmbedder", lambda *a, **k: FakeEmbedder())
    idx = tmp_path / "index"
    build(seeds_copy, idx)
    assert main(["remove", "000_e98cb6c1cff36586.txt", "--index-dir", str(idx)]) == 0
    out = capsys.readouterr().out
    assert "1 removed, 4 unchanged" in out and "still exists" in out
    assert main(["remove", "missing.txt", "--index-dir", str(idx)]) == 2
    assert "Not in the index" in capsys.readouterr().err


@pytest.mark.parametrize("n, expected", [(10, "flat"), (25_000, "fp16"), (600_000, "ivfpq")])
def test_index_type_follows_the_corpus_size(n, expected):
    assert vectors.choose_kind(n) == expected


def test_unknown_index_type_is_refused():
    from rag.errors import ConfigError
    from rag.settings import Settings

    with pytest.raises(ConfigError, match="index_type"):
        Settings(index_type="annoy")


def _clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 500 fixed topics (the same topics for every seed)."""
    centers = np.random.default_rng(99).normal(size=(500, dim))
    rng = np.random.default_rng(seed)
    x = centers[rng.integers(0, 500, n)] + rng.normal(scale=0.3, size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["ivfpq", "hnsw"])
def test_approximate_indexes_find_what_exact_search_finds(kind):
    x = _clustered(30_000)
    queries = _clustered(50, seed=1)
    exact = vectors.build(x, kind="flat")
    approx = vectors.deserialize(vectors.serialize(vectors.build(x, kind=kind)))
    assert vectors.describe(approx) == kind
    recall = np.mean([
        len({i for i, _ in vectors.search(approx, q, 10)} & {i for i, _ in vectors.search(exact, q, 10)}) / 10
        for q in queries
    ])
    assert recall >= 0.95


def test_index_type_setting_is_applied_and_kept_without_rebuilding(seeds_copy, tmp_path):
    idx = tmp_path / "index"
    report = build(seeds_copy, idx, index_type="hnsw")
    assert report.index_type == "hnsw" and vectors.describe(load_index(idx).faiss_index) == "hnsw"
    report = build(seeds_copy, idx)
    assert report.index_type == "flat"  # the setting changed: rebuilt and saved
    assert vectors.describe(load_index(idx).faiss_index) == "flat"


def test_a_running_assistant_picks_up_an_index_rebuilt_by_another_process(make_assistant, seeds_copy, tmp_path):
    a = make_assistant("OpenAI va perdre de l'argent [1].")
    a.ask("Combien OpenAI va perdre ?")
    assert "new.txt" not in a.data.documents
    (seeds_copy / "new.txt").write_text("Mistral AI a levé 600 millions d'euros en juin 2024.", encoding="utf-8")
    # Another writer (e.g. `rag index` or a second web worker) updates the same index directory.
    build(seeds_copy, a.index_dir)
    answer = a.ask("Combien Mistral AI a-t-elle levé ?")
    assert "new.txt" in a.data.documents
    assert any(p.doc_id == "new.txt" for p in answer.passages)
    assert a.refresh() is False  # nothing changed since


def test_a_broken_rewrite_keeps_the_loaded_index(make_assistant, tmp_path):
    a = make_assistant("x")
    n = len(a.data.documents)
    manifest = a.index_dir / "manifest.json"
    manifest.write_text("{ not json", encoding="utf-8")
    assert a.refresh() is False and len(a.data.documents) == n
