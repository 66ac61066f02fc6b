"""Prompt construction: pure functions from (question, passages) to chat messages.

The system message is identical for every question (instructions and a short
worked example), so llama.cpp reuses its KV cache for that prefix and only the
passages and the question are processed per answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from .records import Passage

ABSTAIN_TOKEN = "NOT_IN_ARTICLES"

LANGUAGE_NAMES = {"fr": "French", "en": "English"}
LANGUAGE_INSTRUCTION = {
    "fr": "Réponds en français.",
    "en": "Answer in English.",
}

SYSTEM_PROMPT = f"""You answer questions about news articles. Use ONLY the numbered passages given with the question, never your own knowledge.
Rules:
1. Answer in one to three short, complete sentences that state the facts (names, figures, dates) found in the passages.
2. End every sentence with the number of the passage that supports it, in square brackets, like [2]. Cite only passages that really say it.
3. If the passages do not contain the answer, reply exactly: {ABSTAIN_TOKEN}
4. Write in the language the user asks for, even when the passages are in another language. Translate the facts; keep names unchanged.

Example
Passages:
[1] Acme a levé 30 millions d'euros en mars 2023 auprès du fonds Sequoia.
[2] Le marché des puces ralentit depuis deux ans.
Question: How much did Acme raise, and from whom?
Answer in English.
Answer: Acme raised 30 million euros in March 2023 from the Sequoia fund [1].

Example
Passages:
[1] Le marché des puces ralentit depuis deux ans.
Question: Combien d'employés compte Acme ?
Réponds en français.
Answer: {ABSTAIN_TOKEN}"""

REWRITE_SYSTEM = """Rewrite the user's last message as one standalone question that can be understood without the conversation. Keep its language. Reply with the question only."""


def format_passages(passages: Sequence[Passage], texts: Sequence[str] | None = None) -> str:
    """Numbered passage block; ``texts`` may replace each passage's text (trimmed evidence).

    >>> from rag.records import Passage
    >>> p = Passage(rank=1, doc_id="a.txt", chunk_id="a.txt:0-5", start=0, end=5, score=1.0,
    ...             text="Hello", title="T", date="2024-01")
    >>> format_passages([p])
    '[1] (T, 2024-01) Hello'
    """
    lines = []
    for i, p in enumerate(passages, 1):
        text = (texts[i - 1] if texts is not None else p.text).replace("\n", " ").strip()
        meta = ", ".join(x for x in (p.title[:80], p.date or "") if x)
        lines.append(f"[{i}] ({meta}) {text}" if meta else f"[{i}] {text}")
    return "\n".join(lines)


def build_messages(question: str, passages: Sequence[Passage], language: str,
                   texts: Sequence[str] | None = None) -> list[dict[str, str]]:
    """Chat messages for one grounded answer.

    >>> msgs = build_messages("Qui ?", [], "fr")
    >>> msgs[0]["content"] == SYSTEM_PROMPT, msgs[1]["content"].endswith("Réponds en français.")
    (True, True)
    """
    user = (
        f"Passages:\n{format_passages(passages, texts)}\n"
        f"Question: {question.strip()}\n"
        f"{LANGUAGE_INSTRUCTION.get(language, LANGUAGE_INSTRUCTION['en'])}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def build_rewrite_messages(history: Sequence[tuple[str, str]], question: str) -> list[dict[str, str]]:
    """Messages asking the LLM to turn a follow-up into a standalone question.

    ``history`` holds (question, answer) pairs, oldest first; only the last two are used.
    """
    turns = []
    for q, a in list(history)[-2:]:
        turns.append(f"User: {q}\nAssistant: {a[:300]}")
    convo = "\n".join(turns)
    user = f"Conversation:\n{convo}\n\nLast message: {question.strip()}\nStandalone question:"
    return [{"role": "system", "content": REWRITE_SYSTEM}, {"role": "user", "content": user}]


def baseline_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """The naive prompt used as the benchmark baseline: whole chunks, plain instructions."""
    context = "\n\n".join(f"[{i}] {p.text}" for i, p in enumerate(passages, 1))
    return [
        {"role": "system", "content": "Answer the question using the passages below. Cite passages as [n]."},
        {"role": "user", "content": f"{context}\n\nQuestion: {question}"},
    ]
