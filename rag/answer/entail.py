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

    # Threshold on P(yes), set on tune pairs of eval/judge/pairs.jsonl with the default
    # 1.5B model (Qwen2.5-Coder Q4_K_M). 57 of the 180 tune pairs were scored (the first 15,
    # then every 4th: 2 shared cores allowed no more); the best accuracy is a plateau over
    # 0.84-0.86, 0.85 in its middle: tune precision 0.72, recall 0.62, accuracy 0.77
    # (0.5 would give precision 0.53, recall 0.90). Reported, never tuned on: 16 check
    # pairs (every 4th), precision 1.00, recall 0.88 (7 of 8), accuracy 0.94. Mean cost
    # 10.7 s per pair with the cores shared by 5 workers (load 6-11), 3.4 s at best.
    # The model says yes readily: P(yes) is high for near misses too (tune-008, 0.84).
    DEFAULT_THRESHOLD = 0.85

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
