"""Issue 16 through the product: dates at index time, copies in retrieval, relative time
in the prompt, revised figures in the answer, time in questions. Fakes only (the real
model's revised-figure answer is in tests/test_slow.py)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from rag import cli
from rag.answer.news import (
    SAME_TEXT,
    _containment,
    add_news_context,
    date_ranked,
    question_time,
    without_copies,
)
from rag.answer.prompt import build_messages
from rag.assistant import Assistant
from rag.index.load import load_folder
from rag.news.copies import shingles
from rag.records import Answer, Citation, Passage
from rag.settings import Settings
from tests.conftest import FakeLLM, fake_assistant

NEWS = Path(__file__).resolve().parent / "data" / "news"
MARCH, REPRINT, REVISION, HIRES = ("2024-03-14-nebula-pertes.txt", "reprise-agence.txt",
                                   "nebula-revision.html", "nebula-embauches.txt")


@pytest.fixture
def news_copy(tmp_path) -> Path:
    dst = tmp_path / "news"
    shutil.copytree(NEWS, dst)
    return dst


@pytest.fixture
def news_assistant(tmp_path, fake_embedder, news_copy):
    return lambda reply="", **kw: fake_assistant(news_copy, tmp_path / "index", fake_embedder, reply, **kw)


# --- dates at load and index time ---------------------------------------------------------


def test_load_folder_dates_from_header_sidecar_and_html():
    docs, outcomes = load_folder(NEWS)
    by_id = {d.doc_id: d for d in docs}
    got = {k: (d.date, d.date_source, d.date_inferred, d.outlet) for k, d in by_id.items()}
    assert got == {
        MARCH: ("2024-03-14", "header line", False, None),
        REPRINT: ("2024-03-15", "metadata.csv line 2", False, "L'Écho des Alpes"),
        REVISION: ("2024-09-02", "HTML article:published_time", False, None),
        HIRES: ("2023-11-02", "metadata.csv line 3", False, "Isère Matin"),
    }
    assert by_id[HIRES].url == "https://isere-matin.example/voironnais/nebula-recrute"
    assert by_id[HIRES].author == "Julien Perret"
    assert [o.status for o in outcomes if o.path == "metadata.csv"] == ["metadata"]


def test_rag_index_reports_dates_sources_outlets_and_copies(tmp_path, monkeypatch, fake_embedder, capsys, news_copy):
    monkeypatch.setattr("rag.assistant.SentenceTransformerEmbedder", lambda *a, **k: fake_embedder)
    idx = tmp_path / "idx"
    assert cli.main(["index", str(news_copy), "--index-dir", str(idx), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{MARCH}: 2024-03-14 (header line)" in out
    assert f"{REPRINT}: 2024-03-15 (metadata.csv line 2) · L'Écho des Alpes" in out
    assert f"{REVISION}: 2024-09-02 (HTML article:published_time)" in out
    assert f"copy      {REPRINT}: copy of {MARCH}" in out
    manifest = json.loads((idx / "manifest.json").read_text())
    assert manifest["copies"][0]["canonical"] == MARCH
    assert manifest["documents"][REPRINT]["outlet"] == "L'Écho des Alpes"

    # An edited metadata.csv updates the documents on the next `rag index`, nothing re-embedded.
    sidecar = news_copy / "metadata.csv"
    sidecar.write_text(sidecar.read_text().replace("2023-11-02,Isère Matin", "2023-11-03,Isère Soir"))
    assert cli.main(["index", str(news_copy), "--index-dir", str(idx), "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["retagged"] == [HIRES] and report["embedded_chunks"] == 0
    doc = Assistant(Settings(index_dir=str(idx)), embedder=fake_embedder).data.documents[HIRES]
    assert (doc.date, doc.outlet) == ("2023-11-03", "Isère Soir")


def test_index_without_news_fields_still_loads(news_assistant, tmp_path):
    """An index written before dates existed (no date_source, outlet, copies) loads with None."""
    a = news_assistant()
    a.reindex()
    idx = tmp_path / "index"
    manifest = json.loads((idx / "manifest.json").read_text())
    docs_file = idx / manifest["files"]["documents"]["name"]
    rows = [json.loads(line) for line in docs_file.read_text().splitlines()]
    old = [{k: v for k, v in r.items() if k not in ("date_source", "date_inferred", "date_note", "outlet",
                                                   "url", "author")} for r in rows]
    docs_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in old))
    from rag.index.store import file_sha256

    manifest["files"]["documents"]["sha256"] = file_sha256(docs_file)
    del manifest["copies"]
    (idx / "manifest.json").write_text(json.dumps(manifest))
    data = Assistant(Settings(index_dir=str(idx)), embedder=a.embedder).data
    assert data.documents[REPRINT].outlet is None and data.copies == []


def test_every_seed_citation_carries_a_date_and_its_source(make_assistant):
    a = make_assistant(reply=lambda m: "OpenAI pourrait perdre 5 milliards de dollars cette année [1].")
    for q in ["Combien OpenAI pourrait-elle perdre cette année ?", "Quelle est la valorisation d'OpenAI ?"]:
        ans = a.ask(q)
        for c in ans.citations:
            assert c.date and c.date_source, c
        for p in ans.passages:
            d = p.to_dict()
            assert d["date"] and d["date_source"] and "outlet" in d


# --- copies ------------------------------------------------------------------------------


def test_reprint_chunks_repeat_the_dispatch(news_assistant):
    """The measurement behind SAME_TEXT: every reprint chunk but its added paragraph is
    mostly inside a chunk of the March dispatch; chunks of different articles are not."""
    data = news_assistant().data
    chunks = {d: [shingles(c.text) for c in data.chunks if c.doc_id == d] for d in (MARCH, REPRINT, REVISION)}
    best = [max(_containment(r, m) for m in chunks[MARCH]) for r in chunks[REPRINT]]
    assert sum(b >= SAME_TEXT for b in best) >= len(best) - 1
    assert max(_containment(r, m) for r in chunks[REVISION] for m in chunks[MARCH]) < 0.2


def test_copies_never_fill_the_passages(news_assistant):
    a = news_assistant()
    for q in ["Quelle perte Nébula Robotique prévoit-elle cette année ?", "Combien de trésorerie a Nébula ?",
              "Qui est Marc Aubertin ?", "Locus Robotics Geek+ baisses de prix"]:
        passages = a.retrieve(q, k=5)
        story = [p for p in passages if p.doc_id in (MARCH, REPRINT)]
        texts = [shingles(p.text) for p in story]
        for i in range(len(story)):
            for j in range(i + 1, len(story)):
                if story[i].doc_id != story[j].doc_id:
                    assert _containment(texts[i], texts[j]) < SAME_TEXT, (q, story[i].doc_id, story[j].doc_id)
        for p in story:
            assert p.copies == [REPRINT if p.doc_id == MARCH else MARCH]


def test_without_copies_keeps_the_best_ranked_text(news_assistant):
    data = news_assistant().data
    reprint = next(c for c in data.chunks if c.doc_id == REPRINT and "40 millions" in c.text)
    march = next(c for c in data.chunks if c.doc_id == MARCH and "40 millions" in c.text)
    hits = [(reprint, 0.9, 0.9), (march, 0.8, 0.8)]
    assert [h[0].doc_id for h in without_copies(hits, data.copies)] == [REPRINT]


def test_sources_panel_lists_copies_under_one_entry():
    from ui.format import citation_html

    c = Citation(marker=1, doc_id=MARCH, title="T", chunk_id="c", start=0, end=4, quote="Date",
                 date="2024-03-14", copies=[REPRINT])
    html = citation_html(c, 1, lambda d: "Date : 2024")
    assert html.count("<li") == 1 and f"Same story also in: <code>{REPRINT}</code>" in html


# --- relative time in the prompt ---------------------------------------------------------


def _passage(doc_id, text, date, **kw):
    return Passage(rank=1, doc_id=doc_id, chunk_id=f"{doc_id}:0-{len(text)}", start=0, end=len(text), score=0.9,
                   text=text, title=doc_id, date=date, **kw)


def test_relative_time_glossed_in_the_prompt_only(news_assistant):
    a = news_assistant(reply=lambda m: "Nébula Robotique prévoit 200 embauches l'an prochain [1].")
    ans = a.ask("Combien d'embauches Nébula Robotique prévoit-elle l'an prochain ?")
    prompt = a.llm.calls[-1][-1]["content"]
    assert "l'an prochain (2024)" in prompt
    assert "(Isère Matin, article du 2 novembre 2023)" in prompt
    quotes = [c.quote for c in ans.citations if c.doc_id == HIRES]
    assert quotes and all("(2024)" not in q for q in quotes)
    assert any("l'an prochain" in q for q in quotes)


def test_unknown_or_inferred_date_keeps_the_words():
    text = "La société prévoit une perte cette année."
    msgs = build_messages("Q ?", [_passage("a", text, None),
                                  _passage("b", text, "2024-02", date_inferred=True)], "fr")
    user = msgs[-1]["content"]
    # Unknown: no date header at all, only the title (short prompts); inferred: a lower bound, words unresolved.
    assert "[1] « a » La société prévoit une perte cette année." in user
    assert "[2] « b » (date ≥ février 2024) La société prévoit une perte cette année." in user
    en = build_messages("Q?", [_passage("b", text, "2024-02", date_inferred=True)], "en")[-1]["content"]
    assert "(date ≥ February 2024) La société prévoit une perte cette année." in en


def test_inferred_date_is_left_out_where_no_relative_time_needs_it():
    # A lower bound read from the text says nothing the passage does not, and costs prompt time.
    text = "La société a perdu 40 millions d'euros en 2023."
    user = build_messages("Q ?", [_passage("b", text, "2024-02", date_inferred=True)], "fr")[-1]["content"]
    assert "[1] « b » La société a perdu 40 millions d'euros en 2023." in user
    assert "≥" not in user


# --- revised and conflicting figures ---------------------------------------------------------

MARCH_TEXT = ("Nébula Robotique prévoit une perte nette de 40 millions d'euros cette année, contre 28 millions "
              "l'an dernier, a annoncé jeudi son directeur financier.")
SEPT_TEXT = ("Le spécialiste grenoblois Nébula Robotique table désormais sur une perte nette de 65 millions d'euros "
             "cette année. Elle visait jusqu'ici un déficit de 40 millions.")


def _answer(text, citations, passages, lang="fr"):
    return Answer(question="Q", answer=text, language=lang, citations=citations, passages=passages)


def test_revised_figure_sentence_when_the_answer_cites_the_march_figure():
    march = _passage(MARCH, MARCH_TEXT, "2024-03-14", date_source="header line")
    sept = _passage(REVISION, SEPT_TEXT, "2024-09-02", date_source="HTML article:published_time")
    cited = Citation(marker=1, doc_id=MARCH, title=MARCH, chunk_id=march.chunk_id, start=0, end=len(MARCH_TEXT),
                     quote=MARCH_TEXT, date=march.date)
    ans = _answer("Nébula Robotique prévoit une perte de 40 millions d'euros cette année [1].", [cited],
                  [march, sept])
    add_news_context(ans)
    assert ans.answer.endswith(
        "Chiffre le plus récent : 65 millions d'euros selon l'article du 2 septembre 2024 [2], "
        "contre 40 millions d'euros annoncés le 14 mars 2024 [1].")
    new = ans.citations[1]
    assert (new.doc_id, new.supported, new.date, new.date_source) == (
        REVISION, True, "2024-09-02", "HTML article:published_time")
    assert SEPT_TEXT[new.start:new.end] == new.quote and "65 millions" in new.quote
    assert ans.citations[0].date_source == "header line"

    en = _answer("Nébula expects a 40 million euro loss [1].", [cited], [march, sept], "en")
    add_news_context(en)
    assert "65 millions d'euros according to the article of September 2, 2024 [2], against 40 millions " \
           "d'euros announced on March 14, 2024 [1]." in en.answer


def test_two_outlets_disagreeing_on_the_same_day_are_both_shown():
    a = _passage("a.txt", "Nébula Robotique prévoit une perte de 40 millions d'euros cette année.", "2024-03-14",
                 outlet="Le Dauphiné")
    b = _passage("b.txt", "Nébula Robotique prévoit une perte de 45 millions d'euros cette année.", "2024-03-14",
                 outlet="L'Écho des Alpes")
    cited = Citation(marker=1, doc_id="a.txt", title="a", chunk_id=a.chunk_id, start=0, end=len(a.text),
                     quote=a.text)
    ans = _answer("Nébula prévoit une perte de 40 millions d'euros [1].", [cited], [a, b])
    add_news_context(ans)
    assert ("Les articles divergent : 40 millions d'euros selon Le Dauphiné (article du 14 mars 2024) [1] ; "
            "45 millions d'euros selon L'Écho des Alpes (article du 14 mars 2024) [2].") in ans.answer


def test_no_sentence_when_the_answer_cites_no_conflicting_figure():
    march = _passage(MARCH, MARCH_TEXT, "2024-03-14")
    sept = _passage(REVISION, SEPT_TEXT, "2024-09-02")
    other = _passage("x.txt", "Nébula Robotique emploie 450 personnes.", "2024-03-14")
    cited = Citation(marker=1, doc_id="x.txt", title="x", chunk_id=other.chunk_id, start=0, end=len(other.text),
                     quote=other.text)
    ans = _answer("Nébula emploie 450 personnes [1].", [cited], [march, sept, other])
    add_news_context(ans)
    assert ans.answer == "Nébula emploie 450 personnes [1]." and len(ans.citations) == 1


def test_two_figures_of_one_sentence_are_not_a_revision():
    # Encyclopedia pages, dates inferred: an age gap and an age in one sentence are two
    # quantities, and a lower-bound date cannot make one page's figure "the latest".
    gap = ("Manning et Newton ont établi le record du plus grand écart d'âge entre deux quarterbacks, "
           "soit 13 ans et 48 jours (Manning avait 39 ans, Newton 26).")
    age = "Manning est devenu, à 39 ans, le quarterback le plus âgé à remporter un Super Bowl."
    p1 = _passage("sb-3.txt", gap, "2015", date_inferred=True)
    p2 = _passage("sb-6.txt", age, "1993", date_inferred=True)
    cited = Citation(marker=1, doc_id="sb-6.txt", title="sb-6", chunk_id=p2.chunk_id, start=0, end=len(age),
                     quote=age, supported=True)
    ans = _answer("Manning avait 39 ans au Super Bowl 50 [1].", [cited], [p1, p2])
    add_news_context(ans)
    assert ans.answer == "Manning avait 39 ans au Super Bowl 50 [1]." and len(ans.citations) == 1


def test_inferred_dates_do_not_order_a_conflict():
    a = _passage("a.txt", "Nébula Robotique prévoit une perte de 40 millions d'euros.", "2024-03", date_inferred=True)
    b = _passage("b.txt", "Nébula Robotique prévoit une perte de 65 millions d'euros.", "2024-09", date_inferred=True)
    cited = Citation(marker=1, doc_id="a.txt", title="a", chunk_id=a.chunk_id, start=0, end=len(a.text),
                     quote=a.text, supported=True)
    ans = _answer("Nébula prévoit une perte de 40 millions d'euros [1].", [cited], [a, b])
    add_news_context(ans)
    assert "Chiffre le plus récent" not in ans.answer
    assert "Les articles divergent : 40 millions d'euros selon un article non daté [1] ; " \
           "65 millions d'euros selon un article non daté [2]." in ans.answer


def test_revised_figure_end_to_end_with_a_fake_llm(news_assistant):
    a = news_assistant(reply=lambda m: "Nébula Robotique prévoit une perte nette de 40 millions d'euros "
                                       "cette année [1].")
    ans = a.ask("Quelle perte nette Nébula Robotique prévoit-elle cette année ?", k=5)
    assert not ans.abstained, ans.answer
    assert "65 millions d'euros selon" in ans.answer and "2 septembre 2024" in ans.answer
    assert any(c.doc_id == REVISION and c.supported and "65 millions" in c.quote for c in ans.citations)


def test_an_inferred_date_is_not_boosted_by_the_year_a_question_names():
    # "2015" inferred from a page whose latest mention is 2015 says the text names that
    # year (which the question's words already match), not that the article is of 2015.
    from rag.records import Chunk, Document

    docs = {
        "page": Document("page", "Page", "x", "page", "0", date="2015", date_source="inferred from text",
                         date_inferred=True),
        "dated": Document("dated", "Dated", "y", "dated", "1", date="2015-06-01", date_source="header line"),
        "other": Document("other", "Other", "z", "other", "2", date="2016-01-01", date_source="header line"),
    }
    hits = [(Chunk(f"{d}:0-1", d, 0, 1, "t"), score, 0.5)
            for d, score in (("other", 0.0300), ("page", 0.0299), ("dated", 0.0298))]
    ranked = date_ranked(hits, docs, "Who won in 2015?")
    assert [h[0].doc_id for h in ranked] == ["dated", "other", "page"]
    assert next(h[1] for h in ranked if h[0].doc_id == "page") == 0.0299
    latest = date_ranked(hits, docs, "What is the latest news?")
    assert latest[0][0].doc_id == "other" and next(h[1] for h in latest if h[0].doc_id == "page") == 0.0299


def test_no_news_leaves_dates_out_of_ranking_prompt_and_answer(news_assistant):
    # --no-news, for timeless documents: the prompt carries no date header nor resolved
    # "l'an prochain", no revised-figure sentence is added, the question's year boosts
    # nothing; citations still carry their article's date and the user's range still holds.
    a = news_assistant(reply=lambda m: "Nébula Robotique prévoit une perte nette de 40 millions d'euros "
                                       "cette année [1].", news=False)
    ans = a.ask("Quelle perte nette Nébula Robotique prévoit-elle cette année ?", k=5)
    prompt = a.llm.calls[-1][-1]["content"]
    assert not ans.abstained and "65 millions" not in ans.answer
    assert "article du" not in prompt and "date inconnue" not in prompt
    assert all(c.date and c.date_source for c in ans.citations)
    hires = a.ask("Combien d'embauches Nébula Robotique prévoit-elle l'an prochain ?")
    assert "l'an prochain (2024)" not in a.llm.calls[-1][-1]["content"]
    assert hires.passages
    q = "Nébula Robotique usine Voreppe"
    hits = [(a.data.chunks[i], f, d) for i, f, d in a.retriever.ranked_chunks(q, "fr")]
    assert a.retriever.news_hits(hits, q + " en 2023") == a.retriever.news_hits(hits, q)
    assert {p.doc_id for p in a.ask(q, since="2024-09").passages} == {REVISION}


# --- time in questions ------------------------------------------------------------------------


def test_since_until_filter_passages(news_assistant):
    a = news_assistant(reply=lambda m: "Nébula Robotique prévoit 200 embauches [1].")
    q = "Nébula Robotique perte embauches usine Voreppe"
    assert {p.doc_id for p in a.ask(q, since="2024-09").passages} == {REVISION}
    assert {p.doc_id for p in a.ask(q, until="2023").passages} == {HIRES}
    assert {p.doc_id for p in a.ask(q, since="2024-03-01", until="2024-03-31").passages} <= {MARCH, REPRINT}
    from rag.errors import RagError

    with pytest.raises(RagError, match="YYYY-MM-DD"):
        a.ask(q, since="mars")


def test_cli_since_until(tmp_path, monkeypatch, fake_embedder, capsys, news_copy):
    monkeypatch.setattr("rag.assistant.SentenceTransformerEmbedder", lambda *a, **k: fake_embedder)
    monkeypatch.setattr("rag.assistant.Assistant.llm", FakeLLM("Nébula Robotique usine Voreppe [1]."))
    idx = str(tmp_path / "idx")
    assert cli.main(["ask", "Nébula Robotique usine Voreppe", "--docs-dir", str(news_copy), "--index-dir", idx,
                     "--since", "2024-09-01", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert {p["doc_id"] for p in record["passages"]} == {REVISION}
    assert cli.main(["ask", "x", "--index-dir", idx, "--until", "hier"]) == 2


def test_question_time():
    today = dt.date(2026, 11, 23)
    q = question_time("Quelles embauches l'an dernier ?", dt.date(2024, 5, 1))
    assert (q.start, q.end) == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    q = question_time("What did Nébula announce in 2023?", today)
    assert (q.start, q.end, q.latest) == (dt.date(2023, 1, 1), dt.date(2023, 12, 31), False)
    assert question_time("Depuis mars 2024, qu'a annoncé Nébula ?", today).start == dt.date(2024, 3, 1)
    assert question_time("Quelle est la prévision la plus récente ?", today).latest
    assert question_time("What is the latest forecast?", today).latest
    assert not question_time("Qui dirige Nébula Robotique ?", today)


def test_a_year_in_the_question_boosts_matching_articles(news_assistant):
    a = news_assistant()
    data = a.data
    ranked = a.retriever.ranked_chunks("Nébula Robotique usine Voreppe", "fr")
    hits = [(data.chunks[i], f, d) for i, f, d in ranked]
    plain = date_ranked(hits, data.documents, "Nébula Robotique usine Voreppe")
    boosted = date_ranked(hits, data.documents, "Nébula Robotique usine Voreppe en 2023")
    rank = lambda hs: min(i for i, h in enumerate(hs) if h[0].doc_id == HIRES)  # noqa: E731
    assert rank(boosted) <= rank(plain)
    hires = next(h for h in boosted if h[0].doc_id == HIRES)
    assert hires[1] > next(h for h in plain if h[0] == hires[0])[1]  # its score went up
    latest = date_ranked(hits, data.documents, "Nébula Robotique usine Voreppe : le plus récent ?")
    assert latest[0][0].doc_id == REVISION
    # A boost, not a filter: the other articles are still there.
    assert {h[0].doc_id for h in boosted} == {h[0].doc_id for h in plain}
