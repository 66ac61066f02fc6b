""""The answer repeats the question": every form of that check, side by side.

A small model sometimes echoes the question instead of answering it. The
pipeline stops such an answer while it streams (:func:`starts_as_echo`),
retries one that adds nothing (:func:`is_degenerate`, built on
:func:`adds_content`), and the evaluation names why an answer is degenerate
(:func:`degenerate_reason`). All compare folded words (:func:`rag.text.analysis.fold`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from rag.answer.markers import answer_sentences, sentence_pieces, strip_markers
from rag.answer.prompt import WORKED_EXAMPLES, is_abstain_token
from rag.text.analysis import fold, tokenize

_WORD = re.compile(r"\w+")

# Interrogative and light verbs that say how a question is asked, not what about.
QUESTION_WORDS = frozenset(
    """combien quel quelle quels quelles qui quoi comment pourquoi quand ou où est-ce lequel laquelle
    what which who whom whose how why when where much many""".split()
)


def folded_words(text: str) -> list[str]:
    """The words of ``text`` without markers, folded.

    >>> folded_words("Où est l’Été ? [1]")
    ['ou', 'est', 'l', 'ete']
    """
    return _WORD.findall(fold(strip_markers(text)))


def adds_content(sentence: str, question: str, lang: str) -> bool:
    """False when ``sentence`` only repeats the question (no content word of its own).

    An echo such as "Pourquoi X coûte si cher ?" can pass a coverage judge,
    because the passage shares the question's words, yet it answers nothing.

    >>> adds_content("Pourquoi ChatGPT coûte si cher ?", "Pourquoi ChatGPT coûte-t-il si cher ?", "fr")
    False
    >>> adds_content("ChatGPT coûte cher car il faut du matériel [1].", "Pourquoi ChatGPT coûte-t-il si cher ?", "fr")
    True
    """
    if strip_markers(sentence).rstrip().endswith("?"):
        return False
    asked = set(tokenize(question, lang))
    return bool(set(tokenize(strip_markers(sentence), lang)) - asked)


def _terms(text: str) -> set[str]:
    return set(tokenize(text, "fr")) | set(tokenize(text, "en"))


def copies_an_example(sentence: str, evidence: Sequence[str]) -> bool:
    """Whether ``sentence`` restates one of the prompt's worked examples instead of the passages:
    at least two content terms, all of them in one example's exchange, some of them in none
    of the ``evidence`` texts the model was shown.

    >>> copies_an_example("Marie Dupont a quitté l'entreprise en 2021 [2].", ["Mistral AI a levé 600 millions."])
    True
    >>> copies_an_example("Mistral AI a levé 600 millions [1].", ["Mistral AI a levé 600 millions."])
    False
    """
    return _copies_an_example(sentence, _shown_terms(evidence))


def _shown_terms(evidence: Sequence[str]) -> set[str]:
    return set().union(*map(_terms, evidence))


def _copies_an_example(sentence: str, shown: set[str]) -> bool:
    terms = _terms(strip_markers(sentence))
    if len(terms) < 2 or not any(terms <= example for example in _example_terms()):
        return False
    return not terms <= shown


@functools.cache
def _example_terms() -> tuple[frozenset[str], ...]:
    """Each worked example's content terms (question, passages and answer)."""
    return tuple(frozenset(_terms(" ".join(pair))) for pair in WORKED_EXAMPLES)


def without_example_copies(raw: str, evidence: Sequence[str]) -> str:
    """``raw`` without the sentences that copy a worked example (:func:`copies_an_example`).

    A small model summarising a subject sometimes starts from the examples it was shown
    ("Le conseil d'administration s'est réuni mardi [1]. Marie Dupont a quitté l'entreprise
    en 2021 [2]. Mistral AI a …", to "Que disent les articles sur Mistral AI ?"): the checks
    flag such sentences unsupported, but they were still shown. They say nothing of the
    articles and are left out; an answer made only of them ends in an abstention.

    >>> without_example_copies("Paul Martin [1].", ["Jim Nantz et Phil Simms commentaient."])
    ''
    >>> without_example_copies("Phil Simms [1].", ["Jim Nantz et Phil Simms commentaient."])
    'Phil Simms [1].'
    """
    pieces = sentence_pieces(raw)
    shown = _shown_terms(evidence)
    kept = [p for p in pieces if not _copies_an_example(p, shown)]
    return raw if len(kept) == len(pieces) else " ".join(kept).strip()


def is_degenerate(raw: str, question: str, language: str) -> bool:
    """Empty, markers only, or nothing but the question repeated (an abstention is not degenerate).

    >>> is_degenerate("[1][2]", "Qui ?", "fr"), is_degenerate("Pourquoi X coûte si cher ?", "Pourquoi X coûte-t-il si cher ?", "fr")
    (True, True)
    """
    if is_abstain_token(raw):
        return False
    sentences = [text for text, _ in answer_sentences(raw)]
    return not any(adds_content(t, question, language) for t in sentences)


def starts_as_echo(partial: str, question: str, words: int = 3) -> bool | None:
    """Whether a streamed answer is starting to repeat an interrogative question.

    True when the answer's first ``words`` words are the question's and the
    question opens with an interrogative ("Pourquoi X coûte…" answered
    "Pourquoi X coûte…"); False as soon as they differ; None while the answer
    is too short to tell. Lets generation stop after a few tokens instead of
    producing a whole echo that would be retried anyway.

    >>> q = "Pourquoi le développement de ChatGPT coûte-t-il si cher ?"
    >>> [starts_as_echo(p, q) for p in ("Pour", "Pourquoi le", "Pourquoi le développement ", "Pourquoi pas")]
    [None, None, True, False]
    >>> starts_as_echo("Le développement", q), starts_as_echo("Le Wall Street Journal a", "Le Wall Street Journal a-t-il ?")
    (False, False)
    """
    asked = _WORD.findall(fold(question))
    if len(asked) < words or asked[0] not in QUESTION_WORDS:
        return False
    said = folded_words(partial)
    complete = bool(re.search(r"\W$", partial))  # else the last word may still be growing
    for i, word in enumerate(said[:words]):
        growing = i == len(said) - 1 and not complete
        if not (asked[i].startswith(word) if growing else asked[i] == word):
            return False
    return True if len(said) > words or (len(said) == words and complete) else None


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
    words = folded_words(answer)
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
