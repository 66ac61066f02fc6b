"""The test fakes for code that runs outside pytest's process (a notebook kernel, a
``rag`` command in a pseudo-terminal): ``install()`` makes every new
:class:`rag.assistant.Assistant` use the deterministic embedder and LLM of
``tests/conftest.py``.

Run ``import tests.fakes; tests.fakes.install()`` (with the repository root on
``sys.path``) before using ``rag``.
"""

from __future__ import annotations

import re

from tests.conftest import FakeEmbedder, FakeLLM

# Passage [1]'s first sentence, after its article's title and date heads.
_FIRST = re.compile(r"^\[1\] (?:« [^»]*» )?(?:\([^)]*\) )?(.+?[.!?])(?=\s|$)", re.M)


def first_passage_reply(messages: list[dict[str, str]]) -> str:
    """A grounded answer: the first sentence of passage [1], cited. A follow-up
    rewrite request gets the last message back.

    >>> first_passage_reply([{"role": "user", "content": "Passages:\\n[1] (2024) Il pleut. Oui.\\nQuestion: ?"}])
    'Il pleut [1].'
    >>> first_passage_reply([{"role": "user", "content": "Passages:\\n[1] « Météo » (2024) Il pleut.\\nQuestion: ?"}])
    'Il pleut [1].'
    """
    user = messages[-1]["content"]
    if "Standalone question:" in user:
        return user.rsplit("Last message:", 1)[1].split("\n", 1)[0].strip()
    m = _FIRST.search(user)
    if not m:
        return "NOT_IN_ARTICLES"
    # Without the prompt's own glosses ("cette année (2024)"), which are not in the article.
    return f"{re.sub(r' [(][^)]*[)]', '', m.group(1)[:-1]).rstrip()} [1]."


def install() -> None:
    """Make every new Assistant use the fakes (no model is ever loaded)."""
    import rag.assistant as assistant_module

    llm = FakeLLM(first_passage_reply)
    assistant_module.SentenceTransformerEmbedder = lambda *a, **k: FakeEmbedder()
    assistant_module.Assistant.llm = property(lambda self: self._llm or llm)
