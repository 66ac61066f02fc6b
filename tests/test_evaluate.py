"""Tests for rag.eval.metrics and rag.eval.report with a fake assistant and a fake judge."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rag.answer.echo import degenerate_reason
from rag.answer.markers import parse_markers, strip_markers
from rag.eval.dataset import EvalItem, load_dataset
from rag.eval.metrics import (
    GoldSpan,
    QuestionResult,
    answer_matches,
    citation_evidence,
    cites_gold,
    claim_sentences,
    first_hit_rank,
    locate_quote,
    passage_covers,
    percentile,
    score_citations,
    score_question,
)
from rag.eval.report import format_table, md_cell, write_chart, write_json, write_markdown
from rag.eval.run import build_result, run_eval, summarize
from rag.records import Answer, Citation, Excerpt, Passage, Timings
from rag.text.analysis import LANGUAGES
from rag.text.analysis import fold_phrase as fold

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

DOCS = {
    "doc_a.txt": "Mistral AI a levé 600 millions d'euros. La série B était dirigée par General Catalyst. "
                 "Microsoft avait investi 16 millions de dollars.",
    "doc_b.txt": "OpenAI perdra environ 5 milliards de dollars. Anthropic dépense plus qu'elle ne reçoit.",
}


def passage(doc: str, sub: str, rank: int = 1) -> Passage:
    start = DOCS[doc].index(sub)
    return Passage(rank=rank, doc_id=doc, chunk_id=f"{doc}#{start}", start=start, end=start + len(sub),
                   score=1.0, text=sub)


def cite(marker: int, p: Passage) -> Citation:
    return Citation(marker=marker, doc_id=p.doc_id, title="", chunk_id=p.chunk_id, start=p.start, end=p.end,
                    quote=p.text, passage_start=p.start, passage_end=p.end)


A1 = passage("doc_a.txt", "Mistral AI a levé 600 millions d'euros.")
A2 = passage("doc_a.txt", "La série B était dirigée par General Catalyst.")
A3 = passage("doc_a.txt", "Microsoft avait investi 16 millions de dollars.")
B1 = passage("doc_b.txt", "OpenAI perdra environ 5 milliards de dollars.")
B2 = passage("doc_b.txt", "Anthropic dépense plus qu'elle ne reçoit.")


class WordsJudge:
    """Supports when every claim word of 4+ letters appears in the evidence."""

    def __init__(self) -> None:
        self.calls = 0

    def supports(self, claim: str, evidence: str) -> bool:
        self.calls += 1
        words = {w for w in re.findall(r"\w+", fold(claim)) if len(w) >= 4}
        return words <= set(re.findall(r"\w+", fold(evidence)))

    def score(self, claim: str, evidence: str) -> float:
        return float(self.supports(claim, evidence))


def fake_language(text: str) -> str | None:
    """English when it has an English function word, French otherwise."""
    words = set(re.findall(r"\w+", strip_markers(text).lower()))
    if not words:
        return None
    return "en" if words & {"it", "was", "the", "invested", "well"} else "fr"


class FakeAssistant:
    """Canned passages and answers keyed by question."""

    def __init__(self, retrievals: dict[str, list[Passage]], answers: dict[str, Answer],
                 docs: dict[str, str] | None = None) -> None:
        self.retrievals, self.answers, self.docs = retrievals, answers, docs or DOCS
        self.retrieve_k: list[int | None] = []
        self.ask_k: list[int | None] = []

    def retrieve(self, question: str, *, k: int | None = None) -> list[Passage]:
        self.retrieve_k.append(k)
        return self.retrievals.get(question, [])[:k]

    def ask(self, question: str, *, k: int | None = None) -> Answer:
        self.ask_k.append(k)
        return self.answers[question]

    def document_text(self, doc_id: str) -> str:
        return self.docs[doc_id]


def item(id: str, lang: str, question: str, answers=(), gold=(), answerable=True) -> EvalItem:
    return EvalItem.from_dict({"id": id, "lang": lang, "question": question, "answers": list(answers),
                               "gold": [{"doc": d, "quote": q} for d, q in gold], "answerable": answerable})


def answer(question: str, text: str, citations=(), *, abstained=False, passages=(), ms=(0.0, 0.0, 0),
           read=()) -> Answer:
    """``read``: (doc, sentence) pairs the model was given (Answer.evidence)."""
    evidence = [Excerpt(1, d, DOCS[d].index(t), DOCS[d].index(t) + len(t), t) for d, t in read]
    return Answer(question=question, answer=text, language="fr", abstained=abstained, citations=list(citations),
                  passages=list(passages), evidence=evidence,
                  timings=Timings(ttft_ms=ms[0], total_ms=ms[1], prompt_tokens=ms[2]))


ITEMS = [
    item("a1", "fr", "Combien Mistral AI a-t-elle levé ?", ["600 millions"], [("doc_a.txt", "levé 600 millions d'euros")]),
    item("a2", "en", "Who led the Series B?", ["Général Catalyst"], [("doc_a.txt", "dirigée par General Catalyst")]),
    item("a3", "fr", "Combien OpenAI va-t-elle perdre ?", ["5 milliards"], [("doc_b.txt", "perdra environ 5 milliards")]),
    item("a4", "en", "What is the capital of Australia?", answerable=False),
    item("a5", "fr", "Combien d'employés compte Mistral AI ?", answerable=False),
]

RETRIEVALS = {
    ITEMS[0].question: [A1, B1, B2],
    ITEMS[1].question: [B1, A3, A2, B2],
    ITEMS[2].question: [A1, A2, A3, B2],
    ITEMS[3].question: [B2],
    ITEMS[4].question: [A1],
}

ANSWERS = {
    ITEMS[0].question: answer(ITEMS[0].question, "Mistral AI a levé 600 MILLIONS d’euros [1].", [cite(1, A1)],
                              passages=[A1], ms=(100, 1000, 10),
                              read=[("doc_a.txt", "Mistral AI a levé 600 millions d'euros.")]),
    ITEMS[1].question: answer(ITEMS[1].question, "It was General Catalyst [1]. Microsoft invested as well.",
                              [cite(1, A2)], passages=[A2], ms=(200, 2000, 20),
                              read=[("doc_a.txt", "Microsoft avait investi 16 millions de dollars.")]),
    ITEMS[2].question: answer(ITEMS[2].question, "Je ne sais pas.", abstained=True, ms=(300, 3000, 30)),
    ITEMS[3].question: answer(ITEMS[3].question, "Les articles ne le disent pas.", abstained=True,
                              ms=(400, 4000, 40)),
    ITEMS[4].question: answer(ITEMS[4].question, "Mistral AI compte 600 employés [1].", [cite(1, A1)],
                              passages=[A1], ms=(500, 5000, 50)),
}


@pytest.fixture
def assistant() -> FakeAssistant:
    return FakeAssistant(RETRIEVALS, ANSWERS)


@pytest.fixture
def result(assistant):
    return run_eval(assistant, ITEMS, judge=WordsJudge(), language_of=fake_language, progress=False)


@pytest.fixture
def retrieval_result(assistant):
    return run_eval(assistant, ITEMS, retrieval_only=True, progress=False)


def test_retrieval_only_reads_the_evidence_when_the_assistant_tells_it(assistant):
    class Reading(FakeAssistant):
        def evidence(self, question: str, *, k: int | None = None) -> list[Excerpt]:
            return self.answers[question].evidence

    reading = Reading(RETRIEVALS, ANSWERS)
    result = run_eval(reading, ITEMS, retrieval_only=True, progress=False)
    assert result.by_language["fr"].retrieval["gold_in_evidence"] == pytest.approx(0.5)
    assert result.by_language["en"].retrieval["gold_in_evidence"] == 0.0
    assert "gold in the model's evidence" in format_table(result)
    # Without it, the figure is absent rather than zero.
    assert run_eval(assistant, ITEMS, retrieval_only=True, progress=False).overall.retrieval["gold_in_evidence"] is None


def row(rank: int | None, *, answerable: bool = True, lang: str = "fr", **kw) -> QuestionResult:
    return QuestionResult(id="x", lang=lang, question="q", answerable=answerable, expected=[], gold_found=True,
                          first_hit_rank=rank, **kw)


# --------------------------------------------------------------------------- dataset


def test_load_dataset_reads_the_dev_set():
    items = load_dataset(Path(__file__).resolve().parent.parent / "eval" / "dev.jsonl")
    assert len(items) == 21
    assert items[0].id == "dev-01" and items[0].gold[0].doc == "000_e98cb6c1cff36586.txt"
    assert sum(not i.answerable for i in items) == 2
    assert {i.lang for i in items} == {"fr", "en"}


GOOD = {"id": "q1", "lang": "fr", "question": "Qui ?", "answers": ["Paul"],
        "gold": [{"doc": "a.txt", "quote": "Paul"}], "answerable": True}


@pytest.mark.parametrize("bad_line, message", [
    ("{not json", "invalid JSON"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "question"}), "missing field 'question'"),
    (json.dumps({**GOOD, "lang": "de"}), "'lang'"),
    (json.dumps({**GOOD, "answers": []}), "at least one entry in 'answers'"),
    (json.dumps({**GOOD, "gold": []}), "at least one 'gold'"),
    (json.dumps({**GOOD, "answers": "Paul"}), "'answers' must be a list"),
    (json.dumps({**GOOD, "answerable": "yes"}), "'answerable'"),
    (json.dumps({**GOOD, "gold": [{"doc": "a.txt"}]}), "'doc' and 'quote'"),
    (json.dumps({**GOOD, "answerable": False}), "must have empty 'answers'"),
    (json.dumps({**GOOD, "facts": [["600 millions"], []]}), "'facts' must be a list"),
    (json.dumps({**GOOD, "facts": "600 millions"}), "'facts' must be a list"),
    (json.dumps(GOOD), "duplicate id 'q1'"),
    ("[1, 2]", "expected a JSON object"),
])
def test_load_dataset_rejects_bad_lines_with_line_number(tmp_path, bad_line, message):
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + bad_line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3: .*" + re.escape(message)):
        load_dataset(path)


def test_load_dataset_rejects_missing_and_empty_files(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_dataset(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no questions"):
        load_dataset(tmp_path / "empty.jsonl")


def test_item_round_trips():
    it = EvalItem.from_dict(GOOD)
    assert EvalItem.from_dict(it.to_dict()) == it
    with_facts = EvalItem.from_dict({**GOOD, "facts": [["Paul"], ["1900", "mil neuf cents"]]})
    assert with_facts.facts == (("Paul",), ("1900", "mil neuf cents"))
    assert EvalItem.from_dict(with_facts.to_dict()) == with_facts


def test_fact_recall_counts_the_facts_an_overview_gives():
    # An overview that names two of the article's three main facts; abstaining gives none.
    facts = [["600 millions", "600 million"], ["6 milliards", "6 billion"], ["Microsoft"]]
    it = EvalItem.from_dict({"id": "ov", "lang": "fr", "question": "Que disent les articles sur Mistral AI ?",
                             "answers": ["600 millions"], "gold": [{"doc": "doc_b.txt", "quote": "5 milliards"}],
                             "answerable": True, "facts": facts})
    gold = locate_quote(DOCS["doc_b.txt"], "5 milliards", doc="doc_b.txt")
    said = answer(it.question, "Mistral AI a levé 600 millions d'euros [1]. Elle vaut 6 milliards [1].")
    r = score_question(it, [B1], said, gold, judge=WordsJudge(), language_of=fake_language)
    assert r.fact_recall == pytest.approx(2 / 3)
    shy = score_question(it, [B1], answer(it.question, "Je ne sais pas.", abstained=True), gold,
                         judge=WordsJudge(), language_of=fake_language)
    assert shy.fact_recall == 0.0
    plain = score_question(item("q", "fr", "Combien ?", ["5 milliards"], [("doc_b.txt", "5 milliards")]), [B1],
                           said, gold, judge=WordsJudge(), language_of=fake_language)
    assert plain.fact_recall is None
    assert summarize([r, shy, plain]).fact_recall == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- retrieval


@pytest.mark.parametrize("start, end, doc, expected", [
    (120, 300, "a", True),    # covers 80 of 100 characters
    (121, 300, "a", False),   # covers 79
    (0, 180, "a", True),      # 80 from the left
    (0, 179, "a", False),
    (130, 170, "a", False),   # inside but only 40%
    (100, 200, "b", False),   # right offsets, wrong document
    (300, 400, "a", False),
])
def test_passage_coverage_boundary(start, end, doc, expected):
    p = Passage(rank=1, doc_id=doc, chunk_id="c", start=start, end=end, score=0.0, text="")
    assert passage_covers(p, GoldSpan("a", 100, 200)) is expected


def test_coverage_boundary_on_a_real_quote():
    text = "x" * 50 + "q" * 100 + "y" * 50
    gold = locate_quote(text, "q" * 100, doc="d")
    assert gold == [GoldSpan("d", 50, 150)]
    at = [Passage(rank=1, doc_id="d", chunk_id="c", start=s, end=200, score=0.0, text="") for s in (71, 70)]
    assert first_hit_rank(at[:1], gold) is None
    assert first_hit_rank(at, gold) == 2


@pytest.mark.parametrize("passages, expected", [
    ([A1, B1, B2], 1),
    ([B1, B2, A1], 3),
    ([B1, B2, A3], None),
    ([], None),
])
def test_first_hit_rank(passages, expected):
    gold = locate_quote(DOCS["doc_a.txt"], "levé 600 millions d'euros", doc="doc_a.txt")
    assert first_hit_rank(passages, gold) == expected


def test_any_gold_quote_counts():
    gold = (locate_quote(DOCS["doc_a.txt"], "General Catalyst", doc="doc_a.txt")
            + locate_quote(DOCS["doc_b.txt"], "5 milliards", doc="doc_b.txt"))
    assert first_hit_rank([A3, B1], gold) == 2


def test_locate_quote_normalises_the_quote():
    decomposed = "leve\u0301 600"  # NFD é, as a file may hold it
    assert locate_quote(DOCS["doc_a.txt"], decomposed, doc="doc_a.txt")[0].start == DOCS["doc_a.txt"].index("levé")
    assert locate_quote(DOCS["doc_a.txt"], "absent", doc="doc_a.txt") == []


@pytest.mark.parametrize("ranks, expected", [
    ([1], {"recall@1": 1.0, "recall@3": 1.0, "recall@5": 1.0, "recall@10": 1.0, "mrr@10": 1.0}),
    ([3], {"recall@1": 0.0, "recall@3": 1.0, "recall@5": 1.0, "recall@10": 1.0, "mrr@10": 1 / 3}),
    ([None], {"recall@1": 0.0, "recall@3": 0.0, "recall@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0}),
    ([7], {"recall@1": 0.0, "recall@3": 0.0, "recall@5": 0.0, "recall@10": 1.0, "mrr@10": 1 / 7}),
    ([11], {"recall@1": 0.0, "recall@3": 0.0, "recall@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0}),
    ([1, 3, None], {"recall@1": 1 / 3, "recall@3": 2 / 3, "recall@5": 2 / 3, "recall@10": 2 / 3, "mrr@10": 4 / 9}),
])
def test_recall_and_mrr(ranks, expected):
    rows = [row(r) for r in ranks] + [row(None, answerable=False)]  # unanswerable: excluded
    retrieval = summarize(rows, retrieval_only=True).retrieval
    assert retrieval.pop("gold_in_evidence") is None  # no evidence known for these rows
    assert retrieval == pytest.approx(expected)


def test_rank_reason_names_the_first_hit():
    it = item("r", "fr", "Q ?", ["x"], [("doc_a.txt", "General Catalyst")])
    gold = locate_quote(DOCS["doc_a.txt"], "General Catalyst", doc="doc_a.txt")
    ps = [B1, B2, A1, A3, B1, B2, A2]
    r = score_question(it, ps, None, gold)
    assert r.first_hit_rank == 7
    assert r.reasons == ["gold passage not in top 5 (first hit at rank 7)"]
    assert r.correct is False


def test_document_ids_without_extension(tmp_path):
    docs = {"doc_a": DOCS["doc_a.txt"]}
    p = Passage(rank=1, doc_id="doc_a", chunk_id="c", start=A1.start, end=A1.end, score=1.0, text=A1.text)
    a = FakeAssistant({ITEMS[0].question: [p]}, {}, docs=docs)
    res = run_eval(a, ITEMS[:1], retrieval_only=True, progress=False)
    assert res.questions[0].first_hit_rank == 1


# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize("text, expected, ok", [
    ("Il perdra 5 MILLIARDS de dollars [1].", ["5 milliards"], True),
    ("Il perdra 5 milliards.", ["5 MILLIARDS"], True),
    ("It was General Catalyst.", ["Général Catalyst"], True),
    ("C'était Général Catalyst.", ["General Catalyst"], True),
    ("20\u202f000 milliards", ["20 000 milliards"], True),
    ("d’euros", ["d'euros"], True),
    ("Je ne sais pas.", ["5 milliards"], False),
    ("5 millions", ["5 milliards", "cinq milliards"], False),
])
def test_answer_matches_ignores_case_and_accents(text, expected, ok):
    assert answer_matches(text, expected) is ok


def test_abstention_metrics():
    rows = [
        row(1, answer="x", abstained=False, answer_correct=True),
        row(1, answer="x", abstained=True, answer_correct=False),
        row(1, answer="x", abstained=False, answer_correct=False),
        row(None, answerable=False, answer="x", abstained=True),
        row(None, answerable=False, answer="x", abstained=True),
        row(None, answerable=False, answer="x", abstained=False),
        row(None, answerable=False, answer="x", abstained=True),
    ]
    m = summarize(rows)
    assert m.answer_accuracy == pytest.approx(1 / 3)
    assert m.false_abstention_rate == pytest.approx(1 / 3)
    assert m.abstention_accuracy == pytest.approx(3 / 4)


def test_abstaining_on_an_answerable_question_is_wrong_even_if_the_answer_matches():
    it = item("q", "fr", "Combien ?", ["5 milliards"], [("doc_b.txt", "5 milliards")])
    gold = locate_quote(DOCS["doc_b.txt"], "5 milliards", doc="doc_b.txt")
    a = answer("Combien ?", "Pas sûr que ce soit 5 milliards.", abstained=True)
    r = score_question(it, [B1], a, gold, judge=WordsJudge(), language_of=fake_language)
    assert r.correct is False and r.answer_correct is False
    assert "abstained on answerable question" in r.reasons
    assert r.citation_recall is None and r.cites_gold is None  # abstentions are not cited


@pytest.mark.parametrize("text, question, reason", [
    ("", "Qui ?", "empty answer"),
    ("   \n", "Qui ?", "empty answer"),
    ("[1][2].", "Qui ?", "markers or punctuation only"),
    ("... !", "Qui ?", "markers or punctuation only"),
    ("Combien Mistral a-t-elle levé ?", "Combien Mistral a-t-elle levé ?", "answer repeats the question"),
    ("COMBIEN MISTRAL A-T-ELLE LEVE [1]", "Combien Mistral a-t-elle levé ?", "answer repeats the question"),
    ("Combien Mistral a-t-elle levé ? Combien Mistral a-t-elle levé ?", "Combien Mistral a-t-elle levé ?",
     "answer repeats the question"),
    ("Mistral a-t-elle levé", "Combien Mistral a-t-elle levé ?", "answer is contained in the question"),
    ("600 millions d'euros [1].", "Combien Mistral a-t-elle levé ?", None),
    ("Mistral a levé 600 millions.", "Combien Mistral a-t-elle levé ?", None),
])
def test_degenerate_detection(text, question, reason):
    assert degenerate_reason(text, question) == reason


@pytest.mark.parametrize("values, q, expected", [
    ([5.0], 50, 5.0),
    ([5.0], 95, 5.0),
    ([10, 20, 30, 40], 50, 25.0),
    ([100, 200, 300, 400, 500], 50, 300.0),
    ([100, 200, 300, 400, 500], 95, 480.0),
    ([500, 100, 400, 200, 300], 95, 480.0),  # order does not matter
    (list(range(1, 21)), 95, 19.05),
    ([1, 2], 0, 1.0),
    ([1, 2], 100, 2.0),
])
def test_percentile(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_rejects_bad_q_and_handles_empty():
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


# --------------------------------------------------------------------------- citations (ALCE)


class SetJudge:
    """Supports when the claim's words are a subset of the evidence's words."""

    def supports(self, claim: str, evidence: str) -> bool:
        return set(claim.split()) <= set(evidence.split())


@pytest.mark.parametrize("sentences, evidence, recall, precision", [
    # no citation: unsupported, and no citation to be precise about (ALCE gives 0)
    ([("alpha beta", [])], {}, 0.0, 0.0),
    # one citation that supports
    ([("alpha beta", [1])], {1: "alpha beta"}, 1.0, 1.0),
    # [1] supports alone, [2] is redundant: half the citations are relevant
    ([("alpha beta", [1, 2])], {1: "alpha beta", 2: "gamma"}, 1.0, 0.5),
    # only jointly supported: both are needed
    ([("alpha beta", [1, 2])], {1: "alpha", 2: "beta"}, 1.0, 1.0),
    # each supports alone: both relevant (ALCE condition A)
    ([("alpha beta", [1, 2])], {1: "alpha beta", 2: "beta alpha"}, 1.0, 1.0),
    # joint set does not support: all citations irrelevant
    ([("alpha beta", [1, 2])], {1: "alpha", 2: "gamma"}, 0.0, 0.0),
    # out-of-range marker: unsupported, its citations irrelevant
    ([("alpha beta", [1, 7])], {1: "alpha beta"}, 0.0, 0.0),
    # ... and an invented marker counts as an irrelevant citation (ALCE would drop it)
    ([("alpha", [1]), ("beta", [7])], {1: "alpha"}, 0.5, 0.5),
    # two sentences: one supported, one not
    ([("alpha", [1]), ("beta", [2])], {1: "alpha", 2: "gamma"}, 0.5, 0.5),
    # a sentence without citation does not change precision, only recall
    ([("alpha", [1]), ("beta", [])], {1: "alpha"}, 0.5, 1.0),
])
def test_alce_citation_scores(sentences, evidence, recall, precision):
    s = score_citations(sentences, evidence, SetJudge())
    assert (s.recall, s.precision) == pytest.approx((recall, precision))


def test_alce_records_which_citations_were_relevant():
    s = score_citations([("alpha beta", [1, 2])], {1: "alpha beta", 2: "gamma"}, SetJudge())
    assert s.sentences[0].relevant == [1] and s.n_citations == 2 and s.n_relevant == 1
    s = score_citations([("alpha beta", [1, 7])], {1: "alpha beta"}, SetJudge())
    assert s.sentences[0].unknown_markers == [7] and s.sentences[0].supported is False


def test_no_sentence_gives_no_citation_score():
    assert score_citations([], {}, SetJudge()) is None


@pytest.mark.parametrize("text, expected", [
    ("Il pleut [1]. Il vente [2].", [("Il pleut.", [1]), ("Il vente.", [2])]),
    ("Il pleut. [1]", [("Il pleut.", [1])]),                      # trailing marker-only sentence
    ("Il pleut [1]. Il vente. [2] [3]", [("Il pleut.", [1]), ("Il vente.", [2, 3])]),
    ("Il pleut [1]. [1]", [("Il pleut.", [1])]),                   # no duplicates
    ("[2]. Il pleut [1].", [("Il pleut.", [2, 1])]),               # leading: goes to the next one
    ("Il pleut [1, 3].", [("Il pleut.", [1, 3])]),
    ("Il pleut.", [("Il pleut.", [])]),
    ("", []),
])
def test_claim_sentences(text, expected):
    assert claim_sentences(text) == expected


def test_marker_only_sentence_supports_previous_sentence_end_to_end():
    it = item("q", "fr", "Qui a mené la série B ?", ["General Catalyst"], [("doc_a.txt", "General Catalyst")])
    gold = locate_quote(DOCS["doc_a.txt"], "General Catalyst", doc="doc_a.txt")
    a = answer(it.question, "La série B était dirigée par General Catalyst. [1]", [cite(1, A2)], passages=[A2])
    r = score_question(it, [A2], a, gold, judge=WordsJudge(), language_of=fake_language)
    assert (r.citation_recall, r.citation_precision) == (1.0, 1.0)
    assert len(r.sentences) == 1 and r.reasons == []


def test_out_of_range_marker_in_an_answer():
    it = item("q", "fr", "Qui a mené la série B ?", ["General Catalyst"], [("doc_a.txt", "General Catalyst")])
    gold = locate_quote(DOCS["doc_a.txt"], "General Catalyst", doc="doc_a.txt")
    a = answer(it.question, "La série B était dirigée par General Catalyst [3].", [cite(1, A2)], passages=[A2])
    r = score_question(it, [A2], a, gold, judge=WordsJudge(), language_of=fake_language)
    assert (r.citation_recall, r.citation_precision) == (0.0, 0.0)
    assert "sentence 1 cites unknown marker(s) [3]" in r.reasons
    assert r.correct is True  # the answer itself is right


def test_citation_evidence_uses_the_passage_then_the_quote():
    inside = Citation(marker=1, doc_id="doc_a.txt", title="", chunk_id=A2.chunk_id, start=A2.start + 3,
                      end=A2.end - 1, quote="short quote")
    orphan = Citation(marker=2, doc_id="doc_b.txt", title="", chunk_id="elsewhere", start=0, end=6, quote="OpenAI")
    a = answer("q", "x [1] [2]", [inside, orphan], passages=[A2])
    assert citation_evidence(a) == {1: A2.text, 2: "OpenAI"}


def test_citation_precision_is_averaged_per_answer_not_pooled():
    rows = [row(1, answer="x", citation_precision=1.0, citation_recall=1.0),
            row(1, answer="x", citation_precision=0.5, citation_recall=0.0),
            row(1, answer="x", abstained=True)]  # abstained: excluded
    m = summarize(rows)
    assert (m.citation_precision, m.citation_recall) == pytest.approx((0.75, 0.5))


@pytest.mark.parametrize("span, doc, expected", [
    ((10, 20), "doc_a.txt", True),
    ((0, 10), "doc_a.txt", True),     # overlaps the first character
    ((0, 9), "doc_a.txt", False),     # ends just before
    ((30, 40), "doc_a.txt", False),   # starts at the gold end
    ((10, 20), "doc_b.txt", False),   # other document
])
def test_cites_gold(span, doc, expected):
    c = Citation(marker=1, doc_id=doc, title="", chunk_id="c", start=span[0], end=span[1], quote="")
    assert cites_gold([c], [GoldSpan("doc_a.txt", 9, 30)]) is expected


def test_gold_citation_recall_counts_answered_answerable_questions():
    rows = [row(1, answer="x", cites_gold=True), row(1, answer="x", cites_gold=False),
            row(1, answer="x", cites_gold=False), row(None, answerable=False, answer="x")]
    assert summarize(rows).gold_citation_recall == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- language


def test_detect_language_restricted_to_french_and_english():
    pytest.importorskip("py3langid")
    from rag.eval.metrics import answer_language as detect_language

    assert detect_language("Mistral AI a levé 600 millions d'euros auprès de ses investisseurs [1].") == "fr"
    assert detect_language("The company raised six hundred million euros from its investors [1].") == "en"
    assert detect_language("[1] 600.") is None


# --------------------------------------------------------------------------- end to end


def test_run_eval_overall_metrics(result):
    o = result.overall
    # gold_in_evidence: a1's model read the gold sentence; a2's read another one; a3 abstained unread.
    assert o.retrieval == pytest.approx({"recall@1": 1 / 3, "recall@3": 2 / 3, "recall@5": 2 / 3,
                                         "recall@10": 2 / 3, "mrr@10": 4 / 9, "gold_in_evidence": 1 / 3})
    assert [q.gold_in_evidence for q in result.questions] == [True, False, False, None, None]
    assert o.answer_accuracy == pytest.approx(2 / 3)
    assert o.abstention_accuracy == pytest.approx(0.5)
    assert o.false_abstention_rate == pytest.approx(1 / 3)
    assert o.citation_precision == pytest.approx(2 / 3)
    assert o.citation_recall == pytest.approx(0.5)
    assert o.gold_citation_recall == pytest.approx(1.0)
    assert o.language_match == pytest.approx(0.8)
    assert o.degenerate_rate == pytest.approx(0.0)
    assert (o.ttft_ms_p50, o.ttft_ms_p95) == pytest.approx((300.0, 480.0))
    assert (o.total_ms_p50, o.total_ms_p95) == pytest.approx((3000.0, 4800.0))
    assert o.prompt_tokens_mean == pytest.approx(30.0)
    assert (o.n_questions, o.n_answerable, o.n_unanswerable) == (5, 3, 2)


@pytest.mark.parametrize("lang, expected", [
    ("fr", {"recall@1": 0.5, "recall@3": 0.5, "mrr@10": 0.5, "answer_accuracy": 0.5, "abstention_accuracy": 0.0,
            "false_abstention_rate": 0.5, "citation_precision[WordsJudge]": 0.5,
            "citation_recall[WordsJudge]": 0.5, "language_match": 1.0}),
    ("en", {"recall@1": 0.0, "recall@3": 1.0, "mrr@10": 1 / 3, "answer_accuracy": 1.0, "abstention_accuracy": 1.0,
            "false_abstention_rate": 0.0, "citation_precision[WordsJudge]": 1.0,
            "citation_recall[WordsJudge]": 0.5, "language_match": 0.5}),
])
def test_run_eval_by_language(result, lang, expected):
    d = result.to_dict()["by_language"][lang]
    got = {k: d["retrieval"][k] if k in d["retrieval"] else d[k] for k in expected}
    assert got == pytest.approx(expected)


@pytest.mark.parametrize("qid, correct, reasons", [
    ("a1", True, []),
    ("a2", True, ["sentence 2 has no citation"]),
    ("a3", False, ["gold passage not retrieved (not in top 4)", "abstained on answerable question"]),
    ("a4", True, ["answer in fr, question in en"]),
    ("a5", False, ["answered an unanswerable question (expected abstention)", "sentence 1 unsupported",
                   "wrong answer shown with a supported citation"]),
])
def test_run_eval_question_rows(result, qid, correct, reasons):
    q = next(q for q in result.to_dict()["questions"] if q["id"] == qid)
    assert q["correct"] is correct
    assert q["reasons"] == reasons


def test_run_eval_passes_k(assistant):
    run_eval(assistant, ITEMS, judge=WordsJudge(), language_of=fake_language, progress=False)
    assert assistant.retrieve_k == [10] * 5 and assistant.ask_k == [None] * 5
    run_eval(assistant, ITEMS, k=3, answer_k=4, judge=WordsJudge(), language_of=fake_language, progress=False)
    assert assistant.retrieve_k[-1] == 3 and assistant.ask_k[-1] == 4
    run_eval(assistant, ITEMS, k=None, retrieval_only=True, progress=False)
    assert assistant.retrieve_k[-1] == 10


@pytest.mark.parametrize("kwargs", [{"k": 0}, {"min_coverage": 0.0}, {"min_coverage": 1.5}])
def test_run_eval_rejects_bad_options(assistant, kwargs):
    with pytest.raises(ValueError):
        run_eval(assistant, ITEMS, judge=WordsJudge(), progress=False, **kwargs)


def test_run_eval_rejects_no_items(assistant):
    with pytest.raises(ValueError, match="no questions"):
        run_eval(assistant, [], judge=WordsJudge(), progress=False)


ANSWER_KEYS = ["accuracy", "answer_accuracy", "answer_f1", "abstention_accuracy", "false_abstention_rate",
               "wrong_but_cited_rate", "gold_citation_precision", "gold_citation_recall",
               "citation_precision[WordsJudge]", "citation_recall[WordsJudge]", "language_match", "degenerate_rate",
               "ttft_ms_p50", "ttft_ms_p95", "total_ms_p50", "total_ms_p95"]
RETRIEVAL_KEYS = ["recall@1", "recall@3", "recall@5", "recall@10", "mrr@10"]


def test_json_shape(result):
    d = json.loads(json.dumps(result.to_dict()))
    for metrics in [d["overall"], *(d["by_language"][lang] for lang in LANGUAGES)]:
        assert set(RETRIEVAL_KEYS) <= set(metrics["retrieval"])
        assert set(ANSWER_KEYS) <= set(metrics)
        assert all(isinstance(metrics[k], float) for k in ANSWER_KEYS)
    assert [q["id"] for q in d["questions"]] == ["a1", "a2", "a3", "a4", "a5"]
    for q in d["questions"]:
        assert {"id", "answer", "citations", "correct", "reasons", "lang", "question", "first_hit_rank",
                "abstained", "timings"} <= set(q)
    assert d["questions"][0]["citations"][0]["doc_id"] == "doc_a.txt"
    assert d["questions"][0]["timings"]["ttft_ms"] == 100


def test_retrieval_only_mode(retrieval_result, assistant):
    assert assistant.ask_k == []  # never asked
    d = retrieval_result.to_dict()
    assert d["overall"]["retrieval"]["recall@3"] == pytest.approx(2 / 3)
    for metrics in [d["overall"], *(d["by_language"][lang] for lang in LANGUAGES)]:
        # Without answers there is no judge, so the ALCE figures keep their plain names.
        keys = [k.replace("[WordsJudge]", "") for k in ANSWER_KEYS]
        assert all(k in metrics and metrics[k] is None for k in keys)
    assert [q["correct"] for q in d["questions"]] == [True, True, False, None, None]
    assert d["questions"][0]["answer"] is None and d["questions"][0]["timings"] is None


def test_empty_language_scope_gives_nulls():
    res = build_result([row(1, lang="fr", answer="x", abstained=False, answer_correct=True)])
    en = res.to_dict()["by_language"]["en"]
    assert en["retrieval"]["recall@1"] is None and en["answer_accuracy"] is None and en["n_questions"] == 0


# --------------------------------------------------------------------------- writers


def test_format_table(result, retrieval_result):
    table = format_table(result)
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "overall", "fr", "en"]
    acc = next(line for line in lines if line.startswith("answer accuracy"))
    assert acc.split()[-3:] == ["0.667", "0.500", "1.000"]
    assert next(line for line in lines if line.startswith("TTFT p95")).split()[-3] == "480"
    assert "answer accuracy" not in format_table(retrieval_result)
    assert "recall@5" in format_table(retrieval_result)


def test_write_json_round_trips(result, tmp_path):
    path = write_json(result, tmp_path / "out" / "eval.json")
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(result.to_dict()))


def test_write_markdown(result, tmp_path):
    d = result.to_dict()
    d["questions"][0]["answer"] = "a | b\nc"
    text = write_markdown(d, tmp_path / "eval.md").read_text(encoding="utf-8")
    for it in ITEMS:
        assert f"| {it.id} |" in text
    assert "a \\| b<br>c" in text
    assert '[1] doc_a.txt: "Mistral AI a levé 600 millions d\'euros."' in text
    rows = [line for line in text.splitlines() if re.match(r"\| a\d \|", line)]
    assert len(rows) == 5
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 9 for line in rows)  # 8 columns, none broken
    assert "fail" in rows[2] and "abstained on answerable question" in rows[2]
    # The k recall reads and the k answers read are two numbers, said apart.
    assert re.search(r"^Mode: retrieval and answers; recall over the top \d+; answers from \S+ passages", text, re.M)


def test_md_cell_escapes():
    assert md_cell("x|y\r\nz <b>") == "x\\|y<br>z &lt;b&gt;"
    assert md_cell(None) == ""


@pytest.mark.parametrize("mode", ["full", "retrieval"])
def test_write_chart_writes_png(result, retrieval_result, tmp_path, mode):
    pytest.importorskip("matplotlib")
    res = result if mode == "full" else retrieval_result
    path = write_chart(res, tmp_path / f"{mode}.png")
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000


# --------------------------------------------------------------------------- invariants


TOKENS = [*"ab [],.12!? \nÉ’", "[1]", "[12]", "[1, 2]", "Il pleut", "Qui"]


@given(st.one_of(st.text(), st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)))
@example("[0[0]]")  # a nested marker: removing the inner one used to leave "[0]"
def test_text_helpers_never_raise(text):
    assert _no_marker(strip_markers(text))
    for claim, markers in claim_sentences(text):
        assert _no_marker(claim) and all(isinstance(m, int) for m in markers)
    assert parse_markers(text) == list(dict.fromkeys(parse_markers(text)))
    degenerate_reason(text, "Qui a levé 600 millions ?")


def _no_marker(text: str) -> bool:
    return not parse_markers(text)


def test_prompt_tokens_mean_skips_answers_without_a_prompt():
    rows = [row(1, answer="x", prompt_tokens=0, ttft_ms=0.0, total_ms=10.0),
            row(1, answer="x", prompt_tokens=100, ttft_ms=200.0, total_ms=30.0)]
    m = summarize(rows)
    assert m.prompt_tokens_mean == 100.0
    assert (m.ttft_ms_p50, m.total_ms_p50) == (100.0, 20.0)  # latency counts every answer
