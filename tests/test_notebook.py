"""examples/quickstart.ipynb runs top to bottom in a real kernel (nbclient + ipykernel):
on the fakes in the fast suite, on the real models in the slow one. The executed
notebook and its first answer (HTML, and PNG with chromium) go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbformat, nbclient, ipykernel)")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# The kernel imports the test fakes before the notebook's first cell (fast suite only).
FAKES_CELL = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nimport tests.fakes\ntests.fakes.install()"


def run_notebook(monkeypatch, tmp_path, docs: Path, *, fakes: bool, timeout: int) -> nbformat.NotebookNode:
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_DOCS_DIR", str(docs))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    if fakes:
        nb.cells.insert(0, nbformat.v4.new_code_cell(FAKES_CELL))
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    ARTIFACTS.mkdir(exist_ok=True)
    name = "quickstart.fakes.ipynb" if fakes else "quickstart.executed.ipynb"
    nbformat.write(nb, ARTIFACTS / name)
    return nb


def outputs(nb, key: str) -> list[str]:
    """Every output of ``key`` (a MIME type, or "stream") in cell order."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if key == "stream" and out.get("output_type") == "stream":
                found.append(out["text"])
            elif key in out.get("data", {}):
                found.append(out["data"][key])
    return found


def check_outputs(nb) -> str:
    """Assertions shared by both runs; returns the first answer's HTML."""
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    answers = [h for h in outputs(nb, "text/html") if 'class="rag-answer"' in h]
    assert len(answers) >= 6  # fr, en, stream, follow-up, two conversation turns
    first = answers[0]
    assert "<mark>" in first and 'class="cite"' in first and ">[1]</a>" in first
    assert "Assistant(index=" in outputs(nb, "text/plain")[0]
    assert any("Passage(#1 " in t for t in outputs(nb, "text/plain"))
    assert any("# Conversation" in m for m in outputs(nb, "text/markdown"))
    streamed = "".join(outputs(nb, "stream"))
    assert re.search(r"\[\d+\]", streamed)  # the streamed draft, markers not yet renumbered
    assert "recall" in streamed.lower()  # the evaluation table
    assert outputs(nb, "image/png")  # the chart
    return first


def screenshot(first_html: str, name: str) -> None:
    """The rendered answer as the notebook shows it, through chromium."""
    page = ARTIFACTS / f"{name}.html"
    page.write_text(f"<!doctype html><meta charset='utf-8'><body style='margin:16px'>{first_html}</body>",
                    encoding="utf-8")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium for the screenshot")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": 900, "height": 600})
            tab.goto(page.as_uri())
            tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        finally:
            browser.close()


def test_quickstart_runs_on_the_fakes(monkeypatch, tmp_path, seeds_copy):
    nb = run_notebook(monkeypatch, tmp_path, seeds_copy, fakes=True, timeout=180)
    first = check_outputs(nb)
    (ARTIFACTS / "notebook_answer.fakes.html").write_text(first, encoding="utf-8")


@pytest.mark.slow
def test_quickstart_runs_on_the_real_models(monkeypatch, tmp_path, seeds_copy):
    nb = run_notebook(monkeypatch, tmp_path, seeds_copy, fakes=False, timeout=900)
    first = check_outputs(nb)
    screenshot(first, "notebook_answer")
    assert (ARTIFACTS / "notebook_answer.png").stat().st_size > 10_000
