"""Grading an answer against the gold answers: containment and SQuAD token F1.

Both compare *normalised tokens* (SQuAD v1.1 ``normalize_answer``, Rajpurkar et
al. 2016, extended to French): lower case, accents and punctuation stripped,
articles dropped, and numbers written one way, so that "100 000", "100,000",
"100.000" and "100000" are one token and "5,5" equals "5.5".

A question is graded :func:`correct` when a gold answer is contained in the
answer *or* the best token F1 reaches :data:`F1_CORRECT`: containment alone
misses paraphrases ("les Broncos de Denver" for "Denver Broncos"), F1 alone
punishes a right answer said in a full sentence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from rag.answer.markers import strip_markers
from rag.text.analysis import fold, identify_language

# SQuAD's articles plus the French ones; "l'" and "d'" arrive as "l" and "d"
# once the apostrophe is punctuation.
ARTICLES = frozenset("le la les l un une des du de d the a an".split())

# Grading threshold: F1 >= 0.5 means at least half of the gold tokens are in a
# short answer (a one-token gold answer inside a two-token reply, a two-token
# one with one token right and nothing else). The usual SQuAD reading of "partial
# match"; containment still catches right answers inside long sentences.
F1_CORRECT = 0.5

# A number as written: grouped by spaces ("100 000", narrow no-break spaces too;
# only groups of three after a 1-3 digit head), or digits with "." / ","
# separators ("100,000", "1.234.567", "5,5").
_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?(?!\d)|\d+(?:[.,]\d+)*"
_TOKEN = re.compile(rf"(?P<num>{_NUMBER})|(?P<word>[^\W_]+)")


def canonical_amount(surface: str) -> str:
    """One spelling for a number written with any grouping and decimal separator.

    A separator followed by exactly three digits groups thousands ("100,000",
    "100.000"); otherwise it is the decimal point ("5,5"). With two kinds of
    separator the last one is the decimal point ("1,234.5", "1.234,5"). So the
    rare "5,500" meaning 5.5 reads as 5500: answers write "5,5".

    >>> [canonical_amount(s) for s in ["100 000", "100,000", "100000", "100\u202f000", "100.000"]]
    ['100000', '100000', '100000', '100000', '100000']
    >>> canonical_amount("5,5"), canonical_amount("5.50"), canonical_amount("1.234,5"), canonical_amount("0,500")
    ('5.5', '5.5', '1234.5', '0.5')
    """
    s = re.sub(r"[ \u00a0\u202f]", "", surface)
    seps = [c for c in s if c in ".,"]
    if seps:
        last = s.rfind(seps[-1])
        if len(set(seps)) == 2:
            whole, frac = s[:last], s[last + 1:]
        elif len(seps) == 1 and (len(s) - last - 1 != 3 or s[:last].strip("0") == ""):
            whole, frac = s[:last], s[last + 1:]
        else:  # one kind, only groups of three: thousands
            whole, frac = s, ""
        s = re.sub(r"[.,]", "", whole) + ("." + frac.rstrip("0") if frac.rstrip("0") else "")
    s = s.lstrip("0") or "0"
    return "0" + s if s.startswith(".") else s


def answer_tokens(text: str) -> list[str]:
    """Normalised tokens of an answer (citation markers removed).

    >>> answer_tokens("L'équipe des Broncos a gagné 100\u00a0000 $, soit 5,5 % [1].")
    ['equipe', 'broncos', 'gagne', '100000', 'soit', '5.5']
    >>> answer_tokens("The New York Times")
    ['new', 'york', 'times']
    """
    tokens = []
    for m in _TOKEN.finditer(fold(strip_markers(text))):
        if m.group("num") is not None:
            tokens.append(canonical_amount(m.group("num")))
        elif m.group("word") not in ARTICLES:
            tokens.append(m.group("word"))
    return tokens


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between two texts after :func:`answer_tokens`.

    >>> token_f1("les Broncos de Denver", "Denver Broncos")
    1.0
    >>> round(token_f1("Denver l’emporte facilement", "Denver Broncos"), 2)
    0.4
    >>> token_f1("", "Denver")
    0.0
    """
    pred, ref = answer_tokens(prediction), answer_tokens(gold)
    same = sum((Counter(pred) & Counter(ref)).values())
    if not same:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def _numbers(tokens: Iterable[str]) -> set[str]:
    return {t for t in tokens if t[0].isdigit()}


def best_f1(answer: str, expected: Iterable[str]) -> float:
    """The highest :func:`token_f1` of the answer over the gold answers (0 without any).

    A gold answer scores 0 against an answer holding a number it does not hold: a number is
    what such an answer gives, and the words around it are not ("En 1885" shares "en" with
    "en 1893", F1 0.5; "15 millions de dollars" shares two words with "plus de 70 millions
    de dollars"; "Super Bowl 50 (1)", an article's title, two with "Super Bowl City"). A
    bare year for a full date ("1734" for "19 janvier 1734") keeps its F1.

    >>> best_f1("Anthropic", ["OpenAI", "Anthropic PBC"])
    0.6666666666666666
    >>> best_f1("En 1885", ["1893", "en 1893"]), best_f1("1734", ["19 janvier 1734"]), best_f1("Super Bowl 50", ["Super Bowl City"])
    (0.0, 0.5, 0.0)
    """
    said = _numbers(answer_tokens(answer))
    return max((token_f1(answer, e) for e in expected if not said - _numbers(answer_tokens(e))), default=0.0)


def answer_matches(answer: str, expected: Iterable[str]) -> bool:
    """True when the tokens of any expected answer appear in a row in the answer.

    Case, accents, punctuation, articles and number spelling are ignored. The
    match starts at a token and numbers are whole ("5 milliards" is not in
    "15 milliards"), but a final word may be a stem, as QA sets write them
    ("diversif" for "diversification").

    >>> answer_matches("Il perdra 5 MILLIARDS [1].", ["5 milliards"])
    True
    >>> answer_matches("General Catalyst", ["Général Catalyst"]), answer_matches("100,000 fans", ["100 000"])
    (True, True)
    >>> answer_matches("Il perdra 15 milliards.", ["5 milliards"]), answer_matches("Je ne sais pas.", ["5 milliards"])
    (False, False)
    >>> answer_matches("La diversification [1].", ["diversif"]), answer_matches("Il a 150 ans.", ["15"])
    (True, False)
    """
    said = " " + " ".join(answer_tokens(answer)) + " "
    for e in expected:
        tokens = answer_tokens(e)
        if not tokens:
            continue
        whole_end = " " if tokens[-1][0].isdigit() else ""
        if " " + " ".join(tokens) + whole_end in said:
            return True
    return False


def fact_recall(answer: str, facts: Sequence[Sequence[str]]) -> float:
    """Share of ``facts`` the answer gives, a fact counting when one of its strings
    matches (:func:`answer_matches`): how complete a summary is.

    >>> fact_recall("Mistral AI a levé 600 millions d'euros [1].", [["600 millions"], ["6 milliards", "6 billion"]])
    0.5
    """
    return sum(answer_matches(answer, f) for f in facts) / len(facts) if facts else 0.0


def correct(contains: bool, f1: float) -> bool:
    """The grade of an answer to an answerable question: contained, or F1 >= :data:`F1_CORRECT`.

    >>> correct(False, 0.5), correct(True, 0.1), correct(False, 0.4)
    (True, True, False)
    """
    return contains or f1 >= F1_CORRECT


def answer_language(text: str) -> str | None:
    """``"fr"`` or ``"en"`` for an answer with markers stripped; None when it has no letters.

    >>> answer_language("OpenAI perdra 5 milliards de dollars cette année [1]."), answer_language("[1] 42.")
    ('fr', None)
    """
    text = strip_markers(text)
    if not any(ch.isalpha() for ch in text):
        return None
    return identify_language(text)
