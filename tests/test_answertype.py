"""Answer types in evidence selection: a question asking when gets the sentence holding a date."""

from __future__ import annotations

from rag.answer.evidence import EvidenceSelector
from tests.conftest import fake_assistant

# Both sentences hold all the question's words; the second, with the date, also says more.
ARTICLE = """Spectacle de la mi-temps

La ligue a annoncé le spectacle de la mi-temps avec Coldplay. Le 3 décembre, la ligue a annoncé le spectacle \
de la mi-temps avec Coldplay en grande pompe.
"""


def _best_sentence(tmp_path, fake_embedder, question: str, type_weight: float) -> str:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "mi-temps.txt").write_text(ARTICLE, encoding="utf-8")
    assistant = fake_assistant(docs, tmp_path / "index", fake_embedder)
    retriever = assistant.retriever
    passages, _ = retriever.retrieve(question, k=1, language="fr")
    best = max(EvidenceSelector(retriever, type_weight=type_weight).candidates(question, "fr", passages),
               key=lambda c: c.score)
    return passages[best.passage].text[best.start:best.end]


def test_a_when_question_reads_the_sentence_with_the_date(tmp_path, fake_embedder):
    question = "Quand la ligue a annoncé le spectacle de la mi-temps avec Coldplay ?"
    assert not _best_sentence(tmp_path, fake_embedder, question, 0.0).startswith("Le 3 décembre")
    assert _best_sentence(tmp_path, fake_embedder, question, EvidenceSelector.TYPE_WEIGHT).startswith("Le 3 décembre")


def test_an_untyped_question_gets_no_bonus(tmp_path, fake_embedder):
    question = "Qui a annoncé le spectacle de la mi-temps avec Coldplay ?"
    assert (_best_sentence(tmp_path, fake_embedder, question, 0.0)
            == _best_sentence(tmp_path, fake_embedder, question, EvidenceSelector.TYPE_WEIGHT))
