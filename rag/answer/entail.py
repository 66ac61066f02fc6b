"""An independent support judge: the LLM asked whether the evidence states the claim.

:func:`llm_supports` scores one (claim, evidence) pair with the model's own
entailment prompt (not the answer prompt), read from the probability of a yes
against a no as the reply's first token (:meth:`rag.answer.llm.LLM.yes_probability`).
:class:`LLMJudge` wraps it in the :class:`~rag.answer.judge.SupportJudge`
interface for the evaluation, the answer checks and ``rag check``.
"""

from __future__ import annotations

from rag.answer.llm import LLM, Messages
from rag.answer.markers import strip_markers

# English instructions work for French and English premises and hypotheses alike; the
# fixed part comes first, so llama.cpp reuses its cached tokens from one pair to the next.
SYSTEM = "You check facts. Answer yes or no."
QUESTION = "Does the premise state the hypothesis? Answer yes or no."


def entailment_messages(claim: str, evidence: str) -> Messages:
    """The chat messages that ask whether ``evidence`` states ``claim``.

    >>> entailment_messages("Il pleut [1].", "Il pleut à Paris.")[1]["content"]
    'Premise: Il pleut à Paris.\\nHypothesis: Il pleut.\\nDoes the premise state the hypothesis? Answer yes or no.'
    """
    claim, evidence = " ".join(strip_markers(claim).split()), " ".join(evidence.split())
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Premise: {evidence}\nHypothesis: {claim}\n{QUESTION}"}]


def llm_supports(llm: LLM, claim: str, evidence: str) -> float:
    """P(yes) that ``evidence`` states ``claim``, in [0, 1]; compare with :data:`LLMJudge.DEFAULT_THRESHOLD`.

    Blank claim or evidence is no support (0.0) and costs no model call.
    """
    if not strip_markers(claim).strip() or not evidence.strip():
        return 0.0
    return llm.yes_probability(entailment_messages(claim, evidence))


class LLMJudge:
    """:func:`llm_supports` against a threshold, as a :class:`~rag.answer.judge.SupportJudge`.

    ``label`` names the judge in reports ("llm" for the local model, "llm-server" for a URL).
    """

    # Threshold on P(yes), set on the tune split of eval/judge/pairs.jsonl (180 pairs)
    # with the default 1.5B model: see MEASURED below.
    DEFAULT_THRESHOLD = 0.5
    MEASURED = "not measured yet"

    def __init__(self, llm: LLM, *, threshold: float = DEFAULT_THRESHOLD, label: str = "llm") -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold}")
        self.llm = llm
        self.threshold = threshold
        self.label = label

    def score(self, claim: str, evidence: str) -> float:
        """P(yes) that the evidence states the claim."""
        return llm_supports(self.llm, claim, evidence)

    def supports(self, claim: str, evidence: str) -> bool:
        """True when P(yes) reaches the threshold."""
        return self.score(claim, evidence) >= self.threshold
