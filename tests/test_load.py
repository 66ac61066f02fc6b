from __future__ import annotations

import os

import pytest

from rag.errors import IngestError
from rag.index.load import decode_bytes, extract_date, extract_title, load_file, load_folder

from .conftest import SEEDS


def test_seed_metadata():
    doc, note = load_file(SEEDS / "003_016efe2fe0a07bca.txt")
    assert doc.doc_id == "003_016efe2fe0a07bca.txt"
    assert doc.date == "2023-10"
    assert doc.title.startswith("La Silicon Valley")
    assert len(doc.sha256) == 64 and note == "decoded as utf-8"
    assert doc.language == "fr"


def test_crlf_and_nfd_are_normalised(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("Titre\r\nL'e\u0301te\u0301 arrive.\r\n".encode())
    doc, _ = load_file(p)
    assert doc.text == "Titre\nL'\u00e9t\u00e9 arrive.\n"


def test_cp1252_is_decoded(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("Un café à 3 € pour l’été.".encode("cp1252"))
    doc, note = load_file(p)
    assert doc.text == "Un café à 3 € pour l’été." and note == "decoded as cp1252"


def test_markdown_title(tmp_path):
    p = tmp_path / "a.md"
    p.write_text("# Le grand titre\n\nCorps.", encoding="utf-8")
    assert load_file(p)[0].title == "Le grand titre"


def test_html_main_text(tmp_path):
    p = tmp_path / "a.html"
    body = " ".join(["Mistral AI a levé 600 millions d'euros auprès de ses investisseurs."] * 5)
    p.write_text(
        f"<html><head><title>Levée</title><style>body{{color:red}}</style><script>var x='SECRET';</script></head>"
        f"<body><nav>Menu</nav><article><h1>Levée</h1><p>{body}</p></article></body></html>",
        encoding="utf-8",
    )
    doc, _ = load_file(p)
    assert "600 millions" in doc.text
    assert "SECRET" not in doc.text and "color:red" not in doc.text


def test_pdf_text(tmp_path):
    pytest.importorskip("pypdf")
    from rag.index.load import _pdf_text

    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 not really a pdf")
    with pytest.raises(IngestError):
        _pdf_text(bad)


@pytest.mark.parametrize("data", [b"\x00\x01\x02binary", bytes(range(256)) * 10])
def test_binary_rejected(data):
    with pytest.raises(IngestError):
        decode_bytes(data)


def test_folder_outcomes(tmp_path):
    (tmp_path / "a.txt").write_text("Un article. Avec du texte.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Un article. Avec du texte.", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x00\x00")
    (tmp_path / "img.png").write_bytes(b"\x89PNG")
    (tmp_path / "big.txt").write_text("x" * 3000, encoding="utf-8")
    outside = tmp_path.parent / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    os.symlink(outside, tmp_path / "link.txt")
    docs, outcomes = load_folder(tmp_path, max_bytes=2000)
    by_path = {o.path: o for o in outcomes}
    assert [d.doc_id for d in docs] == ["a.txt"]
    assert by_path["b.txt"].status == "duplicate" and "a.txt" in by_path["b.txt"].detail
    assert by_path["empty.txt"].detail == "empty file"
    assert "binary" in by_path["bin.txt"].detail
    assert "unsupported" in by_path["img.png"].detail
    assert "too large" in by_path["big.txt"].detail
    assert "outside" in by_path["link.txt"].detail


def test_unreadable_file_is_skipped(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    p = tmp_path / "secret.txt"
    p.write_text("texte", encoding="utf-8")
    p.chmod(0)
    _, outcomes = load_folder(tmp_path)
    assert outcomes[0].status == "skipped"


def test_helpers():
    assert extract_title("\n\n  Titre  \nx") == "Titre"
    assert extract_date("Publié le 2024-06-11 à Paris") == "2024-06-11"
