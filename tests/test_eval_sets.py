"""The QA sets shipped in eval/: each loads, and every gold quote is an exact substring of
its article (a quote that drifted from its article would silently zero the retrieval and
citation figures of the question)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.eval.dataset import load_dataset

from .conftest import ROOT

SETS = [
    (ROOT / "eval" / "dev.jsonl", (ROOT / "seeds",)),
    *[(ROOT / "eval" / name / f"{split}.jsonl", (ROOT / "eval" / name / "docs",))
      for name in ("outside", "outside-fr", "fresh", "lives", "places") for split in ("tune", "check")],
    # Overview questions over the seeds and both sets of encyclopedia pages.
    (ROOT / "eval" / "overview" / "tune.jsonl",
     (ROOT / "seeds", ROOT / "eval" / "outside-fr" / "docs", ROOT / "eval" / "fresh" / "docs")),
]


def _article(folders: tuple[Path, ...], name: str) -> Path:
    return next((f / name for f in folders if (f / name).is_file()), folders[0] / name)


@pytest.mark.parametrize(("dataset", "docs"), SETS,
                         ids=lambda p: "/".join(Path(p).parts[-2:]) if isinstance(p, Path) else "docs")
def test_gold_quotes_are_exact_substrings_of_their_articles(dataset: Path, docs: tuple[Path, ...]) -> None:
    items = load_dataset(dataset)
    assert items
    texts: dict[str, str] = {}
    for item in items:
        if not item.answerable:
            assert not item.answers and not item.gold, item.id
            continue
        assert item.answers and item.gold, item.id
        for gold in item.gold:
            if gold.doc not in texts:
                texts[gold.doc] = _article(docs, gold.doc).read_text(encoding="utf-8")
            assert gold.quote in texts[gold.doc], (item.id, gold.doc, gold.quote[:60])


def test_the_fresh_set_has_both_languages_and_unanswerable_questions() -> None:
    for split in ("tune", "check"):
        items = load_dataset(ROOT / "eval" / "fresh" / f"{split}.jsonl")
        for lang in ("en", "fr"):
            mine = [i for i in items if i.lang == lang]
            assert sum(i.answerable for i in mine) >= 80 and sum(not i.answerable for i in mine) == 10
        assert {i.id.removesuffix("-fr") for i in items if i.lang == "fr"} == {i.id for i in items if i.lang == "en"}


def test_distractor_pages_keep_french_text_and_skip_menus(tmp_path):
    from rag.eval.distractors import write_distractors

    src = tmp_path / "help"
    src.mkdir()
    body = " ".join(f"Vous pouvez régler la couche numéro {i} dans la boîte de dialogue des calques." for i in range(8))
    (src / "page.html").write_text(
        f"<html><head><title>5.2. Les calques</title></head><body><article><p>{body}</p>"
        "<p>This command only works on images in RGB mode and is disabled otherwise.</p></article></body></html>",
        encoding="utf-8")
    (src / "menu.html").write_text("<html><head><title>Menu</title></head><body><p>Suivant</p></body></html>",
                                   encoding="utf-8")
    out = tmp_path / "out"
    assert write_distractors(out, sources=(str(src / "*.html"),)) == 1
    text = (out / "d000.txt").read_text(encoding="utf-8")
    assert text.startswith("5.2. Les calques\n") and "couche numéro 7" in text and "RGB" not in text


def test_every_overview_question_lists_the_facts_a_summary_should_give() -> None:
    items = load_dataset(ROOT / "eval" / "overview" / "tune.jsonl")
    assert {i.lang for i in items} == {"fr", "en"}
    for item in items:
        assert item.answerable and len(item.facts) >= 3, item.id
        assert set(item.answers) == {s for fact in item.facts for s in fact}, item.id
