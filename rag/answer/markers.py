"""Citation markers in an answer: ``[1]``, ``[1, 2]``, ``[2-3]``; parse, strip, split by sentence.

Pure functions shared by verification (:mod:`rag.answer.cite`), the echo
checks, the evaluation and the UI.
"""

from __future__ import annotations

import re

from rag.text.sentences import sentence_spans

# [1]  [1, 2]  [1][2]  [1;3]  [2-3] — markers up to 3 digits.
MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*)\s*\]")
_TRAILING_MARKERS = re.compile(r"([.!?…])\s*((?:\[\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*\]\s*)+)")


def parse_markers(text: str) -> list[int]:
    """Marker numbers in order of appearance, without duplicates.

    >>> parse_markers("A [2]. B [1, 3][2]")
    [2, 1, 3]
    """
    seen: list[int] = []
    for m in MARKER.finditer(text):
        for part in re.split(r"[,;–-]", m.group(1)):
            n = int(part)
            if n not in seen:
                seen.append(n)
    return seen


def strip_markers(text: str) -> str:
    """Text without markers, spaces tidied.

    >>> strip_markers("Il perd 5 milliards [1] [2].")
    'Il perd 5 milliards.'
    """
    # Take the space before each marker with it, so French spacing ("cher ?") survives.
    # Repeat: removing a nested marker ("[0[0]]") can leave another one behind.
    pattern = re.compile(r"\s*" + MARKER.pattern)
    while (shorter := pattern.sub("", text)) != text:
        text = shorter
    return re.sub(r"\s{2,}", " ", text).strip()


def sentence_pieces(answer: str) -> list[str]:
    """The answer's sentences with their markers; markers written after the full stop
    ("dollars. [1] Next") are moved before it.

    >>> sentence_pieces("OpenAI perd 5 milliards. [1] Anthropic aussi [2].")
    ['OpenAI perd 5 milliards [1].', 'Anthropic aussi [2].']
    """
    answer = _TRAILING_MARKERS.sub(lambda m: f" {m.group(2).strip()}{m.group(1)} ", answer)
    return [answer[s:e] for s, e in sentence_spans(answer)]


def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Split an answer into (sentence without markers, markers) pairs.

    A piece made only of markers (``"... dollars. [1]"``) belongs to the sentence before it.

    >>> answer_sentences("OpenAI perd 5 milliards. [1] Anthropic aussi [2].")
    [('OpenAI perd 5 milliards.', [1]), ('Anthropic aussi.', [2])]
    >>> answer_sentences("1986 [1]"), answer_sentences("[1][2]")
    ([('1986', [1])], [])
    """
    out: list[tuple[str, list[int]]] = []
    for piece in sentence_pieces(answer):
        markers = parse_markers(piece)
        if not any(ch.isalnum() for ch in strip_markers(piece)):  # "[1]", not "1986 [1]"
            if out and markers:
                prev_text, prev_markers = out[-1]
                out[-1] = (prev_text, prev_markers + [m for m in markers if m not in prev_markers])
            continue
        out.append((strip_markers(piece), markers))
    return out
