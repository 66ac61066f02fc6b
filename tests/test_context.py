"""Contextual chunks: a chunk that never names its subject is found through its document's title."""

from __future__ import annotations

from rag.assistant import Assistant
from rag.index.chunk import retrieval_texts
from rag.records import Chunk, Document
from rag.settings import Settings

FILLER = " ".join(f"Phrase de remplissage numéro {i} sur la vie au village." for i in range(12))
BIO = (
    "Jakob Böhme\n"
    "Jakob Böhme est un cordonnier et mystique allemand né à Alt Seidenberg.\n"
    f"{FILLER}\n"
    "Le jeune cordonnier tombe gravement malade en 1600, et sa vision change sa vie."
)
OTHER = (
    "Questions fréquentes sur les arrêts de travail\n"
    "Que faire quand un salarié tombe malade pendant ses congés ? Il doit prévenir son employeur.\n"
    "Un salarié malade doit envoyer un certificat médical dans les deux jours."
)


def test_retrieval_text_names_the_document():
    doc = Document(doc_id="bohme.txt", title="Jakob Böhme", text=BIO, source="", sha256="x")
    chunk = Chunk(chunk_id="bohme.txt:900-960", doc_id="bohme.txt", start=900, end=960,
                  text="Le jeune cordonnier tombe malade.", language="fr")
    assert retrieval_texts([chunk], {"bohme.txt": doc}) == ["Jakob Böhme\nLe jeune cordonnier tombe malade."]


def test_chunk_without_its_subject_is_found_by_the_subject(tmp_path, fake_embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bohme.txt").write_text(BIO, encoding="utf-8")
    (docs / "faq-arret.txt").write_text(OTHER, encoding="utf-8")
    settings = Settings(index_dir=str(tmp_path / "index"), docs_dir=str(docs), chunk_size=300, chunk_overlap=0)
    a = Assistant(settings, embedder=fake_embedder)
    passages = a.retrieve("En quelle année Jakob Böhme tombe-t-il malade ?", k=3)
    ranks = {("malade en 1600" in p.text, p.doc_id): p.rank for p in passages}
    assert ranks[(True, "bohme.txt")] < ranks.get((False, "faq-arret.txt"), 99)
    # The context is for retrieval only: the passage text is the document's own.
    assert all(p.text == (docs / p.doc_id).read_text(encoding="utf-8")[p.start:p.end] for p in passages)
