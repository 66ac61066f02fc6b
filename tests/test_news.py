"""rag.news: dates and their sources, relative time, copies, revised figures.

Fast: no models. The corpus in tests/data/news is one fictional company,
Nébula Robotique: a March 2024 dispatch, its reprint, a September 2024
revision (HTML) and a November 2023 article on hires.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import pytest

from rag.news.copies import COPY_THRESHOLD, find_copies, same_story, similarity
from rag.news.dates import (
    ArticleDate,
    SidecarError,
    article_date,
    article_meta,
    date_from_filename,
    date_from_html,
    date_from_pdf_metadata,
    date_from_sidecar,
    infer_date,
    parse_date,
)
from rag.news.figures import conflicting, figures_in_text, find_figures, same_quantity
from rag.news.head import date_from_header
from rag.news.relative import gloss, resolve_relative

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "tests" / "data" / "news"
SEEDS = ROOT / "seeds"
D = dt.date

MARCH, REPRINT, REVISION, HIRES = (
    "2024-03-14-nebula-pertes.txt",
    "reprise-agence.txt",
    "nebula-revision.html",
    "nebula-embauches.txt",
)


def article_text(path: Path) -> str:
    """Article text without markup (the loader uses trafilatura; tags are enough here)."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        body = re.search(r"<article>(.*)</article>", raw, re.DOTALL).group(1)
        return re.sub(r"\s*\n\s*", "\n", re.sub(r"<[^>]+>", "", body)).strip()
    return raw


def corpus_meta(name: str):
    path = NEWS / name
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        return article_meta(folder=NEWS, file_name=name, html=raw)
    return article_meta(text=raw, folder=NEWS, file_name=name)


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    return {name: article_text(NEWS / name) for name in (MARCH, REPRINT, REVISION, HIRES)}


# --- parsing dates -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-14", (D(2024, 3, 14), "day")),
        ("2024-09-02T08:00:00+02:00", (D(2024, 9, 2), "day")),
        ("14 mars 2024", (D(2024, 3, 14), "day")),
        ("le 14 mars 2024", (D(2024, 3, 14), "day")),
        ("1er septembre 2024", (D(2024, 9, 1), "day")),
        ("2 août 2024 à 08h00", (D(2024, 8, 2), "day")),
        ("14/03/2024", (D(2024, 3, 14), "day")),
        ("mars 2024", (D(2024, 3, 1), "month")),
        ("Février 2024", (D(2024, 2, 1), "month")),
        ("Date : 2023-10", (D(2023, 10, 1), "month")),
        ("2024-03", (D(2024, 3, 1), "month")),
        ("2024", (D(2024, 1, 1), "year")),
        ("March 14, 2024", (D(2024, 3, 14), "day")),
        ("March 14th 2024", (D(2024, 3, 14), "day")),
        ("14 March 2024", (D(2024, 3, 14), "day")),
        ("Sept. 2024", (D(2024, 9, 1), "month")),
        ("Published on December 1, 2023", (D(2023, 12, 1), "day")),
    ],
)
def test_parse_date_french_and_english(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["", "pas une date", "31 février 2024", "2024-13", "mars", "le 14 mars 2024 à Grenoble, Nébula…"]
)
def test_parse_date_refuses_what_is_not_one_date(text):
    assert parse_date(text) is None


# --- each date source ----------------------------------------------------------------


def test_header_line_compatible_with_the_loader():
    assert date_from_header(" date 2023-10 La Silicon Valley a misé gros").iso() == "2023-10"
    assert date_from_header("Date : 2024-03-14\nNébula").iso() == "2024-03-14"
    assert date_from_header("Date: 2 septembre 2024\nTexte").iso() == "2024-09-02"
    assert date_from_header("Publié le 14 mars 2024\nTexte").source == "header line"
    assert date_from_header("Nébula Robotique, date 2024-03-14") is None
    assert date_from_header("Dates clés : 2024") is None


def test_seed_header_line():
    text = (SEEDS / "003_016efe2fe0a07bca.txt").read_text(encoding="utf-8")
    found = date_from_header(text)
    assert (found.iso(), found.precision, found.source) == ("2023-10", "month", "header line")


def test_html_published_time_not_modified_time():
    found = date_from_html((NEWS / REVISION).read_text(encoding="utf-8"))
    assert (found.iso(), found.source) == ("2024-09-02", "HTML article:published_time")


def test_html_falls_back_to_htmldate():
    page = (
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2024-05-06",'
        ' "dateModified": "2024-06-01"}</script></head><body><p>Texte</p></body></html>'
    )
    found = date_from_html(page)
    assert (found.iso(), found.source) == ("2024-05-06", "HTML metadata (htmldate)")
    assert date_from_html("<html><body><p>Sans date</p></body></html>") is None


def test_pdf_metadata():
    assert date_from_pdf_metadata("D:20240314093000+01'00'").iso() == "2024-03-14"
    assert date_from_pdf_metadata("D:2024").precision == "year"
    assert date_from_pdf_metadata("D:20241399") is None
    assert date_from_pdf_metadata(None) is None


@pytest.mark.parametrize(
    "name, iso",
    [("2024-03-14-openai.txt", "2024-03-14"), ("20240314_x.html", "2024-03-14"), ("dir/2024_03_14.md", "2024-03-14"),
     ("2024-03-bilan.txt", "2024-03"), ("000_e98cb6c1cff36586.txt", None), ("a20240314b.txt", None), ("2048.txt", None)],
)  # fmt: skip
def test_filename(name, iso):
    found = date_from_filename(name)
    assert (found.iso() if found else None) == iso


def test_sidecar_csv_and_front_matter(tmp_path):
    (tmp_path / "metadata.csv").write_text(
        "file,date,outlet,url,author,date_source\n"
        "a.txt,2024-03-15,L'Écho,https://e.example/a,,print edition\n"
        "b.txt,,Le Courrier,,,\n"
        "c.txt,2024,,,,inferred: latest dated mention is 2024\n",
        encoding="utf-8",
    )
    (tmp_path / "b.txt").write_text('---\ndate: 2 septembre 2024\nauthor: "Sophie G."\n---\nCorps', encoding="utf-8")
    a = date_from_sidecar(tmp_path, "a.txt")
    assert (a.date.iso(), a.date.source, a.date.note, a.outlet, a.url) == (
        "2024-03-15", "metadata.csv line 2", "print edition", "L'Écho", "https://e.example/a")  # fmt: skip
    b = date_from_sidecar(tmp_path, "b.txt")
    assert (b.date.iso(), b.date.source, b.outlet, b.author) == (
        "2024-09-02",
        "front matter",
        "Le Courrier",
        "Sophie G.",
    )
    c = date_from_sidecar(tmp_path, "c.txt")
    assert (c.date.precision, c.date.inferred) == ("year", True)
    assert date_from_sidecar(tmp_path, "missing.txt") is None


def test_sidecar_bad_date_says_how_to_fix(tmp_path):
    (tmp_path / "metadata.csv").write_text("file,date\nx.txt,hier\n", encoding="utf-8")
    with pytest.raises(SidecarError, match="YYYY-MM-DD"):
        date_from_sidecar(tmp_path, "x.txt")


def test_sidecar_reread_after_edit(tmp_path):
    sidecar = tmp_path / "metadata.csv"
    sidecar.write_text("file,date\nx.txt,2024-01-01\n", encoding="utf-8")
    assert date_from_sidecar(tmp_path, "x.txt").date.iso() == "2024-01-01"
    sidecar.write_text("file,date\nx.txt,2024-02-02,\n", encoding="utf-8")
    assert date_from_sidecar(tmp_path, "x.txt").date.iso() == "2024-02-02"


def test_order_of_trust(tmp_path):
    name = "2022-01-05-nebula.txt"
    text = "Date : 2023-06-01\nNébula Robotique, fondée en 2016, a levé 10 M€ en 2021."
    (tmp_path / name).write_text(text, encoding="utf-8")
    # file name < header line
    assert article_date(text=text, folder=tmp_path, file_name=name).source == "header line"
    # header line < sidecar
    (tmp_path / "metadata.csv").write_text(f"file,date,outlet\n{name},2023-06-02,Isère Matin\n", encoding="utf-8")
    meta = article_meta(text=text, folder=tmp_path, file_name=name)
    assert (meta.date.iso(), meta.date.source, meta.outlet) == ("2023-06-02", "metadata.csv line 2", "Isère Matin")
    # HTML metadata < header line; PDF < HTML; file name < PDF; inferred last
    html = '<meta property="article:published_time" content="2023-07-01">'
    assert article_date(text=text, html=html).source == "header line"
    body = "Nébula Robotique, fondée en 2016, a levé 10 M€ en 2021."
    assert article_date(text=body, html=html, pdf_creation_date="D:20230801").source == "HTML article:published_time"
    assert article_date(text=body, pdf_creation_date="D:20230801", file_name=name).source == "PDF metadata"
    assert article_date(text=body, file_name=name).source == "file name"
    inferred = article_date(text=body, file_name="nebula.txt")
    assert (inferred.iso(), inferred.inferred, inferred.source) == ("2021", True, "inferred from text")
    # a sidecar row without a date keeps its outlet while the date comes from further down
    (tmp_path / "metadata.csv").write_text(f"file,date,outlet\n{name},,Isère Matin\n", encoding="utf-8")
    meta = article_meta(text=text, folder=tmp_path, file_name=name)
    assert (meta.date.source, meta.outlet) == ("header line", "Isère Matin")


def test_corpus_dates_and_sources():
    got = {name: corpus_meta(name) for name in (MARCH, REPRINT, REVISION, HIRES)}
    assert {k: (m.date.iso(), re.sub(r" line \d+$", "", m.date.source)) for k, m in got.items()} == {
        MARCH: ("2024-03-14", "header line"),
        REPRINT: ("2024-03-15", "metadata.csv"),
        REVISION: ("2024-09-02", "HTML article:published_time"),
        HIRES: ("2023-11-02", "metadata.csv"),
    }
    assert (got[REPRINT].outlet, got[HIRES].outlet) == ("L'Écho des Alpes", "Isère Matin")


# --- inference ---------------------------------------------------------------------------


def test_infer_latest_mention_is_a_lower_bound():
    found = infer_date("Valorisée en février 2024, elle avait levé des fonds en 2023 et vise 2030 comme horizon.")
    assert (found.iso(), found.precision, found.inferred) == (
        "2030",
        "year",
        True,
    )  # "vise 2030" is not a target phrase
    found = infer_date("Valorisée en février 2024, elle vise 20 000 milliards d'ici 2030.")
    assert found.label("en") == "no earlier than February 2024"
    assert found.label() == "pas avant février 2024"
    assert infer_date("Le 11 juin 2024, Mistral a levé 600 M€.", not_after=D(2024, 6, 1)) is None


def test_infer_on_seeds():
    text = (SEEDS / "001_a2c6221ca19d9293.txt").read_text(encoding="utf-8")
    assert (
        infer_date(text, not_after=D(2026, 1, 1)).iso() == "2024-06-11"
    )  # the tweet it quotes; "d'ici 2030" is skipped


# --- relative time -------------------------------------------------------------------------


def test_l_an_prochain_in_a_2023_article_is_2024(corpus):
    date = corpus_meta(HIRES).date
    sentence = next(s for s in corpus[HIRES].split(". ") if "l'an prochain" in s)
    assert "l'an prochain (2024)" in gloss(sentence, date, "fr")
    [r] = [r for r in resolve_relative(sentence, date, "fr") if r.phrase == "l'an prochain"]
    assert sentence[r.start : r.end] == "l'an prochain"
    assert (r.period.kind, r.period.start, r.period.end) == ("year", D(2024, 1, 1), D(2024, 12, 31))


@pytest.mark.parametrize(
    "phrase, label",
    [("cette année", "2023"), ("l'an dernier", "2022"), ("l’année dernière", "2022"), ("l'année prochaine", "2024"),
     ("ce mois-ci", "novembre 2023"), ("le mois prochain", "décembre 2023"), ("le mois dernier", "octobre 2023"),
     ("en mars", "mars 2024"), ("en septembre", "septembre 2023"), ("cet été", "été 2023"), ("aujourd'hui", "2 novembre 2023"),
     ("hier", "1er novembre 2023"), ("demain", "3 novembre 2023"), ("la semaine prochaine", "semaine du 6 novembre 2023")],
)  # fmt: skip
def test_french_phrases(phrase, label):
    sentence = f"Nébula l'a dit {phrase}, selon la direction."
    [r] = resolve_relative(sentence, D(2023, 11, 2), "fr")
    assert (r.phrase, r.period.label("fr")) == (phrase, label)
    assert gloss(sentence, D(2023, 11, 2), "fr") == sentence.replace(phrase, f"{phrase} ({label})")


@pytest.mark.parametrize(
    "phrase, label",
    [("this year", "2024"), ("last year", "2023"), ("next year", "2025"), ("this month", "March 2024"),
     ("next month", "April 2024"), ("last month", "February 2024"), ("in March", "March 2024"), ("in November", "November 2023"),
     ("today", "March 14, 2024"), ("yesterday", "March 13, 2024"), ("tomorrow", "March 15, 2024"),
     ("next week", "week of March 18, 2024")],
)  # fmt: skip
def test_english_phrases(phrase, label):
    sentence = f"The company said so {phrase}, according to its CFO."
    [r] = resolve_relative(sentence, D(2024, 3, 14), "en")
    assert (r.phrase, r.period.label("en")) == (phrase, label)
    assert f"{phrase} ({label})" in gloss(sentence, D(2024, 3, 14), "en")


def test_a_day_and_month_with_an_old_year_is_no_relative_date():
    # A biography's "Né le 3 juillet 1826" was read as a day without its year, and a dated
    # article's gloss put "(3 juillet 2024)" inside the quote the model reads.
    for s, lang in [("Né le 3 juillet 1826 à Albi.", "fr"), ("Le 9 mai 1718, 3 500 soldats occupent les salins.", "fr"),
                    ("On May 9, 1718, the army left.", "en"), ("Il part en mars 1943.", "fr")]:
        assert resolve_relative(s, D(2024, 3, 1), lang) == []
        assert gloss(s, D(2024, 3, 1), lang) == s
    # The narrative's own time, told relative to the events, is not the article's either.
    for s, lang in [("Cette année-là, la guerre éclate.", "fr"), ("Ce mois-là, il part.", "fr"),
                    ("The next year he married.", "en"), ("He came back the next week.", "en")]:
        assert resolve_relative(s, D(2024, 3, 1), lang) == [], s
    assert [r.phrase for r in resolve_relative("Il part cette année, et l'an prochain.", D(2024, 3, 1), "fr")] == [
        "cette année", "l'an prochain"]
    assert [r.phrase for r in resolve_relative("Sales will rise next year.", D(2024, 3, 1), "en")] == ["next year"]
    # A month named without its year after a year the text just gave is in that year.
    assert resolve_relative("En 1850, il part pour Lyon. Il y meurt en mai.", D(2024, 3, 1), "fr") == []
    # Without a year it still is one, also before a figure that is no year.
    [r] = resolve_relative("Le 9 mai, 10 000 personnes ont défilé.", D(2024, 3, 1), "fr")
    assert (r.phrase, r.period.start) == ("9 mai", D(2024, 5, 9))


def test_not_relative_or_not_resolvable():
    assert resolve_relative("Elle a publié ses comptes en mars 2024.", D(2024, 9, 2), "fr") == []
    assert resolve_relative("Sales may rise in may.", D(2024, 9, 2), "en") == []  # "in may": the modal, not the month
    s = "Elle perdra de l'argent cette année."
    assert gloss(s, None, "fr") == s
    assert gloss(s, ArticleDate(D(2024, 2, 1), "month", "inferred from text", inferred=True), "fr") == s
    assert resolve_relative(s, None, "fr")[0].period is None  # found, kept in the article's words
    # a year-precise date resolves years but not months or days
    year_only = ArticleDate(D(2024, 1, 1), "year", "metadata.csv")
    assert (
        gloss("Cette année et le mois prochain, demain.", year_only, "fr")
        == "Cette année (2024) et le mois prochain, demain."
    )


def test_gloss_is_idempotent():
    once = gloss("L'an prochain, et l'an dernier.", D(2023, 11, 2), "fr")
    assert once == "L'an prochain (2024), et l'an dernier (2022)."
    assert gloss(once, D(2023, 11, 2), "fr") == once


# --- copies --------------------------------------------------------------------------------


def test_reprint_is_a_copy_and_other_articles_are_not(corpus):
    dates = {name: corpus_meta(name).date.date for name in corpus}
    groups = find_copies(corpus, dates=dates)
    assert [g.doc_ids for g in groups] == [(MARCH, REPRINT)]  # earliest (14 March) is canonical
    assert groups[0].copies[0].jaccard >= COPY_THRESHOLD
    assert same_story(corpus[MARCH], corpus[REPRINT])
    assert not same_story(corpus[MARCH], corpus[REVISION])
    assert not same_story(corpus[HIRES], corpus[REVISION])


def test_canonical_follows_dates_then_order(corpus):
    docs = {REPRINT: corpus[REPRINT], MARCH: corpus[MARCH]}
    assert find_copies(docs)[0].canonical == REPRINT
    assert find_copies(docs, dates={MARCH: D(2024, 3, 14), REPRINT: None})[0].canonical == MARCH


def test_copies_deterministic_and_empty_texts_ignored(corpus):
    docs = {**corpus, "vide.txt": "", "vide2.txt": "   "}
    assert find_copies(docs) == find_copies(docs)
    assert all("vide.txt" not in g.doc_ids for g in find_copies(docs))
    with pytest.raises(ValueError):
        find_copies(docs, threshold=0)


def test_copy_threshold_measurement(corpus):
    """The figures written beside COPY_THRESHOLD."""
    docs = {**corpus, **{p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}}
    reprint = similarity(corpus[MARCH], corpus[REPRINT])
    others = max(similarity(docs[a], docs[b]) for a, b in itertools.combinations(docs, 2) if {a, b} != {MARCH, REPRINT})
    half = similarity(corpus[MARCH], "\n\n".join(corpus[MARCH].split("\n\n")[:3]))
    assert round(reprint, 2) == 0.68 and round(half, 2) == 0.36 and others < 0.01
    assert others + 0.25 < COPY_THRESHOLD < half


# --- figures and conflicts -----------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("OpenAI perdra 5 milliards de dollars.", (5e9, "money", "USD")),
        ("Une perte de 40 M€.", (40e6, "money", "EUR")),
        ("OpenAI could lose $5 billion.", (5e9, "money", "USD")),
        ("Une perte de 65 millions d'euros.", (65e6, "money", "EUR")),
        ("Revenue grew 12.5% over the year.", (12.5, "percent", "%")),
        ("Elle progresse de 30 pour cent.", (30.0, "percent", "%")),
        ("Elle prévoit 200 embauches.", (200.0, "count", "embauches")),
        ("Valorisée 1,5 milliard d'euros.", (1.5e9, "money", "EUR")),
        ("Un investissement de 20 000 milliards de dollars.", (2e13, "money", "USD")),
        ("Microsoft invested $1,500 million.", (1.5e9, "money", "USD")),
        ("Fondée en 2016.", (2016.0, "year", None)),
        ("Une dette de 3 billions de dollars.", (3e12, "money", "USD")),
    ],
)
def test_find_figures(sentence, expected):
    [f] = find_figures(sentence)
    assert (f.value, f.kind, f.unit) == expected
    assert sentence[f.start : f.end] == f.text


def test_find_figures_skips_dates_versions_and_metres():
    assert find_figures("Le 14 mars 2024, GPT-4o a couru 100 m.") == []


def test_revised_loss_found_as_one_quantity(corpus):
    metas = {name: corpus_meta(name).date for name in corpus}
    figures = {name: figures_in_text(text, article_date=metas[name]) for name, text in corpus.items()}
    found = conflicting(figures, dates=metas)
    [loss] = [c for c in found if 65e6 in c.values]
    assert (loss.kind, loss.unit, loss.values) == ("money", "EUR", (40e6, 65e6))
    assert (loss.current.passage_id, loss.current.date, loss.current.figure.text) == (
        REVISION,
        D(2024, 9, 2),
        "65 millions d'euros",
    )
    # what was said before: March and its reprint, and the September article recalling the old figure
    assert [(c.passage_id, c.date) for c in loss.previous] == [
        (MARCH, D(2024, 3, 14)),
        (REPRINT, D(2024, 3, 15)),
        (REVISION, D(2024, 9, 2)),
    ]
    # 2023's loss (28 M€, "l'an dernier"), revenue and hires are other quantities
    assert all(28e6 not in c.values and 120e6 not in c.values and 200.0 not in c.values for c in found)


def test_same_quantity_needs_subject_and_year():
    a = find_figures("Nébula Robotique prévoit une perte de 40 M€ cette année.", article_date=D(2024, 3, 14))[0]
    b = find_figures("Nébula Robotique prévoit une perte de 28 M€ cette année.", article_date=D(2023, 3, 14))[0]
    c = find_figures("Orbis Robotics prévoit une perte de 28 M€ cette année.", article_date=D(2024, 3, 14))[0]
    d = find_figures("Nébula Robotique a levé 28 M€ cette année.", article_date=D(2024, 3, 14))[0]
    assert not same_quantity(a, b) and same_quantity(a, c) is False and not same_quantity(a, d)


def test_disagreement_on_the_same_day_has_no_current():
    day = D(2024, 9, 2)
    figs = {
        "a": find_figures("Selon Les Échos, Nébula perdra 65 M€ cette année.", article_date=day),
        "b": find_figures("Selon Reuters, Nébula perdra 60 M€ cette année.", article_date=day),
    }
    [c] = conflicting(figs, dates={"a": day, "b": day})
    assert c.current is None and c.previous == () and c.values == (65e6, 60e6)


# --- seeds ---------------------------------------------------------------------------------


def test_every_seed_has_a_sidecar_date_and_source():
    for path in sorted(SEEDS.glob("*.txt")):
        meta = article_meta(text=path.read_text(encoding="utf-8"), folder=SEEDS, file_name=path.name)
        assert meta.date.date is not None and meta.date.source.startswith("metadata.csv line"), path.name
        assert meta.date.note, path.name
    simseo = article_meta(folder=SEEDS, file_name="004_f51b68045130b9a9.txt")
    assert (simseo.outlet, simseo.date.iso(), simseo.date.inferred) == ("Simseo", "2024", False)
    assert gloss("cette année, OpenAI perdra 5 milliards", simseo.date, "fr").startswith("cette année (2024)")
    bound = article_meta(folder=SEEDS, file_name="000_e98cb6c1cff36586.txt").date
    assert bound.inferred and gloss("Depuis l'année dernière", bound, "fr") == "Depuis l'année dernière"
