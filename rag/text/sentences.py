"""Sentence boundaries for French and English text, as character spans.

Pure functions: no model, no state. Spans index the text they were given, so
``text[start:end]`` is always the sentence and offsets survive every later stage.
"""

from __future__ import annotations

import re
import unicodedata

# Abbreviations after which a period does not end a sentence (lower-cased, no dot).
_ABBREVIATIONS = frozenset(
    """m mm mme mmes mlle dr pr st ste cf etc env av apr p pp vol no n° art
    mr mrs ms prof sr jr vs inc ltd co corp jan feb fév févr mar apr avr aug
    sep sept oct nov dec déc fig eg ie e.g i.e u.s u.k approx""".split()
)

# A sentence ends at . ! ? … (possibly several, possibly followed by closing
# quotes/brackets) when whitespace and then a plausible sentence start follow.
_END = re.compile(r"[.!?…]+[»\"”’')\]]*(?=\s+[«\"“‘(\[]?\s*[A-ZÀ-ÖØ-Þ0-9¿¡«\"“‘•–—-])")
_LINEBREAK = re.compile(r"\n+")
# A text opening with its date ("date 2023-10 La Silicon Valley a misé gros…", the seeds'
# header): the loader reads the date from it, and no sentence begins with it.
DATE_PREFIX = re.compile(r"^\s*date\s*:?\s*(\d{4}-\d{2}(?:-\d{2})?)", re.IGNORECASE)


def normalize_text(text: str) -> str:
    """Normalise line endings to ``\\n`` and Unicode to NFC.

    >>> normalize_text("e\\u0301te\\r\\nhiver\\r") == "\\u00e9te\\nhiver\\n"
    True
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation or an initial."""
    if text[dot] != ".":
        return False
    j = dot
    while j > 0 and (text[j - 1].isalpha() or text[j - 1] == "."):
        j -= 1
    word = text[j:dot].lower()
    if not word:
        return False
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
        return True
    return word in _ABBREVIATIONS


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split ``text`` into sentence spans ``(start, end)`` with whitespace trimmed.

    Line breaks always end a sentence (headings, bullet lists, tweets).

    >>> t = "OpenAI perd 5 milliards. M. Altman sourit ! Next one?"
    >>> [t[s:e] for s, e in sentence_spans(t)]
    ['OpenAI perd 5 milliards.', 'M. Altman sourit !', 'Next one?']
    >>> split_sentences("3,4 milliards. 2.7 billion")
    ['3,4 milliards.', '2.7 billion']

    A date the text opens with belongs to no sentence (quoted, "date 2023-10 La Silicon
    Valley a misé gros…" read as a sentence of the article):

    >>> split_sentences(" date 2023-10 La Silicon Valley a misé gros. Mais rien n'est sûr.")
    ['La Silicon Valley a misé gros.', "Mais rien n'est sûr."]
    >>> split_sentences("date 2024-03-14\\nTitre")
    ['Titre']
    """
    spans: list[tuple[int, int]] = []
    head = DATE_PREFIX.match(text)
    skip = head.end() if head else 0
    for block in _split_blocks(text):
        b_start, b_end = block
        cursor = max(b_start, skip)
        if cursor >= b_end:
            continue
        for m in _END.finditer(text, cursor, b_end):
            first_dot = m.start()
            if _is_abbreviation(text, first_dot) and m.end() - m.start() == 1:
                continue
            s, e = _trim(text, cursor, m.end())
            if s < e:
                spans.append((s, e))
            cursor = m.end()
        s, e = _trim(text, cursor, b_end)
        if s < e:
            spans.append((s, e))
    return spans


def _split_blocks(text: str) -> list[tuple[int, int]]:
    blocks = []
    cursor = 0
    for m in _LINEBREAK.finditer(text):
        blocks.append((cursor, m.start()))
        cursor = m.end()
    blocks.append((cursor, len(text)))
    return blocks


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings.

    >>> split_sentences("Il pleut. It rains [1].")
    ['Il pleut.', 'It rains [1].']
    """
    return [text[s:e] for s, e in sentence_spans(text)]
