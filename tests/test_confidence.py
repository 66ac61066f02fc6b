"""The model's confidence in its answer: read from its token probabilities, kept on the
answer, and measured by `rag eval` (does it sort right from wrong raw answers?)."""

from __future__ import annotations

from rag.eval.metrics import QuestionResult
from rag.eval.run import summarize
from tests.conftest import FakeLLM


class ProbableLLM(FakeLLM):
    """A fake backend that, like LlamaCppLLM, records a probability for each token it streams."""

    def __init__(self, reply: str, probs: list[float]) -> None:
        super().__init__(reply)
        self.probs = probs
        self.last_token_probs: list[tuple[str, float]] | None = None

    def stream_chat(self, messages, **kwargs):
        pieces = list(super().stream_chat(messages, **kwargs))
        self.last_token_probs = list(zip(pieces, self.probs, strict=False))
        yield from pieces


def test_an_answer_carries_the_models_confidence_in_its_words(make_assistant):
    assistant = make_assistant()
    # "5 milliards de dollars [1]." streamed as 5 word pieces; the marker's probability does not count.
    assistant._llm = ProbableLLM("5 milliards de dollars [1].", [0.5, 0.9, 1.0, 1.0, 0.99])
    answer = assistant.ask("Combien OpenAI devrait-elle perdre cette année ?")
    assert answer.token_probs is not None and len(answer.token_probs) == 5
    assert answer.confidence == round((0.5 * 0.9 * 1.0 * 1.0) ** 0.25, 4)  # the four words, not "[1]."
    assert answer.to_dict()["confidence"] == answer.confidence


def test_a_backend_without_token_probabilities_gives_no_confidence(make_assistant):
    answer = make_assistant("5 milliards de dollars [1].").ask("Combien OpenAI devrait-elle perdre cette année ?")
    assert answer.token_probs is None and answer.confidence is None


def _row(i: int, right: bool, confidence: float | None) -> QuestionResult:
    return QuestionResult(id=f"q{i}", lang="fr", question="?", answerable=True, expected=["x"], gold_found=True,
                          first_hit_rank=1, answer="x" if right else "y", raw_answer="x" if right else "y",
                          abstained=False, correct=right, raw_correct=right, confidence=confidence)


def test_eval_reports_whether_confidence_sorts_right_from_wrong_answers():
    sorted_well = [_row(0, True, 0.9), _row(1, True, 0.8), _row(2, False, 0.3)]
    assert summarize(sorted_well).confidence_auc == 1.0
    backwards = [_row(0, True, 0.2), _row(1, False, 0.9)]
    assert summarize(backwards).confidence_auc == 0.0
    assert summarize([_row(0, True, None), _row(1, False, None)]).confidence_auc is None


QUESTION = "Combien OpenAI devrait-elle perdre cette année ?"


def test_a_short_answer_the_model_was_unsure_of_is_shown_unconfirmed(make_assistant):
    assistant = make_assistant()
    # Every word at 0.4: the model hesitated (geometric mean 0.4 < the default 0.6).
    assistant._llm = ProbableLLM("5 milliards de dollars [1].", [0.4, 0.4, 0.4, 0.4, 0.99])
    answer = assistant.ask(QUESTION)
    assert not answer.abstained and "5 milliards" in answer.answer  # the answer stays
    assert answer.citations and not any(c.supported for c in answer.citations)  # not shown as proof
    assert any("Unconfirmed" in n or "non confirmée" in n for n in answer.notices)


def test_a_sure_answer_keeps_its_verified_citation(make_assistant):
    assistant = make_assistant()
    assistant._llm = ProbableLLM("5 milliards de dollars [1].", [0.95, 0.9, 1.0, 1.0, 0.99])
    answer = assistant.ask(QUESTION)
    assert answer.citations and all(c.supported for c in answer.citations)
    assert not any("non confirmée" in n for n in answer.notices)


def test_the_unconfirmed_flag_can_be_turned_off(make_assistant):
    assistant = make_assistant(unsure_below=0.0)
    assistant._llm = ProbableLLM("5 milliards de dollars [1].", [0.4, 0.4, 0.4, 0.4, 0.99])
    answer = assistant.ask(QUESTION)
    assert answer.citations and all(c.supported for c in answer.citations)


def test_eval_counts_an_unconfirmed_wrong_answer_as_wrong_but_not_as_cited_proof():
    def row(i: int, right: bool, supported: bool) -> QuestionResult:
        from rag.records import Citation

        c = Citation(1, "a.txt", "A", "a.txt#0", 0, 9, "Il pleut.", supported=supported)
        return QuestionResult(id=f"q{i}", lang="fr", question="?", answerable=True, expected=["x"],
                              gold_found=True, first_hit_rank=1, answer="x" if right else "y", abstained=False,
                              correct=right, citations=[c], wrong_but_cited=not right and supported)

    m = summarize([row(0, True, True), row(1, False, True), row(2, False, False), row(3, True, False)])
    assert m.wrong_but_cited_rate == 0.25  # only the wrong answer shown as verified
    assert m.wrong_given_rate == 0.5  # both wrong answers, flagged or not
    assert m.unconfirmed_rate == 0.5
