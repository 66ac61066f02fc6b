"""Evaluation of the assistant on a QA set: retrieval, answers, citations, latency.

Used by ``rag eval DATASET.jsonl`` and the Python API::

    items = load_dataset("eval/dev.jsonl")
    result = run_eval(assistant, items)
    print(format_table(result))

The flow is: ask the assistant (anything with ``retrieve``/``ask``/``document_text``,
see :class:`Assistant`), score each question into a :class:`QuestionResult`
(pure functions below), then aggregate the rows overall and per language into
:class:`Metrics`. Writers for the results live in :mod:`rag.report`.

Citation metrics follow ALCE (Gao et al. 2023, ``princeton-nlp/ALCE`` eval.py,
``compute_autoais``) with a pluggable support judge instead of the NLI model.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from rag.cite import parse_markers, strip_markers
from rag.errors import RagError
from rag.records import Answer, Citation, Passage
from rag.report import format_table, write_chart, write_json, write_markdown
from rag.sentences import normalize_text, split_sentences

__all__ = [
    "Assistant",
    "CitationScore",
    "EvalItem",
    "EvalResult",
    "GoldQuote",
    "GoldSpan",
    "Judge",
    "Metrics",
    "QuestionResult",
    "SentenceCheck",
    "answer_matches",
    "cites_gold",
    "claim_sentences",
    "default_judge",
    "degenerate_reason",
    "detect_language",
    "first_hit_rank",
    "fold",
    "format_table",
    "load_dataset",
    "locate_quote",
    "parse_markers",
    "passage_covers",
    "percentile",
    "run_eval",
    "score_citations",
    "score_question",
    "strip_markers",
    "summarize",
    "write_chart",
    "write_json",
    "write_markdown",
]

LOG = logging.getLogger(__name__)

LANGUAGES = ("fr", "en")
RECALL_KS = (1, 3, 5, 10)
MRR_K = 10
DEFAULT_K = 10
MIN_COVERAGE = 0.8
# Rank cut-off named in the per-question reasons: the answer prompt usually sees
# about five passages, so a gold passage below that is effectively lost.
REASON_K = 5

# Same marker syntax as the citation stage: [1], [1, 2], [1;3].
_WORD = re.compile(r"\w+")
# Typographic variants that should not make two strings differ when compared.
_CHAR_FOLD = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "“": '"', "”": '"',
                            "«": '"', "»": '"', "–": "-", "—": "-", "‑": "-"})


# --------------------------------------------------------------------------- interfaces


class Assistant(Protocol):
    """What the evaluation needs from the assistant."""

    def retrieve(self, question: str, *, k: int | None = None) -> list[Passage]: ...

    def ask(self, question: str, *, k: int | None = None) -> Answer: ...

    def document_text(self, doc_id: str) -> str: ...


class Judge(Protocol):
    """Decides whether evidence supports a claim (``rag.judge.SupportJudge`` fits)."""

    def supports(self, claim: str, evidence: str) -> bool: ...


def default_judge() -> Judge:
    """The library's default support judge (lexical, no model)."""
    # Imported here so that evaluation code and its tests do not depend on the judge module.
    from rag.judge import LexicalJudge

    return LexicalJudge()


# --------------------------------------------------------------------------- dataset


@dataclass(frozen=True)
class GoldQuote:
    """An exact substring ``quote`` of document ``doc`` that supports the answer."""

    doc: str
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EvalItem:
    """One question of a QA set (one JSONL line)."""

    id: str
    lang: str
    question: str
    answers: tuple[str, ...] = ()
    gold: tuple[GoldQuote, ...] = ()
    answerable: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "lang": self.lang,
            "question": self.question,
            "answers": list(self.answers),
            "gold": [g.to_dict() for g in self.gold],
            "answerable": self.answerable,
        }

    @classmethod
    def from_dict(cls, d: Any) -> EvalItem:
        """Validate and build an item; raises ValueError saying which field is wrong.

        >>> EvalItem.from_dict({"id": "q1", "lang": "fr", "question": "Qui ?",
        ...     "answers": ["Paul"], "gold": [{"doc": "a.txt", "quote": "Paul"}],
        ...     "answerable": True}).gold[0].doc
        'a.txt'
        """
        if not isinstance(d, dict):
            raise ValueError("expected a JSON object")
        for key in ("id", "lang", "question", "answers", "gold", "answerable"):
            if key not in d:
                raise ValueError(f"missing field {key!r}")
        item_id, lang, question = d["id"], d["lang"], d["question"]
        if not isinstance(item_id, str) or not item_id.strip():
            raise ValueError("'id' must be a non-empty string")
        if lang not in LANGUAGES:
            raise ValueError(f"'lang' must be one of {list(LANGUAGES)}, got {lang!r}")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("'question' must be a non-empty string")
        if not isinstance(d["answerable"], bool):
            raise ValueError("'answerable' must be true or false")
        answers = d["answers"]
        if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
            raise ValueError("'answers' must be a list of non-empty strings")
        gold_raw = d["gold"]
        if not isinstance(gold_raw, list):
            raise ValueError("'gold' must be a list of {doc, quote} objects")
        gold = []
        for g in gold_raw:
            if (not isinstance(g, dict) or not isinstance(g.get("doc"), str) or not g["doc"]
                    or not isinstance(g.get("quote"), str) or not g["quote"].strip()):
                raise ValueError("each 'gold' entry needs non-empty string 'doc' and 'quote'")
            gold.append(GoldQuote(doc=g["doc"], quote=g["quote"]))
        if d["answerable"] and not answers:
            raise ValueError("an answerable question needs at least one entry in 'answers'")
        if d["answerable"] and not gold:
            raise ValueError("an answerable question needs at least one 'gold' quote")
        if not d["answerable"] and answers:
            raise ValueError("an unanswerable question must have empty 'answers'")
        return cls(id=item_id, lang=lang, question=question, answers=tuple(answers),
                   gold=tuple(gold), answerable=d["answerable"])


def load_dataset(path: str | Path) -> list[EvalItem]:
    """Read a JSONL QA set; a bad line raises ValueError naming the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ValueError(f"dataset not found: {path}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e})") from None
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = EvalItem.from_dict(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {line_no}: invalid JSON ({e.msg})") from None
        except ValueError as e:
            raise ValueError(f"{path}, line {line_no}: {e}") from None
        if item.id in seen:
            raise ValueError(f"{path}, line {line_no}: duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = line_no
        items.append(item)
    if not items:
        raise ValueError(f"{path}: no questions in the dataset")
    return items


# --------------------------------------------------------------------------- text helpers


def fold(text: str) -> str:
    """Case-, accent- and typography-insensitive form used for string comparisons.

    >>> fold("Général  5\\u202fMILLIARDS d’euros")
    "general 5 milliards d'euros"
    """
    text = unicodedata.normalize("NFKD", text.translate(_CHAR_FOLD))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def answer_matches(answer: str, expected: Iterable[str]) -> bool:
    """True when any expected string appears in the answer, ignoring case and accents.

    >>> answer_matches("Il perdra 5 MILLIARDS [1].", ["5 milliards"])
    True
    >>> answer_matches("General Catalyst", ["Général Catalyst"])
    True
    >>> answer_matches("Je ne sais pas.", ["5 milliards"])
    False
    """
    folded = fold(strip_markers(answer))
    return any(fold(e) and fold(e) in folded for e in expected)


def degenerate_reason(answer: str, question: str) -> str | None:
    """Why an answer is degenerate (empty, markers only, echoing the question), else None.

    >>> degenerate_reason("  ", "Qui ?")
    'empty answer'
    >>> degenerate_reason("[1] .", "Qui ?")
    'markers or punctuation only'
    >>> degenerate_reason("Combien Mistral a-t-elle levé ? [1]", "Combien Mistral a-t-elle levé ?")
    'answer repeats the question'
    >>> degenerate_reason("Mistral", "Combien Mistral a-t-elle levé ?")
    'answer is contained in the question'
    >>> degenerate_reason("600 millions d'euros [1].", "Combien Mistral a-t-elle levé ?") is None
    True
    """
    if not answer.strip():
        return "empty answer"
    words = _WORD.findall(fold(strip_markers(answer)))
    if not words:
        return "markers or punctuation only"
    q_words = _WORD.findall(fold(question))
    if not q_words:
        return None
    if words == q_words:
        return "answer repeats the question"
    if _contains(q_words, words):
        return "answer is contained in the question"
    rest = _remove_all(words, q_words)
    if len(rest) < len(words) and (not rest or _contains(q_words, rest)):
        return "answer repeats the question"
    return None


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def _remove_all(words: list[str], sub: list[str]) -> list[str]:
    out, i, n = [], 0, len(sub)
    while i < len(words):
        if words[i:i + n] == sub:
            i += n
        else:
            out.append(words[i])
            i += 1
    return out


@lru_cache(maxsize=1)
def _fr_en_identifier() -> Any:
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as e:
        from rag.errors import DependencyError

        raise DependencyError("language detection needs py3langid: pip install py3langid") from e
    # A dedicated instance: restricting the module-level identifier would leak
    # into every other user of py3langid in the process.
    if hasattr(LanguageIdentifier, "from_model_file"):
        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    else:  # older py3langid releases
        identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect_language(text: str) -> str | None:
    """``"fr"`` or ``"en"`` for the text with markers stripped; None when it has no letters."""
    text = strip_markers(text)
    if not any(ch.isalpha() for ch in text):
        return None
    lang, _ = _fr_en_identifier().classify(text)
    return str(lang)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation (numpy's default); None if empty.

    >>> percentile([10, 20, 30, 40], 50)
    25.0
    >>> round(percentile([0, 10, 20, 30, 40], 95), 6)
    38.0
    >>> percentile([], 50) is None
    True
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {q}")
    xs = sorted(float(v) for v in values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _mean(values: Iterable[float | bool]) -> float | None:
    xs = [float(v) for v in values]
    return sum(xs) / len(xs) if xs else None


# --------------------------------------------------------------------------- retrieval


@dataclass(frozen=True)
class GoldSpan:
    """Where a gold quote sits in the normalised document text."""

    doc: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def same_doc(a: str, b: str) -> bool:
    """Document ids match, tolerating a directory prefix or a missing extension.

    >>> same_doc("seeds/000_a.txt", "000_a.txt"), same_doc("000_a", "000_a.txt"), same_doc("a.txt", "b.txt")
    (True, True, False)
    """
    if a == b:
        return True
    pa, pb = Path(a), Path(b)
    return pa.name == pb.name or (pa.stem == pb.stem and (not pa.suffix or not pb.suffix))


def locate_quote(doc_text: str, quote: str, *, doc: str = "") -> list[GoldSpan]:
    """Every occurrence of ``quote`` (normalised like documents) in ``doc_text``.

    Falls back to a whitespace-insensitive match, since loaders may reflow spaces.

    >>> locate_quote("Il pleut. Il pleut.", "Il pleut", doc="a")
    [GoldSpan(doc='a', start=0, end=8), GoldSpan(doc='a', start=10, end=18)]
    >>> locate_quote("Il  pleut\\nfort.", "pleut fort", doc="a")
    [GoldSpan(doc='a', start=4, end=14)]
    """
    quote = normalize_text(quote).strip()
    if not quote:
        return []
    spans = []
    start = doc_text.find(quote)
    while start >= 0:
        spans.append(GoldSpan(doc, start, start + len(quote)))
        start = doc_text.find(quote, start + 1)
    if not spans:
        pattern = r"\s+".join(re.escape(tok) for tok in quote.split())
        spans = [GoldSpan(doc, m.start(), m.end()) for m in re.finditer(pattern, doc_text)]
    return spans


def passage_covers(passage: Passage, gold: GoldSpan, *, min_coverage: float = MIN_COVERAGE) -> bool:
    """True when the passage is from the gold document and covers enough of the gold span.

    >>> p = Passage(rank=1, doc_id="a", chunk_id="a#0", start=0, end=80, score=1.0, text="")
    >>> passage_covers(p, GoldSpan("a", 0, 100)), passage_covers(p, GoldSpan("a", 1, 101))
    (True, False)
    """
    if not same_doc(passage.doc_id, gold.doc):
        return False
    length = gold.end - gold.start
    overlap = min(passage.end, gold.end) - max(passage.start, gold.start)
    if length <= 0:
        return passage.start <= gold.start <= passage.end
    # Tolerance: 0.8 * length is not always exact in binary floating point.
    return overlap > 0 and overlap >= min_coverage * length - 1e-9


def first_hit_rank(passages: Sequence[Passage], gold: Sequence[GoldSpan], *,
                   min_coverage: float = MIN_COVERAGE) -> int | None:
    """1-based position of the first passage covering any gold span, None if none does."""
    for i, p in enumerate(passages, start=1):
        if any(passage_covers(p, g, min_coverage=min_coverage) for g in gold):
            return i
    return None


def cites_gold(citations: Sequence[Citation], gold: Sequence[GoldSpan]) -> bool:
    """True when some citation span overlaps some gold span in the same document."""
    return any(same_doc(c.doc_id, g.doc) and c.start < g.end and g.start < c.end
               for c in citations for g in gold)


# --------------------------------------------------------------------------- citations (ALCE)


def claim_sentences(answer_text: str) -> list[tuple[str, list[int]]]:
    """Sentences of an answer as ``(claim without markers, markers)``.

    A sentence made only of markers gives them to the previous sentence (or to
    the next one when it comes first), since models often write ``Claim. [1]``.

    >>> claim_sentences("Il pleut [1]. Il vente. [2][3]")
    [('Il pleut.', [1]), ('Il vente.', [2, 3])]
    """
    out: list[tuple[str, list[int]]] = []
    pending: list[int] = []
    for sentence in split_sentences(answer_text):
        markers = parse_markers(sentence)
        claim = strip_markers(sentence)
        if not _has_words(claim):
            target = out[-1][1] if out else pending
            target.extend(m for m in markers if m not in target)
            continue
        merged = pending + [m for m in markers if m not in pending]
        out.append((claim, merged))
        pending = []
    return out


def citation_evidence(answer: Answer) -> dict[int, str]:
    """Evidence text per marker: the cited passage, else the citation's own quote.

    The passage is the one of ``answer.passages`` with the citation's chunk id
    whose span contains the citation (falling back to any passage of the same
    document containing it, for merged passages).
    """
    by_marker: dict[int, list[str]] = {}
    for c in answer.citations:
        text = _passage_text(c, answer.passages) or c.quote
        texts = by_marker.setdefault(c.marker, [])
        if text and text not in texts:
            texts.append(text)
    return {m: "\n".join(texts) for m, texts in by_marker.items()}


def _passage_text(c: Citation, passages: Sequence[Passage]) -> str | None:
    def contains(p: Passage) -> bool:
        return p.start <= c.start and c.end <= p.end

    for p in passages:
        if p.chunk_id == c.chunk_id and contains(p):
            return p.text
    for p in passages:
        if same_doc(p.doc_id, c.doc_id) and contains(p):
            return p.text
    return None


@dataclass
class SentenceCheck:
    """The ALCE verdict on one answer sentence (``index`` is 1-based)."""

    index: int
    claim: str
    markers: list[int]
    supported: bool
    relevant: list[int] = field(default_factory=list)
    unknown_markers: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CitationScore:
    """Per-answer ALCE citation recall and precision."""

    recall: float
    precision: float
    n_citations: int
    n_relevant: int
    sentences: list[SentenceCheck]

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "sentences"},
                "sentences": [s.to_dict() for s in self.sentences]}


def score_citations(sentences: Sequence[tuple[str, Sequence[int]]], evidence: Mapping[int, str],
                    judge: Judge) -> CitationScore | None:
    """ALCE citation recall/precision of one answer; None when it has no sentence.

    Recall: share of sentences supported by their cited passages joined. Precision:
    share of citations that are relevant; a citation is irrelevant when its
    sentence is not supported, or when it does not support the sentence alone and
    the other citations still do without it. Deviation from ALCE: a marker with no
    citation makes its sentence unsupported *and* counts its citations as
    irrelevant (ALCE drops them from the denominator). As in ALCE, an answer
    with no citation at all gets precision 0.

    >>> class Words:
    ...     def supports(self, claim, evidence):
    ...         return set(claim.lower().split()) <= set(evidence.lower().split())
    >>> s = score_citations([("a b", [1, 2]), ("c", [])], {1: "a b", 2: "z"}, Words())
    >>> s.recall, s.precision
    (0.5, 0.5)
    """
    if not sentences:
        return None
    cache: dict[tuple[str, str], bool] = {}

    def supports(claim: str, markers: Sequence[int]) -> bool:
        joined = "\n".join(evidence[m] for m in markers)
        key = (claim, joined)
        if key not in cache:
            cache[key] = bool(judge.supports(claim, joined))
        return cache[key]

    checks: list[SentenceCheck] = []
    n_citations = n_relevant = 0
    for i, (claim, raw_markers) in enumerate(sentences, start=1):
        markers = list(dict.fromkeys(raw_markers))
        unknown = [m for m in markers if m not in evidence]
        n_citations += len(markers)
        check = SentenceCheck(index=i, claim=claim, markers=markers, supported=False, unknown_markers=unknown)
        checks.append(check)
        if not markers or unknown:
            continue
        check.supported = supports(claim, markers)
        if not check.supported:
            continue
        if len(markers) == 1:
            check.relevant = markers
        else:
            for m in markers:
                rest = [x for x in markers if x != m]
                if supports(claim, [m]) or not supports(claim, rest):
                    check.relevant.append(m)
        n_relevant += len(check.relevant)
    recall = sum(c.supported for c in checks) / len(checks)
    precision = n_relevant / n_citations if n_citations else 0.0
    return CitationScore(recall=recall, precision=precision, n_citations=n_citations,
                         n_relevant=n_relevant, sentences=checks)


# --------------------------------------------------------------------------- per question


@dataclass
class QuestionResult:
    """Everything measured on one question; the answer fields are None in retrieval-only mode."""

    id: str
    lang: str
    question: str
    answerable: bool
    expected: list[str]
    gold_found: bool
    first_hit_rank: int | None
    retrieved: list[str] = field(default_factory=list)
    answer: str | None = None
    abstained: bool | None = None
    citations: list[Citation] = field(default_factory=list)
    correct: bool | None = None
    answer_correct: bool | None = None
    citation_recall: float | None = None
    citation_precision: float | None = None
    sentences: list[SentenceCheck] = field(default_factory=list)
    cites_gold: bool | None = None
    answer_language: str | None = None
    language_match: bool | None = None
    degenerate: bool | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    prompt_tokens: int | None = None
    timings: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["citations"] = [c.to_dict() for c in self.citations]
        d["sentences"] = [s.to_dict() for s in self.sentences]
        return d


def score_question(item: EvalItem, passages: Sequence[Passage] | None, answer: Answer | None,
                   gold: Sequence[GoldSpan], *, judge: Judge | None = None,
                   language_of: Callable[[str], str | None] = detect_language,
                   min_coverage: float = MIN_COVERAGE) -> QuestionResult:
    """Score one question from what the assistant returned (``answer`` None: retrieval only)."""
    row = QuestionResult(id=item.id, lang=item.lang, question=item.question, answerable=item.answerable,
                         expected=list(item.answers), gold_found=bool(gold), first_hit_rank=None)
    if passages is not None:
        row.retrieved = [f"{p.doc_id}#{p.chunk_id}" for p in passages]
        if item.answerable:
            row.first_hit_rank = first_hit_rank(passages, gold, min_coverage=min_coverage)
            row.reasons.extend(_retrieval_reasons(item, row.first_hit_rank, bool(gold), len(passages)))
    if answer is None:
        if item.answerable and passages is not None:
            row.correct = row.first_hit_rank is not None and row.first_hit_rank <= REASON_K
        return row
    if judge is None:
        raise ValueError("scoring an answer needs a support judge")

    row.answer = answer.answer
    row.abstained = bool(answer.abstained)
    row.citations = list(answer.citations)
    row.timings = answer.timings.to_dict()
    row.ttft_ms = answer.timings.ttft_ms
    row.total_ms = answer.timings.total_ms
    row.prompt_tokens = answer.timings.prompt_tokens

    if item.answerable:
        row.answer_correct = not row.abstained and answer_matches(answer.answer, item.answers)
        row.correct = row.answer_correct
        if row.abstained:
            row.reasons.append("abstained on answerable question")
        elif not row.answer_correct:
            row.reasons.append(f"expected one of {list(item.answers)!r} not in answer")
    else:
        row.correct = row.abstained
        if not row.abstained:
            row.reasons.append("answered an unanswerable question (expected abstention)")

    if not row.abstained:
        score = score_citations(claim_sentences(answer.answer), citation_evidence(answer), judge)
        if score is not None:
            row.citation_recall = score.recall
            row.citation_precision = score.precision
            row.sentences = score.sentences
            row.reasons.extend(_citation_reasons(score))
        if item.answerable:
            row.cites_gold = cites_gold(answer.citations, gold)
            if not row.cites_gold:
                row.reasons.append("no citation overlaps the gold quote")

    row.answer_language = language_of(answer.answer)
    row.language_match = row.answer_language == item.lang
    if not row.language_match:
        row.reasons.append(f"answer in {row.answer_language or 'unknown language'}, question in {item.lang}")

    why = degenerate_reason(answer.answer, item.question)
    row.degenerate = why is not None
    if why:
        row.reasons.append(f"degenerate answer: {why}")
    return row


def _retrieval_reasons(item: EvalItem, rank: int | None, gold_found: bool, n_retrieved: int) -> list[str]:
    if not gold_found:
        docs = sorted({g.doc for g in item.gold})
        return [f"gold quote not found in {', '.join(docs)}"]
    if rank is None:
        return [f"gold passage not retrieved (not in top {n_retrieved})"]
    if rank > REASON_K:
        return [f"gold passage not in top {REASON_K} (first hit at rank {rank})"]
    return []


def _citation_reasons(score: CitationScore) -> list[str]:
    reasons = []
    for s in score.sentences:
        if not s.markers:
            reasons.append(f"sentence {s.index} has no citation")
        elif s.unknown_markers:
            listed = ", ".join(f"[{m}]" for m in s.unknown_markers)
            reasons.append(f"sentence {s.index} cites unknown marker(s) {listed}")
        elif not s.supported:
            reasons.append(f"sentence {s.index} unsupported")
        else:
            extra = [m for m in s.markers if m not in s.relevant]
            if extra:
                listed = ", ".join(f"[{m}]" for m in extra)
                reasons.append(f"sentence {s.index}: citation {listed} not needed")
    return reasons


# --------------------------------------------------------------------------- aggregation


@dataclass
class Metrics:
    """Aggregated metrics over a set of questions; None where nothing was measured."""

    retrieval: dict[str, float | None]
    answer_accuracy: float | None = None
    abstention_accuracy: float | None = None
    false_abstention_rate: float | None = None
    citation_precision: float | None = None
    citation_recall: float | None = None
    gold_citation_rate: float | None = None
    language_match: float | None = None
    degenerate_rate: float | None = None
    ttft_ms_p50: float | None = None
    ttft_ms_p95: float | None = None
    total_ms_p50: float | None = None
    total_ms_p95: float | None = None
    prompt_tokens_mean: float | None = None
    n_questions: int = 0
    n_answerable: int = 0
    n_unanswerable: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["retrieval"] = dict(self.retrieval)
        return d


def summarize(rows: Sequence[QuestionResult], *, retrieval_only: bool = False) -> Metrics:
    """Aggregate question rows. Citation scores are averaged per answer, as in ALCE."""
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    ranks = [r.first_hit_rank for r in answerable]
    retrieval: dict[str, float | None] = {
        f"recall@{k}": _mean(rank is not None and rank <= k for rank in ranks) for k in RECALL_KS
    }
    retrieval[f"mrr@{MRR_K}"] = _mean(1 / rank if rank is not None and rank <= MRR_K else 0.0 for rank in ranks)
    metrics = Metrics(retrieval=retrieval, n_questions=len(rows), n_answerable=len(answerable),
                      n_unanswerable=len(unanswerable))
    if retrieval_only:
        return metrics
    answered = [r for r in rows if r.answer is not None]
    metrics.answer_accuracy = _mean(bool(r.answer_correct) for r in answerable if r.answer is not None)
    metrics.abstention_accuracy = _mean(bool(r.abstained) for r in unanswerable if r.answer is not None)
    metrics.false_abstention_rate = _mean(bool(r.abstained) for r in answerable if r.answer is not None)
    metrics.citation_precision = _mean(r.citation_precision for r in answered if r.citation_precision is not None)
    metrics.citation_recall = _mean(r.citation_recall for r in answered if r.citation_recall is not None)
    metrics.gold_citation_rate = _mean(r.cites_gold for r in answered if r.cites_gold is not None)
    metrics.language_match = _mean(bool(r.language_match) for r in answered)
    metrics.degenerate_rate = _mean(bool(r.degenerate) for r in answered)
    ttft = [r.ttft_ms for r in answered if r.ttft_ms is not None]
    total = [r.total_ms for r in answered if r.total_ms is not None]
    metrics.ttft_ms_p50, metrics.ttft_ms_p95 = percentile(ttft, 50), percentile(ttft, 95)
    metrics.total_ms_p50, metrics.total_ms_p95 = percentile(total, 50), percentile(total, 95)
    # Only answers that sent a prompt: an abstention decided before generation has 0 tokens.
    metrics.prompt_tokens_mean = _mean(r.prompt_tokens for r in answered if r.prompt_tokens)
    return metrics


@dataclass
class EvalResult:
    """Per-question rows plus metrics overall and per language."""

    questions: list[QuestionResult]
    overall: Metrics
    by_language: dict[str, Metrics]
    retrieval_only: bool = False
    k: int = DEFAULT_K
    answer_k: int | None = None
    judge: str | None = None
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(),
            "by_language": {lang: m.to_dict() for lang, m in self.by_language.items()},
            "questions": [q.to_dict() for q in self.questions],
            "settings": {"retrieval_only": self.retrieval_only, "k": self.k, "answer_k": self.answer_k,
                         "judge": self.judge, "min_coverage": MIN_COVERAGE},
            "elapsed_s": self.elapsed_s,
        }


def build_result(rows: Sequence[QuestionResult], *, retrieval_only: bool = False, **settings: Any) -> EvalResult:
    """Aggregate rows overall and for each of ``fr`` and ``en``."""
    return EvalResult(
        questions=list(rows),
        overall=summarize(rows, retrieval_only=retrieval_only),
        by_language={lang: summarize([r for r in rows if r.lang == lang], retrieval_only=retrieval_only)
                     for lang in LANGUAGES},
        retrieval_only=retrieval_only,
        **settings,
    )


# --------------------------------------------------------------------------- the run


def run_eval(assistant: Assistant, items: Sequence[EvalItem], *, k: int | None = DEFAULT_K, answer_k: int | None = None,
             retrieval_only: bool = False, judge: Judge | None = None,
             language_of: Callable[[str], str | None] | None = None,
             min_coverage: float = MIN_COVERAGE, progress: bool = True) -> EvalResult:
    """Ask every question and score it.

    ``k`` passages (None: 10) are retrieved for the retrieval metrics, so
    recall@10 needs k >= 10; answers use ``answer_k`` (None: the assistant's default). ``judge`` defaults to
    ``rag.judge.LexicalJudge`` and ``language_of`` to :func:`detect_language`.
    """
    if not items:
        raise ValueError("no questions to evaluate")
    k = DEFAULT_K if k is None else k
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if k < max(RECALL_KS):
        LOG.warning("k=%d: recall@%d and MRR@%d only see the top %d passages", k, max(RECALL_KS), MRR_K, k)
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage}")
    if not retrieval_only and judge is None:
        judge = default_judge()
    from tqdm.auto import tqdm

    started = time.perf_counter()
    doc_cache: dict[str, str | None] = {}
    rows: list[QuestionResult] = []
    bar = tqdm(items, desc="eval", unit="q", disable=not progress)
    for item in bar:
        gold = _gold_spans(assistant, item, doc_cache)
        passages = list(assistant.retrieve(item.question, k=k))
        answer = None if retrieval_only else assistant.ask(item.question, k=answer_k)
        row = score_question(item, passages, answer, gold, judge=judge,
                             language_of=language_of or detect_language, min_coverage=min_coverage)
        rows.append(row)
        LOG.debug("%s: correct=%s reasons=%s", item.id, row.correct, row.reasons)
        scored = [r.correct for r in rows if r.correct is not None]
        if scored:
            bar.set_postfix(correct=f"{sum(scored)}/{len(scored)}")
    elapsed = time.perf_counter() - started
    result = build_result(rows, retrieval_only=retrieval_only, k=k, answer_k=answer_k,
                          judge=type(judge).__name__ if judge is not None else None, elapsed_s=elapsed)
    LOG.info("evaluated %d questions in %.1f s: recall@5=%s answer_accuracy=%s", len(rows), elapsed,
             result.overall.retrieval.get("recall@5"), result.overall.answer_accuracy)
    return result


def _gold_spans(assistant: Assistant, item: EvalItem, cache: dict[str, str | None]) -> list[GoldSpan]:
    spans: list[GoldSpan] = []
    for g in item.gold:
        if g.doc not in cache:
            cache[g.doc] = _document_text(assistant, g.doc)
        text = cache[g.doc]
        if text is None:
            continue
        found = locate_quote(text, g.quote, doc=g.doc)
        if not found:
            LOG.warning("%s: gold quote not found in %s: %r", item.id, g.doc, g.quote[:80])
        spans.extend(found)
    return spans


def _document_text(assistant: Assistant, doc: str) -> str | None:
    # The dataset names files ("000_x.txt"); the index may key them without the extension.
    for candidate in dict.fromkeys([doc, Path(doc).name, Path(doc).stem]):
        try:
            return assistant.document_text(candidate)
        except (LookupError, ValueError, OSError, RagError):
            continue
    LOG.warning("gold document %s is not in the index", doc)
    return None
