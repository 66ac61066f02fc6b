"""An optional second opinion on each answer sentence from an LLM, read from its yes/no odds.

The lexical judge (:mod:`rag.answer.judge`) is cheap but can be fooled both ways
on unseen text. With ``Settings.confirm`` on, the LLM is asked
(:func:`rag.answer.entail.llm_supports`, its own entailment prompt) whether the
passage the model saw states the sentence, and its probability of "yes":

* rescues a sentence the judge rejected when it is high (``ACCEPT``);
* flags a sentence the judge accepted when it is low (``REJECT``).

Off by default, measured on 2 cores with the default 1.5B model:

* each check costs 3.4 s at best (a fresh ~100-token prompt), more than the
  whole answer (p50 2.4 s), against a speed budget of 1.5x;
* the 1.5B model says yes readily (judge pairs, tune: precision 0.72 at
  P(yes) >= 0.85). A cheaper variant, asking the question in the answer's own
  conversation after the answer (~40 new tokens), did not discriminate at all:
  P(yes) 0.73-0.86 for wrong answers ("Jim Nantz a commenté le match avec Tracy
  Wolfson") and 0.73 for a right one, on the outside-fr tune split.

It pays with a larger model behind ``--llm-base-url``. ``rag eval`` never reports
this filter as a citation figure: its headline figures are anchored on gold quotes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from rag.answer.entail import LLMJudge, llm_supports
from rag.answer.llm import LLM

log = logging.getLogger(__name__)

ACCEPT = LLMJudge.DEFAULT_THRESHOLD
REJECT = 0.20

ConfirmFn = Callable[[str, int], "float | None"]


class Confirmer:
    """P(yes) that passage ``i`` (0-based, as given to the model) states a claim; None when
    the passage was not in the prompt or the backend cannot tell. Memoised per (claim, passage)."""

    def __init__(self, llm: LLM, evidence: Sequence[str]) -> None:
        self.llm = llm
        self.evidence = list(evidence)
        self.calls = 0
        self._memo: dict[tuple[str, int], float | None] = {}

    def __call__(self, claim: str, index: int) -> float | None:
        if not 0 <= index < len(self.evidence):
            return None
        key = (claim, index)
        if key not in self._memo:
            p = None
            try:
                self.calls += 1
                p = float(llm_supports(self.llm, claim, self.evidence[index]))
            except Exception:  # a backend without token odds: the lexical judge decides alone
                log.debug("yes/no check failed", exc_info=True)
            self._memo[key] = p
        return self._memo[key]


def decide(lexical_ok: bool, p_yes: float | None, *, accept: float = ACCEPT, reject: float = REJECT) -> bool:
    """Combine the lexical verdict with the LLM's odds.

    >>> decide(True, None), decide(False, None), decide(False, 0.9), decide(True, 0.1), decide(True, 0.5)
    (True, False, True, False, True)
    """
    if p_yes is None:
        return lexical_ok
    return p_yes >= reject if lexical_ok else p_yes >= accept


def first_confirmed(claim: str, indexes: Sequence[int], confirm: ConfirmFn, *, accept: float = ACCEPT) -> int | None:
    """The first passage index the LLM confirms with odds >= ``accept``, or None."""
    for i in indexes:
        p = confirm(claim, i)
        if p is not None and p >= accept:
            return i
    return None
