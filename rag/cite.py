"""Citation markers: parse them, verify them against the passages, renumber.

Nothing reaches the user as a citation unless the support judge (the same one
``rag eval`` uses) says the cited passage supports the sentence. Every kept
citation carries the exact supporting sentence(s) as its quote, with document
offsets, so a reader can check it in one glance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .records import Citation, Passage
from .sentences import sentence_spans

# [1]  [1, 2]  [1][2]  [1;3]  — markers up to 3 digits.
MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_TRAILING_MARKERS = re.compile(r"([.!?…])\s*((?:\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]\s*)+)")
_MARKERS_ONLY = re.compile(r"^[\s\[\]\d,;.!?:…]*$")


def parse_markers(text: str) -> list[int]:
    """Marker numbers in order of appearance, without duplicates.

    >>> parse_markers("A [2]. B [1, 3][2]")
    [2, 1, 3]
    """
    seen: list[int] = []
    for m in MARKER.finditer(text):
        for part in re.split(r"[,;]", m.group(1)):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


def strip_markers(text: str) -> str:
    """Text without markers, spaces tidied.

    >>> strip_markers("Il perd 5 milliards [1] [2].")
    'Il perd 5 milliards.'
    """
    text = MARKER.sub("", text)
    text = re.sub(r"\s+([.,;:!?…])", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Split an answer into (sentence without markers, markers) pairs.

    A piece made only of markers (``"... dollars. [1]"``) belongs to the sentence before it.

    >>> answer_sentences("OpenAI perd 5 milliards. [1] Anthropic aussi [2].")
    [('OpenAI perd 5 milliards.', [1]), ('Anthropic aussi.', [2])]
    """
    # Markers written after the full stop ("dollars. [1] Next") belong before it.
    answer = _TRAILING_MARKERS.sub(lambda m: f" {m.group(2).strip()}{m.group(1)} ", answer)
    out: list[tuple[str, list[int]]] = []
    for s, e in sentence_spans(answer):
        piece = answer[s:e]
        markers = parse_markers(piece)
        if _MARKERS_ONLY.match(piece):
            if out and markers:
                prev_text, prev_markers = out[-1]
                out[-1] = (prev_text, prev_markers + [m for m in markers if m not in prev_markers])
            continue
        out.append((strip_markers(piece), markers))
    return out


@dataclass
class VerifiedSentence:
    text: str
    sources: list[tuple[int, int, int, bool]] = field(default_factory=list)  # (passage idx, start, end, supported)

    @property
    def supported(self) -> bool:
        return any(s[3] for s in self.sources)


@dataclass
class Verification:
    answer: str
    citations: list[Citation]
    unsupported_sentences: list[str]
    sentences: list[VerifiedSentence]

    @property
    def any_supported(self) -> bool:
        return any(s.supported for s in self.sentences)


Judge = Callable[[str, str], bool]


def best_quote(claim: str, passage: Passage, judge_supports: Judge,
               judge_score: Callable[[str, str], float]) -> tuple[int, int, bool]:
    """The sentence (or two adjacent sentences) of ``passage`` that best support ``claim``.

    Returns document offsets ``(start, end)`` and whether that quote alone supports the claim.
    """
    spans = [(passage.start + s, passage.start + e) for s, e in sentence_spans(passage.text)]
    if not spans:
        return passage.start, passage.end, False

    def text_of(a: int, b: int) -> str:
        return passage.text[a - passage.start:b - passage.start]

    scored = sorted(((judge_score(claim, text_of(s, e)), s, e) for s, e in spans), reverse=True)
    for _, s, e in scored[:3]:
        if judge_supports(claim, text_of(s, e)):
            return s, e, True
    for (s1, _), (_, e2) in zip(spans, spans[1:]):
        if judge_supports(claim, text_of(s1, e2)):
            return s1, e2, True
    _, s, e = scored[0]
    return s, e, False


def verify_answer(answer: str, passages: Sequence[Passage], *, supports: Judge,
                  score: Callable[[str, str], float]) -> Verification:
    """Keep only citations whose passage supports their sentence; repair or flag the rest.

    For each answer sentence: markers out of range or not supporting are dropped;
    a sentence left without a valid marker gets the retrieved passage that best
    supports it, if one does; otherwise it is listed as unsupported (an in-range
    marker is kept for display with ``supported=False``). Markers are renumbered
    1..n in order of appearance, one per distinct quote.
    """
    verified: list[VerifiedSentence] = []
    for text, markers in answer_sentences(answer):
        vs = VerifiedSentence(text)
        in_range = [m for m in markers if 1 <= m <= len(passages)]
        good = [m for m in in_range if supports(text, passages[m - 1].text)]
        if not good:
            ranked = sorted(range(len(passages)), key=lambda i: -score(text, passages[i].text))
            good = [i + 1 for i in ranked[:3] if supports(text, passages[i].text)][:1]
        for m in good:
            s, e, _ = best_quote(text, passages[m - 1], supports, score)
            vs.sources.append((m - 1, s, e, True))
        if not good and in_range:
            m = in_range[0]
            s, e, _ = best_quote(text, passages[m - 1], supports, score)
            vs.sources.append((m - 1, s, e, False))
        verified.append(vs)
    return _renumber(verified, passages)


def _renumber(verified: list[VerifiedSentence], passages: Sequence[Passage]) -> Verification:
    numbers: dict[tuple[int, int, int, bool], int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    unsupported: list[str] = []
    for vs in verified:
        marks = []
        for src in vs.sources:
            if src not in numbers:
                numbers[src] = len(numbers) + 1
                idx, s, e, ok = src
                p = passages[idx]
                citations.append(Citation(
                    marker=numbers[src], doc_id=p.doc_id, title=p.title, chunk_id=p.chunk_id,
                    start=s, end=e, quote=p.text[s - p.start:e - p.start], supported=ok,
                    date=p.date, passage_start=p.start, passage_end=p.end,
                ))
            marks.append(f"[{numbers[src]}]")
        if not vs.supported:
            unsupported.append(vs.text)
        parts.append(_attach(vs.text, "".join(marks)))
    return Verification(" ".join(parts).strip(), citations, unsupported, verified)


def _attach(sentence: str, marks: str) -> str:
    """Put markers before the sentence's final punctuation.

    >>> _attach("Il perd 5 milliards.", "[1]")
    'Il perd 5 milliards [1].'
    """
    if not marks:
        return sentence
    m = re.search(r"[.!?…]+[»\"”’)]*$", sentence)
    if m:
        return f"{sentence[:m.start()].rstrip()} {marks}{sentence[m.start():]}"
    return f"{sentence} {marks}"
