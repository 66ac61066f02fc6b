"""Citation scores in the manner of ALCE (Gao et al. 2023, ``princeton-nlp/ALCE`` eval.py,
``compute_autoais``), with a pluggable support judge instead of the NLI model: is each answer
sentence supported by its cited passages (recall), and is each citation needed (precision).

Pure functions, used by :func:`rag.eval.metrics.score_question`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.answer.judge import SupportJudge
from rag.answer.markers import parse_markers, strip_markers
from rag.records import Answer, Citation, Passage
from rag.text.sentences import split_sentences

# --------------------------------------------------------------------------- citations (ALCE)


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def same_doc(a: str, b: str) -> bool:
    """Document ids match, tolerating a directory prefix or a missing extension.

    >>> same_doc("seeds/000_a.txt", "000_a.txt"), same_doc("000_a", "000_a.txt"), same_doc("a.txt", "b.txt")
    (True, True, False)
    """
    if a == b:
        return True
    pa, pb = Path(a), Path(b)
    return pa.name == pb.name or (pa.stem == pb.stem and (not pa.suffix or not pb.suffix))



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
                    judge: SupportJudge) -> CitationScore | None:
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
