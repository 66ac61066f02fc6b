"""pypdf's warnings about odd PDFs never reach the terminal as they come: one line per
file that was read despite its defects, and the defects in that file's outcome."""

from __future__ import annotations

import logging
import subprocess
import sys

from rag.index.load import load_folder

from .conftest import ROOT
from .test_robustness import PDF_TEXT, minimal_pdf

SHIFTED_TEXT = "Orbital Data a signe un contrat de 12 millions avec ESA en 2024."

# `rag index` in a child process with the fake embedder, so stderr is what a terminal shows.
SCRIPT = """
import sys
import rag.assistant
from tests.conftest import FakeEmbedder
rag.assistant.SentenceTransformerEmbedder = lambda *a, **k: FakeEmbedder()
from rag.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _odd_folder(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdf = minimal_pdf(PDF_TEXT)
    (docs / "good.pdf").write_bytes(pdf)
    (docs / "shifted.pdf").write_bytes(b"junk " + minimal_pdf(SHIFTED_TEXT))  # bad header, offsets off by 5
    (docs / "cut.pdf").write_bytes(pdf[: len(pdf) // 2])
    return docs


def test_pypdf_warnings_become_one_line_per_file(tmp_path):
    docs = _odd_folder(tmp_path)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, "index", str(docs), "--index-dir", str(tmp_path / "index"),
                           "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "pypdf" not in proc.stderr, proc.stderr  # no raw pypdf record
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "shifted.pdf read despite 3 defects (invalid pdf header" in lines[0], proc.stderr
    assert "its text may be incomplete" in lines[0]
    assert "skipped   cut.pdf: unreadable PDF" in proc.stdout  # a skipped file keeps its one report line


def test_pdf_defects_are_in_the_file_outcome_and_the_logger_is_restored(tmp_path, caplog):
    pypdf_logger = logging.getLogger("pypdf")
    before = (pypdf_logger.propagate, list(pypdf_logger.handlers))
    with caplog.at_level(logging.WARNING):
        docs, outcomes = load_folder(_odd_folder(tmp_path))
    detail = {o.path: (o.status, o.detail) for o in outcomes}
    assert detail["good.pdf"] == ("loaded", "pdf")
    assert detail["shifted.pdf"][0] == "loaded" and detail["shifted.pdf"][1].startswith("pdf, read despite 3 defects")
    assert detail["cut.pdf"][0] == "skipped"
    assert [r.name for r in caplog.records] == ["rag.index.load"]  # pypdf's own records collected
    assert (pypdf_logger.propagate, list(pypdf_logger.handlers)) == before
    assert {d.doc_id: d.text for d in docs}["shifted.pdf"] == SHIFTED_TEXT
