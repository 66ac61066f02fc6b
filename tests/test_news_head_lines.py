"""Plain-text article metadata: a labelled date line among the head lines is the article's
date, a labelled metadata line is never its title, and the text itself is left untouched."""

from __future__ import annotations

import pytest

from rag.index.chunk import chunk_document
from rag.index.load import extract_title, load_file
from rag.news.head import date_from_header, metadata_line

BODY = ("La start-up grenobloise Helios Batteries a annoncé jeudi une levée de fonds de 45 millions d'euros. "
        "Elle a été fondée en 2021.\nCet argent servira à construire une usine qui doit ouvrir en 2026.\n")


@pytest.mark.parametrize(("head", "title", "date"), [
    ("Helios lève 45 M€\nDate : 2024-05-02\n", "Helios lève 45 M€", "2024-05-02"),
    ("Helios lève 45 M€\nDate: 2 mai 2024\n", "Helios lève 45 M€", "2024-05-02"),
    ("Helios lève 45 M€\n\nPublié le 2 mai 2024 à 10h15\n", "Helios lève 45 M€", "2024-05-02"),
    ("Helios raises €45m\nPublished May 2, 2024\n", "Helios raises €45m", "2024-05-02"),
    ("Date : 2024-05-02\nHelios lève 45 M€\n", "Helios lève 45 M€", "2024-05-02"),
    ("Titre : Helios lève 45 M€\nDate : 2024-05-02\n", "Helios lève 45 M€", "2024-05-02"),
    ("Source : AFP\nAuteur : Claire Dupont\nTitle: Helios lève 45 M€\n", "Helios lève 45 M€", None),
    ("# Helios raises €45m\n\n*Published 12 September 2024*\n\n", "Helios raises €45m", "2024-09-12"),
    ("Helios lève 45 M€\n_Date de publication : mai 2024_\n", "Helios lève 45 M€", "2024-05"),
    (" date 2023-10 Helios lève 45 M€\n", "Helios lève 45 M€", "2023-10"),
])
def test_head_metadata_gives_title_and_date_and_keeps_the_text(tmp_path, head, title, date):
    path = tmp_path / "article.md"
    path.write_text(head + BODY, encoding="utf-8")
    doc, _ = load_file(path)
    assert doc.title == title
    if date:
        assert (doc.date, doc.date_source, doc.date_inferred) == (date, "header line", False)
    else:
        assert doc.date_source == "inferred from text"
    assert doc.text == head + BODY  # metadata is read, the text is not changed
    for c in chunk_document(doc, 200, 40):
        assert doc.text[c.start:c.end] == c.text


def test_a_dated_line_further_down_is_not_the_article_date():
    text = "Helios lève 45 M€\n" + "Une phrase.\n" * 5 + "Date : 2019-01-01\n"
    assert date_from_header(text) is None
    assert date_from_header("Helios\nDate limite : 2025-01-01\nTexte") is None  # not a publication date


@pytest.mark.parametrize("line", [
    "Published papers show a rise in AI spending", "Titre de champion pour Helios", "Dates clés : 2024",
    "Le 2 mai, Helios a levé 45 M€", "Sources of growth: AI",
])
def test_ordinary_first_lines_stay_titles(line):
    assert metadata_line(line) is None
    assert extract_title(line + "\nCorps.") == line


def test_only_metadata_gives_no_title_rather_than_a_label():
    assert extract_title("Date : 2024-05-02\nSource : AFP\n") == ""
