"""Follow-up questions: "Et Anthropic ?" after a question about OpenAI becomes a
standalone question before retrieval (a name swap when possible, else one short
LLM call)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.echo import QUESTION_WORDS
from rag.answer.llm import LLM
from rag.answer.prompt import build_rewrite_messages

# Previous exchanges a conversation keeps for the rewriter (the chat UI and
# Conversation alike); only the last one is sent to the LLM.
MAX_TURNS = 6

_FOLLOW_UP = re.compile(
    r"^(et|and|what about|how about|qu'en est-il|pourquoi|why|combien|how much|et pour|and for)\b"
    r"|\b(il|elle|ils|elles|lui|leur|celle-ci|celui-ci|it|its|they|their|them|this|that|ce|cette|cela|ça)\b",
    re.IGNORECASE,
)
_ELLIPSIS = re.compile(
    r"^\s*(?i:et|and|what about|how about|qu['’]en est-il (?:de|du|des|d['’])|et pour|and for|same for|idem pour)?\s*"
    r"(?i:l['’]|la |le |les )?(?P<name>[A-Z0-9][\w.&'’-]*(?:\s+[A-Z0-9][\w.&'’-]*)*)\s*\??\s*$"
)
_NAME = re.compile(r"(?<![\w'’])[A-Z][\w.&-]*(?:\s+[A-Z0-9][\w.&-]*)*")


def looks_like_follow_up(question: str) -> bool:
    """A short question, or one that leans on the conversation ("Et Anthropic ?").

    >>> looks_like_follow_up("Et Anthropic ?"), looks_like_follow_up("Combien Mistral AI a-t-elle levé en juin 2024 ?")
    (True, False)
    """
    words = question.split()
    if len(words) <= 4:
        return True
    return bool(_FOLLOW_UP.search(question)) and len(words) <= 8


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
    LLM is asked only when swapping a name is not enough.
    """
    if not history or not looks_like_follow_up(question):
        return question
    swapped = substitute_entity(history[-1][0], question)
    if swapped:
        return swapped
    messages = build_rewrite_messages(history[-1:], question)
    text = "".join(llm.stream_chat(messages, max_tokens=48, temperature=0.0, stop=["\n"]))
    text = text.strip().strip('"').strip()
    return text if 3 <= len(text) <= 400 else question
