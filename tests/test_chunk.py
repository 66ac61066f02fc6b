from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.index.chunk import chunk_document, chunk_spans
from rag.index.load import load_file
from rag.text.sentences import normalize_text, sentence_spans, split_sentences

from .conftest import seed_articles


@pytest.mark.parametrize(
    "text, expected",
    [
        ("OpenAI perd 5 milliards. Anthropic aussi.", ["OpenAI perd 5 milliards.", "Anthropic aussi."]),
        ("M. Altman parle. Il sourit.", ["M. Altman parle.", "Il sourit."]),
        ("Revenue is 3.4 billion. Costs rise!", ["Revenue is 3.4 billion.", "Costs rise!"]),
        ("Titre\nCorps du texte. Suite ?", ["Titre", "Corps du texte.", "Suite ?"]),
        ("« Fraise » arrive. C'est tout.", ["« Fraise » arrive.", "C'est tout."]),
        ("Le montant est de 3,4 milliards. Voilà", ["Le montant est de 3,4 milliards.", "Voilà"]),
    ],
)
def test_sentences_fr_en(text, expected):
    assert split_sentences(text) == expected


def test_chunks_cover_seed_documents_exactly():
    for path in seed_articles():
        doc, _ = load_file(path)
        chunks = chunk_document(doc, 500, 100)
        assert chunks, path
        for c in chunks:
            assert doc.text[c.start:c.end] == c.text
            assert len(c.text) <= 500
        # Every sentence lies inside some chunk: nothing is lost.
        for s, e in sentence_spans(doc.text):
            assert any(c.start <= s and e <= c.end for c in chunks), doc.text[s:e]


def test_a_seed_opening_with_its_date_quotes_its_first_sentence_without_it():
    # "date 2023-10 La Silicon Valley a misé gros…": the header gives the article's date
    # (rag.news.dates); quoted as part of the first sentence it read as the article's words.
    doc, _ = load_file(next(p for p in seed_articles() if p.name.startswith("003_")))
    assert doc.text.lstrip().startswith("date 2023-10")
    s, e = sentence_spans(doc.text)[0]
    assert doc.text[s:e].startswith("La Silicon Valley a misé gros")
    assert chunk_document(doc, 500, 100)[0].text.startswith("La Silicon Valley")


def test_never_cuts_inside_a_sentence_when_it_fits():
    text = "Une phrase assez longue ici. " * 30
    spans = chunk_spans(text, 100, 0)
    for s, e in spans:
        assert text[s:e].endswith(".")


def test_long_sentence_is_cut_at_words():
    text = "mot " * 100
    spans = chunk_spans(text.strip(), 50, 0)
    assert all(e - s <= 50 for s, e in spans)
    assert " ".join(text.strip()[s:e] for s, e in spans).split() == text.split()


def test_bad_sizes_raise():
    with pytest.raises(ValueError):
        chunk_spans("abc", 10, 10)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=600),
       st.integers(50, 300), st.integers(0, 49))
def test_offsets_always_map_back_and_lose_nothing(text, size, overlap):
    text = normalize_text(text)
    spans = chunk_spans(text, size, overlap)
    covered = set()
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        assert e - s <= size
        covered.update(range(s, e))
    # Characters outside every chunk are whitespace only.
    assert all(text[i].isspace() for i in range(len(text)) if i not in covered)
