"""A chat with the assistant: each question is asked with the recent history, so
follow-ups ("Et Anthropic ?") are rewritten into standalone questions first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rag.answer.followup import MAX_TURNS
from rag.answer.pipeline import AnswerStream, Event
from rag.records import Answer

if TYPE_CHECKING:
    from rag.assistant import Assistant


class Conversation:
    """A chat: follow-up questions are rewritten from the history before retrieval."""

    def __init__(self, assistant: Assistant, max_turns: int = MAX_TURNS) -> None:
        self.assistant = assistant
        self.history: list[tuple[str, str]] = []
        self.max_turns = max_turns

    def stream(self, question: str, **kwargs: Any) -> AnswerStream:
        def events() -> Iterator[Event]:
            for kind, value in self.assistant.events(question, history=self.history[-self.max_turns:], **kwargs):
                if kind == "answer":
                    self.history.append((value.standalone_question or value.question, value.answer))
                yield kind, value

        return AnswerStream(events())

    def ask(self, question: str, **kwargs: Any) -> Answer:
        return self.stream(question, **kwargs).result()

    def clear(self) -> None:
        self.history.clear()
