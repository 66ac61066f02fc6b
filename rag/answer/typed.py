"""Evidence that can answer a "when" or "how many" question: a sentence holding a date or a figure.

The evidence selector ranks sentences by how much they share with the question, which favours
the sentence that repeats the question's subject over the one that answers it: "Combien de
lignes partent du centre-ville de Los Angeles ?" read "Los Angeles itself has many business
districts…", and "Six of the seven lines of the commuter rail system, Metrolink, run out of
Downtown Los Angeles" scored below the bar. A question asking when or how much is answered by a
date or a figure; when none of the chosen sentences holds one, the best-scoring sentence of the
passages that does is added, if it bears on the question at all (:data:`TYPED_FLOOR`).

Not a ranking bonus: a bonus for such sentences (session 10) moved the gold sentence up but
also pushed out the sentences that explain the figure. Here a sentence is added only when the
evidence could not answer the question otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from rag.answer.clauses import date_marks
from rag.answer.evidence import Candidate
from rag.answer.quantities import quantities
from rag.records import Passage
from rag.text.analysis import fold

Kind = Literal["date", "amount"]

# The share of the best sentence's score a sentence holding the asked kind of value must reach
# to be added: below it, a date or a figure is most likely about something else.
TYPED_FLOOR = 0.4

_WHEN = re.compile(
    r"\b(?:quand|depuis\s+quand|[àa]\s+quelle\s+(?:date|[ée]poque|p[ée]riode)|quelle\s+(?:date|ann[ée]e)"
    r"|quel\s+(?:mois|si[èe]cle)|en\s+quelle\s+ann[ée]e|when|since\s+when"
    r"|(?:what|which)\s+(?:date|year|month|century|decade)|in\s+what\s+year)\b",
    re.IGNORECASE)
_AMOUNT = re.compile(
    r"\b(?:combien|how\s+(?:many|much|long|far|high|tall|old|big|large)|(?:quel|quelle|what|which)\s+"
    r"(?:nombre|montant|pourcentage|part|proportion|taux|somme|co[ûu]t|number|amount|percentage|share|rate"
    r"|price|cost)|(?:what|which)\s+(?:size|height|length|population))\b",
    re.IGNORECASE)
_CENTURY = re.compile(r"\b(?:\d{1,2}(?:st|nd|rd|th|e|ème)|[IVX]+e)\s+(?:century|si[èe]cle)", re.IGNORECASE)


def asked_value(question: str) -> Kind | None:
    """Whether ``question`` is answered by a date or by an amount (a count, a sum, a share).

    >>> [asked_value(q) for q in ("Quand Dyrrachium est-elle tombée ?", "In what year was it built?",
    ...                           "Combien de lignes partent du centre-ville ?", "What percentage of farmland grows wheat?",
    ...                           "Qui a fondé la compagnie ?", "Where is the library?")]
    ['date', 'date', 'amount', 'amount', None, None]
    """
    if _WHEN.search(question):
        return "date"
    if _AMOUNT.search(question):
        return "amount"
    return None


def holds_value(text: str, lang: str, kind: Kind) -> bool:
    """Whether ``text`` holds a value of ``kind``: a date (a year, a decade, a century) or an amount.

    >>> holds_value("until February 1082, when the city fell", "en", "date"), holds_value("in the 16th century", "en", "date")
    (True, True)
    >>> holds_value("Six of the seven lines run out of Downtown", "en", "amount"), holds_value("Dyrrachium fell.", "en", "amount")
    (True, False)
    """
    if kind == "date":
        return bool(date_marks(text)) or bool(_CENTURY.search(text))
    return any(q.kind != "year" for q in quantities(text, lang))


def question_names(question: str) -> set[str]:
    """The folded names (capitalised words, not the question's first word) of ``question``.

    >>> sorted(question_names("À combien Anthropic est-elle valorisée ?")), question_names("Combien de lignes ?")
    (['anthropic'], set())
    """
    words = re.findall(r"[\w'’-]+", question)[1:]
    return {fold(w) for w in words if w[:1].isupper() and len(w) > 1}


def written_names(text: str) -> set[str]:
    """Every folded word of ``text``, the place a question's name is looked for."""
    return {fold(w) for w in re.findall(r"[\w'’-]+", text)}


def with_typed(chosen: Sequence[Candidate], candidates: Sequence[Candidate], passages: Sequence[Passage],
               question: str, *, floor: float = TYPED_FLOOR) -> list[Candidate]:
    """``chosen``, plus the best candidate holding the kind of value ``question`` asks for when
    no chosen sentence holds one and that candidate scores ``floor`` of the best or more. When
    the question names something ("Anthropic", "Los Angeles"), the candidate or its article's
    title must name it too: a value said of another company is no answer, and the model, given
    "Mistral lève une série B … pour une valorisation de 6 milliards de dollars" as the only
    figure, answered "À combien Anthropic est-elle valorisée ?" with it (actors-check act-05).

    >>> ps = [Passage(1, "a", "a:0", 0, 90, 1.0, "Dyrrachium fell again to Byzantine hands. It resisted until "
    ...               "February 1082, when it was betrayed.", title="Dyrrachium")]
    >>> cs = [Candidate(0, 0, 41, 1.0), Candidate(0, 42, 96, 0.5)]
    >>> [c.start for c in with_typed(cs[:1], cs, ps, "When did Dyrrachium fall?")]
    [0, 42]
    >>> [c.start for c in with_typed(cs[:1], cs, ps, "Who betrayed Dyrrachium?")]
    [0]
    >>> [c.start for c in with_typed(cs[:1], cs, ps, "When did Dyrrachium fall?", floor=0.6)]
    [0]
    >>> [c.start for c in with_typed(cs[:1], cs, ps, "When did Antioch fall?")]
    [0]
    """
    kind = asked_value(question)
    if kind is None or not candidates:
        return list(chosen)

    names = question_names(question)

    def holds(c: Candidate) -> bool:
        p = passages[c.passage]
        text = p.text[c.start:c.end]
        return holds_value(text, p.language, kind) and (not names or bool(names & written_names(f"{p.title} {text}")))

    if any(holds(c) for c in chosen):
        return list(chosen)
    best = max(c.score for c in candidates)
    typed = [c for c in candidates if c not in chosen and c.score >= floor * best and holds(c)]
    return [*chosen, max(typed, key=lambda c: c.score)] if typed else list(chosen)
