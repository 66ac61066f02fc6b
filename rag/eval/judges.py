"""The support judge of ``rag eval --judge lexical|llm|URL``.

``lexical`` is the pipeline's own :class:`~rag.answer.judge.LexicalJudge` (fast,
for CI, but it grades the citations it chose); ``llm`` asks the local model its
own entailment question (:class:`~rag.answer.entail.LLMJudge`); a URL asks any
OpenAI-compatible server the same way. Reports name the judge
(``citation_precision[lexical]``) beside the gold-anchored figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rag.answer.judge import LexicalJudge, SupportJudge
from rag.answer.llm import LLM
from rag.errors import ConfigError
from rag.settings import api_root

JUDGES = ("lexical", "llm")


@dataclass(frozen=True)
class JudgeSpec:
    """A parsed ``--judge`` value: ``kind`` is lexical, llm or server (then ``url`` is its /v1 root)."""

    kind: str
    url: str | None = None

    @property
    def label(self) -> str:
        """The name of the judge in metric keys."""
        return "llm-server" if self.kind == "server" else self.kind


def parse_judge(spec: str) -> JudgeSpec:
    """Parse a ``--judge`` value.

    >>> parse_judge("lexical"), parse_judge("LLM").label
    (JudgeSpec(kind='lexical', url=None), 'llm')
    >>> parse_judge("http://127.0.0.1:8080")
    JudgeSpec(kind='server', url='http://127.0.0.1:8080/v1')
    >>> parse_judge("nli")
    Traceback (most recent call last):
    ...
    rag.errors.ConfigError: --judge must be lexical, llm or the URL of an OpenAI-compatible server (http://host:port/v1), got 'nli'.
    """
    value = spec.strip()
    if value.lower() in JUDGES:
        return JudgeSpec(value.lower())
    if value.lower().startswith(("http://", "https://")):
        return JudgeSpec("server", api_root(value))
    raise ConfigError("--judge must be lexical, llm or the URL of an OpenAI-compatible server "
                      f"(http://host:port/v1), got {spec!r}.")


def make_judge(spec: JudgeSpec | str, *, llm: Callable[[], LLM], timeout: float = 120.0,
               answer_server: str = "", api_key: str = "") -> SupportJudge:
    """The judge for ``spec``; ``llm()`` gives the assistant's model (called only for ``llm``).

    ``api_key``, the key of the answer server ``answer_server``, is sent to the
    judge's server only when it is that same server.
    """
    from rag.answer.entail import LLMJudge

    spec = parse_judge(spec) if isinstance(spec, str) else spec
    if spec.kind == "lexical":
        return LexicalJudge()
    if spec.kind == "llm":
        return LLMJudge(llm(), label=spec.label)
    from rag.answer.llm_http import OpenAICompatLLM

    same = bool(answer_server) and api_root(answer_server) == spec.url
    return LLMJudge(OpenAICompatLLM(spec.url or "", timeout=timeout, api_key=api_key if same else None),
                    label=spec.label)


def judge_label(judge: SupportJudge) -> str:
    """How reports name a judge: its ``label``, "lexical" for the lexical judge, else its class."""
    label = getattr(judge, "label", None)
    if isinstance(label, str) and label:
        return label
    return "lexical" if isinstance(judge, LexicalJudge) else type(judge).__name__
