"""Typed records that flow through the pipeline.

The JSON shape of :class:`Answer` is a public contract: evaluation scripts and
the web API depend on it. Keys may be added, never renamed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any


def iso_day(date: str | None) -> dt.date | None:
    """The first day of an ISO date cut to its precision (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``).

    >>> iso_day("2024-03"), iso_day("2023"), iso_day(None), iso_day("hier")
    (datetime.date(2024, 3, 1), datetime.date(2023, 1, 1), None, None)
    """
    if not date:
        return None
    parts = (date.split("-") + ["01", "01"])[:3]
    try:
        return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


@dataclass(frozen=True)
class Document:
    """One loaded article. ``text`` is the normalised document text (NFC, ``\\n``)
    that every character offset in the index refers to."""

    doc_id: str
    title: str
    text: str
    source: str
    sha256: str
    date: str | None = None
    language: str = "fr"
    # Where the date came from (rag.news.dates: "metadata.csv line 3", "header line",
    # "HTML article:published_time", "file name", "inferred from text"...); an
    # inferred date is only a lower bound. Absent in indexes written before: None.
    date_source: str | None = None
    date_inferred: bool | None = None
    date_note: str | None = None  # how the user found it (metadata.csv date_source column)
    outlet: str | None = None
    url: str | None = None
    author: str | None = None

    @property
    def day(self) -> dt.date | None:
        """The article date as a :class:`datetime.date` (first day of its period)."""
        return iso_day(self.date)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Document:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True)
class Chunk:
    """A contiguous span of a document: ``document.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    language: str = "fr"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Passage:
    """A retrieved span handed to the LLM (one or more merged chunks)."""

    rank: int
    doc_id: str
    chunk_id: str
    start: int
    end: int
    score: float
    text: str
    title: str = ""
    date: str | None = None
    language: str = "fr"
    date_source: str | None = None
    date_inferred: bool | None = None
    outlet: str | None = None
    # doc_ids of the other articles telling the same story (reprints, versions).
    copies: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # one line: lists of passages stay readable in a REPL
        from rag.display import passage_repr

        return passage_repr(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Citation:
    """A checked citation. ``quote == document.text[start:end]``: the sentence(s)
    of the cited passage that support the answer sentence."""

    marker: int
    doc_id: str
    title: str
    chunk_id: str
    start: int
    end: int
    quote: str
    supported: bool = True
    date: str | None = None
    passage_start: int = 0
    passage_end: int = 0
    date_source: str | None = None
    outlet: str | None = None
    copies: list[str] = field(default_factory=list)
    # sha256 of the cited document's text when the answer was made: `rag check` tells
    # a document changed since then from a quote that was wrong from the start.
    doc_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Excerpt:
    """A sentence of an article the model was given to read, as the prompt's passage
    ``passage`` (its number in the answer's markers): ``text == document.text[start:end]``."""

    passage: int
    doc_id: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Timings:
    retrieve_ms: float = 0.0
    ttft_ms: float = 0.0
    total_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_ms: float = 0.0  # time spent inside LLM calls (all of them: rewrite, answer, retry)
    checks: int = 0  # yes/no questions asked of the LLM to verify sentences

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str
    language: str
    abstained: bool = False
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    unsupported_sentences: list[str] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    standalone_question: str | None = None
    raw_answer: str = ""
    notices: list[str] = field(default_factory=list)
    # The model's own probability for each token of raw_answer, when its backend gives
    # them (rag.answer.llm.token_probabilities).
    token_probs: list[tuple[str, float]] | None = None
    # What the model read: the evidence sentences of its prompt, in prompt order (empty
    # when no prompt was built). Answers, quotes and citations come from the whole passages.
    evidence: list[Excerpt] = field(default_factory=list)

    @property
    def confidence(self) -> float | None:
        """The model's confidence in its answer's words, read from ``token_probs``
        (:func:`rag.answer.confidence.answer_confidence`); None without them."""
        from rag.answer.confidence import answer_confidence

        return answer_confidence(self.token_probs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "language": self.language,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "unsupported_sentences": list(self.unsupported_sentences),
            "timings": self.timings.to_dict(),
            "standalone_question": self.standalone_question,
            "raw_answer": self.raw_answer,
            "notices": list(self.notices),
            "confidence": self.confidence,
            "evidence": [e.to_dict() for e in self.evidence],
        }

    # Rich display in notebooks (rendering lives in rag.display).
    def _repr_html_(self) -> str:
        from rag.display import answer_to_html

        return answer_to_html(self)

    def _repr_markdown_(self) -> str:
        from rag.display import answer_to_markdown

        return answer_to_markdown(self)
