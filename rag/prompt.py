"""Prompt construction: pure functions from (question, passages) to chat messages.

The system message is identical for every question (instructions and a short
worked example), so llama.cpp reuses its KV cache for that prefix and only the
passages and the question are processed per answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from .records import Passage

ABSTAIN_TOKEN = "NOT_IN_ARTICLES"

LANGUAGE_INSTRUCTION = {
    "fr": "Réponds en français.",
    "en": "Answer in English.",
}


SYSTEM_PROMPT = f"""You answer questions about news articles using ONLY the numbered passages in the user's message, never your own knowledge.
- Answer in one to three short sentences that give the facts asked for (names, figures, dates) as the passages state them.
- End each sentence with the number of the passage that says it, in square brackets: [1].
- Write in the language the user asks for, even when the passages are in another language; keep names and figures unchanged.
- Only if no passage contains the answer, reply exactly: {ABSTAIN_TOKEN}"""

# A worked exchange shown before every question (fixed, so it stays in the KV cache).
EXAMPLE_USER = """Passages:
[1] Le marché des puces ralentit depuis deux ans.
[2] La start-up Acme a levé 30 millions d'euros en mars 2023. … Le tour de table a été mené par le fonds Sequoia.
Question: How much did Acme raise, and who led the round?
Answer in English."""
EXAMPLE_ANSWER = "Acme raised 30 million euros in March 2023 [2]. The round was led by the Sequoia fund [2]."
EXAMPLE2_USER = """Passages:
[1] Les data centers consomment beaucoup d'électricité. … Leur refroidissement exige aussi de grandes quantités d'eau.
[2] Le cours de l'action a doublé en un an.
Question: Pourquoi les data centers coûtent-ils cher à exploiter ?
Réponds en français."""
EXAMPLE2_ANSWER = "Parce qu'ils consomment beaucoup d'électricité et que leur refroidissement exige de grandes quantités d'eau [1]."


def _prefix() -> list[dict[str, str]]:
    """System message and worked examples: identical for every request."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": EXAMPLE_USER},
        {"role": "assistant", "content": EXAMPLE_ANSWER},
        {"role": "user", "content": EXAMPLE2_USER},
        {"role": "assistant", "content": EXAMPLE2_ANSWER},
    ]

REWRITE_INSTRUCTION = (
    "Rewrite the last message as one standalone question that can be understood without "
    "the conversation. Keep its language. Reply with the question only."
)


# An amount with a scale word: "20 000 milliards", "3,4 billion", "5 Md".
_AMOUNT = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)[ \u00a0\u202f]*"
    r"(milliards?|millions?|billions?|trillions?|mds?|bn)\b",
    re.IGNORECASE,
)
_SCALE_EXPONENT = {
    "fr": {"million": 6, "millions": 6, "milliard": 9, "milliards": 9, "md": 9, "mds": 9,
           "billion": 12, "billions": 12},
    "en": {"million": 6, "millions": 6, "billion": 9, "billions": 9, "bn": 9,
           "trillion": 12, "trillions": 12},
}
_SCALE_NAMES = {"fr": ((9, "milliards"), (6, "millions")), "en": ((12, "trillion"), (9, "billion"), (6, "million"))}


def _say_amount(value: Decimal, language: str) -> str | None:
    for exponent, name in _SCALE_NAMES[language]:
        if value >= Decimal(10) ** exponent:
            x = (value.scaleb(-exponent)).quantize(Decimal("0.01")).normalize()
            number = format(x, ",f") if language == "en" else format(x, ",f").replace(",", " ").replace(".", ",")
            return f"{number} {name}"
    return None


def gloss_amounts(text: str, source: str, target: str) -> str:
    """Add the target language's reading after each scaled amount of a passage.

    Small models translate "20 000 milliards" into "20 billion"; spelling out
    the amount in the answer's language avoids it. Only the prompt changes:
    citations still point into the original passage.

    >>> gloss_amounts("jusqu'à 20 000 milliards de dollars et 3,4 milliards", "fr", "en")
    "jusqu'à 20 000 milliards (= 20 trillion) de dollars et 3,4 milliards (= 3.4 billion)"
    >>> gloss_amounts("a 5 billion loss", "en", "fr")
    'a 5 billion (= 5 milliards) loss'
    >>> gloss_amounts("5 millions", "fr", "fr")
    '5 millions'
    """
    if source == target or source not in _SCALE_EXPONENT or target not in _SCALE_NAMES:
        return text

    def repl(m: re.Match[str]) -> str:
        number = re.sub(r"[ \u00a0\u202f]", "", m.group(1)).replace(",", ".")
        try:
            value = Decimal(number).scaleb(_SCALE_EXPONENT[source][m.group(2).lower()])
        except (InvalidOperation, KeyError):
            return m.group(0)
        said = _say_amount(value, target)
        return f"{m.group(0)} (= {said})" if said else m.group(0)

    return _AMOUNT.sub(repl, text)


def format_passages(passages: Sequence[Passage], texts: Sequence[str] | None = None,
                    language: str | None = None) -> str:
    """Numbered passage block; ``texts`` may replace each passage's text (trimmed evidence).

    With ``language``, amounts in passages of another language are glossed (:func:`gloss_amounts`).

    >>> from rag.records import Passage
    >>> p = Passage(rank=1, doc_id="a.txt", chunk_id="a.txt:0-5", start=0, end=5, score=1.0,
    ...             text="Hello", title="T", date="2024-01")
    >>> format_passages([p])
    '[1] (2024-01) Hello'
    """
    lines = []
    for i, p in enumerate(passages, 1):
        text = (texts[i - 1] if texts is not None else p.text).replace("\n", " ").strip()
        if language:
            text = gloss_amounts(text, p.language, language)
        lines.append(f"[{i}] ({p.date}) {text}" if p.date else f"[{i}] {text}")
    return "\n".join(lines)


def build_messages(question: str, passages: Sequence[Passage], language: str,
                   texts: Sequence[str] | None = None) -> list[dict[str, str]]:
    """Chat messages for one grounded answer.

    >>> msgs = build_messages("Qui ?", [], "fr")
    >>> msgs[0]["content"] == SYSTEM_PROMPT, msgs[-1]["content"].endswith("Réponds en français.")
    (True, True)
    """
    user = (
        f"Passages:\n{format_passages(passages, texts, language)}\n"
        f"Question: {question.strip()}\n"
        f"{LANGUAGE_INSTRUCTION.get(language, LANGUAGE_INSTRUCTION['en'])}"
    )
    return [*_prefix(), {"role": "user", "content": user}]


def build_rewrite_messages(history: Sequence[tuple[str, str]], question: str) -> list[dict[str, str]]:
    """Messages asking the LLM to turn a follow-up into a standalone question.

    ``history`` holds (question, answer) pairs, oldest first; only the last two are used.
    """
    turns = []
    for q, a in list(history)[-2:]:
        turns.append(f"User: {q}\nAssistant: {a[:300]}")
    convo = "\n".join(turns)
    user = f"{REWRITE_INSTRUCTION}\nConversation:\n{convo}\n\nLast message: {question.strip()}\nStandalone question:"
    # Same system message and examples as answers: llama.cpp keeps that prefix cached.
    return [*_prefix(), {"role": "user", "content": user}]


def baseline_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """The naive prompt used as the benchmark baseline: whole chunks, plain instructions."""
    context = "\n\n".join(f"[{i}] {p.text}" for i, p in enumerate(passages, 1))
    return [
        {"role": "system", "content": "Answer the question using the passages below. Cite passages as [n]."},
        {"role": "user", "content": f"{context}\n\nQuestion: {question}"},
    ]
