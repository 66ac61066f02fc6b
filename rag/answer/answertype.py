"""Answer types: a question asking when or how many is answered by a sentence holding a
date or a number.

This is the oldest device of open-domain question answering (the answer-type matching of
the TREC QA systems): the question's wh-phrase says what kind of phrase the answer is,
and a sentence that holds no phrase of that kind cannot state it. Evidence selection
(:class:`rag.answer.evidence.EvidenceSelector`) gives such sentences a small bonus, so the
sentence with the date is the one the model reads when a crowd question paraphrases the
rest ("La NFL a annoncé Coldplay pour la mi-temps quand ?" against "Le 3 décembre, la
ligue a confirmé que le spectacle…"). Only dates and numbers are typed: they can be
recognised in a sentence without a tagger; names and places cannot, in French and English
alike, from capitals alone.
"""

from __future__ import annotations

import re

DATE = "date"
NUMBER = "number"

_ASKS_DATE = re.compile(
    r"\b(?:quand|en\s+quelle\s+ann[ée]e|quelle\s+ann[ée]e|quel\s+jour|quelle\s+date|à\s+quelle\s+[ée]poque|"
    r"when|what\s+year|which\s+year|in\s+what\s+year|what\s+day|what\s+date|what\s+decade|which\s+decade)\b",
    re.IGNORECASE,
)
_ASKS_NUMBER = re.compile(
    r"\b(?:combien|quel(?:le)?s?\s+(?:est\s+le\s+)?(?:âge|nombre|montant|pourcentage|proportion|prix|taille|"
    r"durée|superficie|population)|how\s+many|how\s+much|how\s+old|how\s+long|how\s+far|"
    r"what\s+(?:percentage|percent|age|number|amount|proportion|share))\b",
    re.IGNORECASE,
)
_MONTHS = (
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|"
    "january|february|march|april|june|july|august|september|october|november|december"
)
_DAYS = "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_HAS_DATE = re.compile(
    rf"\b(?:1[0-9]\d\d|20\d\d|\d{{2,4}}s|{_MONTHS}|{_DAYS}|si[èe]cle|century|centuries|ann[ée]es\s+\d+)\b",
    re.IGNORECASE,
)
# Articles ("un", "une", "one") are left out: nearly every sentence holds one.
_NUMBER_WORDS = (
    "deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante|cinquante|soixante|"
    "cent|cents|mille|million|millions|milliard|milliards|douzaine|centaine|centaines|moitié|tiers|quart|"
    "two|three|four|five|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|hundreds|"
    "thousand|thousands|billion|billions|dozen|half|single|seule|seul"
)
_HAS_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)


def answer_type(question: str) -> str | None:
    """``"date"``, ``"number"`` or None (any other question).

    >>> [answer_type(q) for q in ("La NFL a annoncé Coldplay quand ?", "En quelle année est-il né ?",
    ...  "Combien d'employés ?", "How many games did they lose?", "What year was it founded?",
    ...  "Quel est le montant levé ?", "Qui a chanté l'hymne ?", "Where is the centre?")]
    ['date', 'date', 'number', 'number', 'date', 'number', None, None]
    """
    if _ASKS_DATE.search(question):
        return DATE
    if _ASKS_NUMBER.search(question):
        return NUMBER
    return None


def holds_type(sentence: str, kind: str | None) -> bool:
    """Whether ``sentence`` holds a phrase of the answer type ``kind`` (False for None).

    >>> holds_type("Le 3 décembre, la ligue a confirmé Coldplay.", "date"), holds_type("Coldplay jouera.", "date")
    (True, False)
    >>> holds_type("Il a réussi ses quatre field goals.", "number"), holds_type("Il a une équipe.", "number")
    (True, False)
    >>> holds_type("Founded in the 1850s.", "date"), holds_type("It costs 5 $.", None)
    (True, False)
    """
    if kind == DATE:
        return bool(_HAS_DATE.search(sentence))
    if kind == NUMBER:
        return bool(_HAS_NUMBER.search(sentence))
    return False
