"""Follow-up questions: "Et Anthropic ?" after a question about OpenAI becomes a
standalone question before retrieval (a name swap when possible, else one short
LLM call)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from rag.answer.echo import QUESTION_WORDS
from rag.answer.llm import LLM
from rag.answer.markers import parse_markers
from rag.answer.prompt import build_rewrite_messages, is_abstain_token
from rag.text.analysis import detect_language, fold

log = logging.getLogger(__name__)

# Previous exchanges a conversation keeps for the rewriter (the chat UI and
# Conversation alike); only the last one is sent to the LLM.
MAX_TURNS = 6

# Words that lean on the conversation: a connective opening an ellipsis ("Et Anthropic ?"),
# a pronoun standing for something said before ("Combien a-t-elle levé ?" has no subject of
# its own), a demonstrative naming something said before ("cette entreprise").
_CONNECTIVE = re.compile(
    r"^\W*(?:et|and|mais|but|what about|how about|qu['’]en est-il|et pour|and for|same for|idem)\b",
    re.IGNORECASE,
)
# Not after a hyphen: French puts the subject pronoun after the verb in questions
# ("Combien OpenAI devrait-elle perdre ?"), where it repeats the subject just named.
_PRONOUN = re.compile(
    r"(?<![-\w])(?:il|elle|ils|elles|lui|leur|leurs|celle-ci|celui-ci|ceux-ci|cela|ça|"
    r"it|its|they|their|them|he|she|his|her|this one|that one)(?![-\w])",
    re.IGNORECASE,
)
# A demonstrative of something said before, not of the time ("cette année", "this year"), nor
# a relative ("ce qui", and "that", "those": "the company that OpenAI bought").
_DEMONSTRATIVE = re.compile(
    r"(?<![-\w])(?:ce|cet|cette|ces|this|these)\s+(?!(?:qui|que|qu['’]|dont|année|annee|mois|semaine|trimestre|"
    r"semestre|jour|matin|soir|siècle|decade|décennie|year|month|week|quarter|day|morning|century|"
    r"time|fois|moment|période|period)\b)\w",
    re.IGNORECASE,
)
_ELLIPSIS = re.compile(
    r"^\s*(?i:et|and|what about|how about|qu['’]en est-il (?:de|du|des|d['’])|et pour|and for|same for|idem pour)?\s*"
    r"(?i:l['’]|la |le |les )?(?P<name>[A-Z0-9][\w.&'’-]*(?:\s+[A-Z0-9][\w.&'’-]*)*)\s*\??\s*$"
)
_NAME = re.compile(r"(?<![\w'’])[A-Z][\w.&-]*(?:\s+[A-Z0-9][\w.&-]*)*")


def own_names(question: str) -> list[str]:
    """The names ``question`` gives itself: capitalised words after its first word, and a first
    word written as a name is ("OpenAI", "GPT-4"), not as a sentence's first word.

    >>> own_names("Combien OpenAI a-t-elle levé ?"), own_names("OpenAI valuation Feb 2024?"), own_names("Pourquoi ?")
    (['OpenAI'], ['OpenAI', 'Feb 2024'], [])
    """
    words = question.split()
    if not words:
        return []
    start = len(question) - len(question.lstrip()) + len(words[0])
    names = [m.group() for m in _NAME.finditer(question, start)]
    first = words[0].strip("¿¡\"'«“")
    if re.search(r"[A-Z0-9]", first[1:]) and first.lower() not in QUESTION_WORDS:
        names.insert(0, first.rstrip("?!.,;:"))
    return names


def looks_like_follow_up(question: str) -> bool:
    """Whether ``question`` leans on the conversation: an ellipsis ("Et Anthropic ?"), or, in a
    question naming nothing itself, a pronoun or a demonstrative for something said before, or
    six words or fewer.

    A question that names its own subject stands alone, however short ("Combien OpenAI a-t-elle
    levé ?" asked after a question about Anthropic is about OpenAI).

    >>> [looks_like_follow_up(q) for q in ("Et Anthropic ?", "Pourquoi ?", "Combien a-t-elle levé ?",
    ...  "Et en 2025 ?", "Quel est le montant de cette levée ?", "Combien d'employés ?")]
    [True, True, True, True, True, True]
    >>> [looks_like_follow_up(q) for q in ("Combien OpenAI a-t-elle levé ?", "Pourquoi NimbusAI a-t-elle fermé ?",
    ...  "Combien OpenAI devrait-elle perdre cette année ?", "OpenAI valuation Feb 2024?",
    ...  "How much will Meta spend this year?", "Which company did OpenAI say that it would buy?")]
    [False, False, False, False, False, False]
    """
    if _CONNECTIVE.search(question):
        return True
    if own_names(question):  # its pronouns are its own names' ("Did OpenAI say it would lose money?")
        return False
    return bool(_PRONOUN.search(question) or _DEMONSTRATIVE.search(question)) or len(question.split()) <= 6


def substitute_entity(previous: str, follow_up: str) -> str | None:
    """Rewrite "Et Anthropic ?" after a question about OpenAI by swapping the name.

    Returns None when the follow-up is not a bare name or the previous question names nobody.

    >>> substitute_entity("Combien OpenAI devrait-elle dépenser cette année ?", "Et Anthropic ?")
    'Combien Anthropic devrait-elle dépenser cette année ?'
    >>> substitute_entity("How much will Meta spend in 2024?", "What about Google?")
    'How much will Google spend in 2024?'
    >>> substitute_entity("Combien OpenAI perd-elle ?", "Pourquoi ?") is None
    True
    """
    m = _ELLIPSIS.match(follow_up)
    if not m or not m.group("name")[0].isupper():
        return None
    new = m.group("name").strip()
    if new.lower() in QUESTION_WORDS:
        return None
    # Names in the previous question, skipping its first word (capitalised anyway).
    first_word_end = len(previous) - len(previous.lstrip()) + len(previous.split()[0]) if previous.split() else 0
    names = [n for n in _NAME.finditer(previous, first_word_end) if n.group() != new]
    if not names:
        return None
    old = names[0]
    return previous[:old.start()] + new + previous[old.end():]


def rewrite_question(question: str, history: Sequence[tuple[str, str]], llm: LLM) -> str:
    """A standalone form of a follow-up ``question``, using the conversation ``history``.

    A question that does not look like a follow-up is returned as it is; the
    LLM is asked only when swapping a name is not enough, and its rewrite is kept
    only when it is a question like the one asked (:func:`acceptable_rewrite`).
    """
    if not history or not looks_like_follow_up(question):
        return question
    swapped = substitute_entity(history[-1][0], question)
    if swapped:
        return swapped
    messages = build_rewrite_messages(history[-1:], question)
    text = "".join(llm.stream_chat(messages, max_tokens=48, temperature=0.0, stop=["\n"]))
    text = text.strip().strip('"').strip()
    if acceptable_rewrite(question, text):
        return text
    log.info("follow-up rewrite %r refused; the question is searched as asked", text)
    return question


def acceptable_rewrite(question: str, rewrite: str) -> bool:
    """Whether the LLM's ``rewrite`` of ``question`` can stand for it.

    The rewriter shares the answering prompt's prefix (llama.cpp keeps it cached), so the
    1.5B model sometimes answers instead of rewriting ("OpenAI a levé 1,5 milliards de
    dollars [2].", or the abstain token), or translates the question. A rewrite is kept only
    when it is a question (ends with "?"), without citation markers or the abstain token, in
    the question's language, keeping every name the user typed.

    >>> q = "Pourquoi a-t-elle fermé ?"
    >>> acceptable_rewrite(q, "Pourquoi NimbusAI a-t-elle fermé ?")
    True
    >>> [acceptable_rewrite(q, r) for r in ("NimbusAI a fermé faute de fonds [1].", "NOT_IN_ARTICLES",
    ...  "Why did NimbusAI close?", "Pourquoi NimbusAI a-t-elle fermé")]
    [False, False, False, False]
    >>> acceptable_rewrite("Et sa valorisation chez Mistral ?", "Quelle est la valorisation d'Anthropic ?")
    False
    """
    text = rewrite.strip()
    if not 3 <= len(text) <= 400 or not text.endswith("?") or is_abstain_token(text) or parse_markers(text):
        return False
    if detect_language(text) != detect_language(question):
        return False
    folded = fold(text)
    return all(fold(name) in folded for name in own_names(question))
