"""Negation: a claim and the quote clause carrying its predicate must have the same polarity.

Part of the support judge's meaning checks (:mod:`rag.answer.claims`).
"""

from __future__ import annotations

import re

from rag.answer.clauses import best_clauses, claim_subject, claim_terms, term_hits
from rag.text.analysis import detect_language, fold

# ---------------------------------------------------------------------------
# Negation.

_NEGATION = re.compile(
    r"\b(?:ne|n')\s*(?:[\w-]+\s+){0,4}?(?:pas|plus|jamais|rien|aucun\w*|personne|gu[eè]re|point|nullement|ni)\b"
    r"|\b(?:jamais|aucun|aucune|sans|nul|nulle|et\s+non|non\s+pas|ni)\b|^\W*non\b"
    r"|\b(?:not|never|none|nothing|nobody|neither|nor|without|cannot|rather\s+than|instead\s+of|as\s+opposed\s+to)\b"
    r"|\bno\b(?!\s*[.\d])|n't\b"
    # Verbs that deny their complement: "refused to approve", "prevented the censure", "a refusé de".
    r"|\b(?:refus\w*|fail(?:s|ed)?\s+to|prevent\w*|unsuccessful\w*|emp[eê]ch\w*|[ée]chou\w*|deni\w*|denies|deny)\b",
    re.IGNORECASE,
)
_NOT_NEGATION = re.compile(r"\b(?:not\s+only|non\s+seulement|ne\s+\w+\s+que|n'\w+\s+que)\b", re.IGNORECASE)


def negated(text: str) -> bool:
    """Whether ``text`` carries a negation (French or English).

    >>> negated("Il n'a jamais perdu."), negated("he didn't throw any"), negated("et non la prise de la Bastille")
    (True, True, True)
    >>> negated("Il n'a concédé que 308 points."), negated("not only setting records"), negated("No. 1 pick")
    (False, False, False)
    """
    text = text.replace("’", "'")
    return any(not _NOT_NEGATION.match(text, m.start()) for m in _NEGATION.finditer(text))


def _unshared(text: str, other: str) -> str:
    """``text`` without the negation phrases that ``other`` also has ("sans germes", "no longer").

    Such a phrase names a thing ("la vie sans germes") rather than denying the
    predicate: on the outside tune split, "Les recherches sur la vie sans germes
    ont commencé en 1928" was rejected against "recherches … sur la vie sans
    germes, commencées en 1928".

    >>> negated(_unshared("La vie sans germes a commencé.", "la vie sans germes, commencées en 1928"))
    False
    >>> negated(_unshared("Il n'a pas commencé.", "Il a commencé en 1928."))
    True
    """
    folded_other = fold(other)
    out = text
    for m in reversed(list(_NEGATION.finditer(text))):
        nxt = re.match(r"\s*[\w'’-]+", text[m.end():])
        phrase = text[m.start():m.end() + (nxt.end() if nxt else 0)]
        if nxt and fold(phrase) in folded_other:
            out = out[:m.start()] + " " * len(phrase) + out[m.start() + len(phrase):]
    return out


def _negates(clause: str, terms: list[set[str]]) -> bool:
    """Whether a negation in ``clause`` bears on one of the claim's terms (within ~8 words after it).

    A negation elsewhere in the clause denies something else: "C'est le cas de la
    « Fraise », pour laquelle il n'existe toujours pas de date d'arrivée" does not deny
    that the model is called Fraise (eval/dev.jsonl, dev-17, rejected before this).

    >>> t = [{"fraise"}]
    >>> _negates("C'est la « Fraise », pour laquelle il n'existe pas de date.", t), _negates("Ce n'est pas la Fraise.", t)
    (False, True)
    """
    clause = clause.replace("’", "'")
    for m in _NEGATION.finditer(clause):
        if _NOT_NEGATION.match(clause, m.start()):
            continue
        window = " ".join(clause[m.start():].split()[:10])
        if term_hits(terms, window) or not terms:
            return True
    return False


def check_negation(claim: str, evidence: str, lang: str | None = None) -> str | None:
    """A reason when the claim and the evidence clause carrying its predicate differ in polarity.

    >>> check_negation("Manning threw two interceptions in the playoffs.",
    ...                "Despite Manning's problems with interceptions, he didn't throw any in the two playoff games.")
    'negation: the claim is affirmative, the quote says the opposite'
    >>> check_negation("Manning threw no interception in the playoffs.",
    ...                "Despite Manning's problems with interceptions, he didn't throw any in the two playoff games.")
    """
    lang = lang or detect_language(claim)
    # The subject is left out of the match: the clause is chosen by what the claim says about it.
    terms = claim_terms(claim, lang, leave_out=claim_subject(claim))
    best, hits = best_clauses(terms, evidence)
    # A clause that carries under half of what the claim says is not where the claim's
    # predicate is ("Microsoft ne devrait pas investir à nouveau …" against "le nouveau
    # modèle … est la Fraise", eval/dev.jsonl dev-17): its polarity says nothing.
    if not best or hits < len(terms) / 2:
        return None
    polarity = negated(_unshared(claim, evidence))
    if any(_negates(_unshared(evidence[s:e], claim), terms) == polarity for s, e in best):
        return None
    return ("negation: the claim is negative, the quote is not" if polarity
            else "negation: the claim is affirmative, the quote says the opposite")
