"""A date bound to the life event the quote gives it: birth, death, marriage.

"En quelle année Jakob Böhme tombe-t-il malade ?" was answered "le 8 mars 1575", cited to
"Jakob Böhme, né le 8 mars 1575 à Alt Seidenberg…": the date is the right person's, of
another event. The general date check (:func:`rag.answer.claims.check_dates`) asks that the
quote's clause holding the date name the claim's event; on held-out questions it refused
right answers as often as wrong ones, because questions paraphrase the event ("started" for
"begun"), so it is off by default. This check is the part of it that does not depend on
paraphrase: the clause of the quote that holds the date says it is someone's birth, death or
marriage, and neither the question nor the answer speaks of that event. Those three events
date most of a biography, and each is said in a few fixed ways in French and English.

The word forms are hand-written (no parser or event tagger ships offline here); they are the
general vocabulary of these events, chosen with no question in view. In a quote only verb
forms count ("né", "meurt", "épouse"), not the nouns ("la mort de son père", "son épouse"),
which name an event without dating it; in the question both count ("date de naissance",
"mort de Paul Verdier ?").
"""

from __future__ import annotations

import re

from rag.answer.clauses import clauses, content_besides_date, date_marks, same_date
from rag.text.sentences import sentence_spans

# The forms that date an event in a quote: verbs and participles.
_DATED: dict[str, str] = {
    "birth": r"née?s?|naît|naquit|naquirent|voit\s+le\s+jour|vit\s+le\s+jour|born",
    "death": r"meurt|meurent|mourut|moururent|décèd\w*|décéd\w*|s['’]\s?éteint|s['’]\s?éteignit"
             r"|(?:est|sont|était|fut|furent)\s+morte?s?|morte?s?(?=\s+(?:le|en|à|au|vers)\s)"
             r"|trouve\s+la\s+mort|trouva\s+la\s+mort|died|dies",
    "marriage": r"(?<!son\s)(?<!ses\s)(?<!une\s)(?<!l['’])épouse|épousa|épousé\w*|se\s+marie|se\s+maria\w*"
                r"|s['’]\s?est\s+mariée?|mariée?s?\s+(?:à|avec)|married|marries|weds",
}
# What a question may call the same events besides those forms: the nouns too (not a role:
# "When did her husband die?" asks for a death, not a marriage).
_ASKED: dict[str, str] = {
    "birth": r"naissance|naître|birth|birthday|birthdate",
    "death": r"mort|morte|décès|mourir|disparu|disparition|death|die|passed\s+away",
    "marriage": r"mariage|marier|épouser|noces|marriage|marry|wedding|wed",
}


def _compile(forms: dict[str, str], before: str) -> dict[str, re.Pattern[str]]:
    # A verb may be inverted ("épouse-t-elle", "meurt-il"): a hyphen may follow it.
    return {kind: re.compile(rf"(?<![{before}])(?:{p})(?!\w)", re.IGNORECASE) for kind, p in forms.items()}


_DATED_RE = _compile(_DATED, r"\w-")
_ASKED_RE = _compile({kind: f"{_DATED[kind]}|{_ASKED[kind]}" for kind in _DATED}, r"\w-")


def dated_events(text: str) -> set[str]:
    """The life events a quote's words date ("né le…", "died in…").

    >>> sorted(dated_events("Jakob Böhme, né le 8 mars 1575, meurt en 1624."))
    ['birth', 'death']
    >>> dated_events("Après la mort de son père, il part avec son épouse en 1600.")
    set()
    """
    return {kind for kind, pattern in _DATED_RE.items() if pattern.search(text)}


def asked_events(text: str) -> set[str]:
    """The life events a question or claim speaks of, nouns included.

    >>> sorted(asked_events("Date de naissance de Böhme ?")), sorted(asked_events("mort de Paul Verdier ?"))
    (['birth'], ['death'])
    >>> asked_events("En quelle année Böhme tombe-t-il malade ?"), asked_events("Quand Böhme épouse-t-il Katharina ?")
    (set(), {'marriage'})
    """
    return {kind for kind, pattern in _ASKED_RE.items() if pattern.search(text)}


def check_event(asked: str, answer: str, evidence: str) -> str | None:
    """A reason when a date of ``answer`` is, in ``evidence``, the date of another life event
    than the birth, death or marriage ``asked`` (the question, or the claim itself) is about,
    or, when ``asked`` is about one of those, not the date of it.

    Each date of the answer is looked for in the evidence (same year, and same month and day
    where both give them); it is refused when no occurrence dates what is asked:

    * asked about no life event, the occurrence's clause must not date one (within a clause
      only the words between the dates before and after it count: "Né en 1575, il tombe
      malade en 1600" dates the illness in 1600; a clause that is only the date takes the
      next one, "Le 3 mai 1890, il épouse…");
    * asked about a birth, death or marriage, the occurrence's clause must date it (its
      sentence, up to the next date, when the date opens the clause: "Le 11 juin 1874, à
      Paris, elle épouse…"), or the date must be one of a life's bounds in parentheses
      ("Odile Santerre (12 mars 1734 – 3 juin 1797)").

    A date not found in the evidence is left to the other checks.

    >>> q = "En quelle année Jakob Böhme tombe-t-il malade ?"
    >>> check_event(q, "Le 8 mars 1575.", "Jakob Böhme, né le 8 mars 1575 à Alt Seidenberg, est cordonnier.")
    'event: 1575 is a date of birth in the quote, not of what is asked'
    >>> check_event(q, "En 1600.", "Né en 1575, il tombe malade en 1600.") is None
    True
    >>> check_event("When was Jakob Böhme born?", "1575", "Jakob Böhme, né le 8 mars 1575, est cordonnier.") is None
    True
    >>> check_event("Quand Böhme s'installe-t-il à Görlitz ?", "En 1599.",
    ...             "Après la mort de son père en 1599, il s'installe à Görlitz.") is None
    True
    >>> check_event("Quand Böhme se marie-t-il ?", "En 1600.", "Il tombe malade en 1600, puis épouse Katharina.")
    'event: 1600 is not a date of marriage in the quote'
    >>> t = "Son mari meurt le 4 février 1893. La même année, elle est atteinte d'une affection des yeux."
    >>> check_event("En quelle année est-elle atteinte d'une affection des yeux ?", "En 1893", t) is None
    True
    >>> check_event("Quand est-elle atteinte d'une affection des yeux ?", "Le 4 février 1893", t)
    'event: 1893 is a date of death in the quote, not of what is asked'
    >>> [check_event("Böhme mort quelle année ?", "1624", t) is None for t in (
    ...     "Jakob Böhme (1575 – 1624) est un mystique.", "Le 17 novembre 1624, à Görlitz, il s'éteint.",
    ...     "Jakob Böhme, né en 1575 à Seidenberg et mort le 17 novembre 1624 à Görlitz, est un mystique.")]
    [True, True, True]
    """
    wanted = asked_events(f"{asked} {answer}")
    spans = clauses(evidence)
    sentences = sentence_spans(evidence)
    marks = date_marks(evidence)
    for mark in date_marks(answer):
        year = mark[3]
        found = same_date(mark, marks)
        if not found:
            continue
        # "Son mari meurt le 4 février 1893. La même année, elle est atteinte d'une affection des
        # yeux": the year also dates what the next sentence tells (not the day).
        carried = [dated_events(c) for m in found if mark[2] == "year"
                   and (c := same_year_after(evidence, m, sentences)) is not None]
        if not wanted:
            dated = [dated_events(_between(evidence, m, spans, marks)) for m in found]
            if all(dated) and all(carried):
                kinds = sorted(set().union(*dated))
                return f"event: {year} is a date of {' and '.join(kinds)} in the quote, not of what is asked"
        elif not any(_dates(evidence, m, spans, sentences, marks) & wanted
                     or (wanted <= {"birth", "death"} and _LIFE_BOUNDS.search(evidence, max(0, m[0] - 40), m[1] + 40))
                     for m in found) and not any(c & wanted for c in carried):
            return f"event: {year} is not a date of {' or '.join(sorted(wanted))} in the quote"
    return None


# A sentence that opens in the year of the sentence before it.
_SAME_YEAR = re.compile(
    r"^\W*(?:(?:au\s+cours\s+de\s+|dans\s+)?(?:la|cette)\s+même\s+année|cette\s+année-là|(?:plus\s+tard\s+)?dans\s+l['’]année"
    r"|(?:in\s+|during\s+|later\s+)?(?:the\s+same|that(?:\s+same)?)\s+year)\b",
    re.IGNORECASE)


def same_year_after(evidence: str, mark: tuple[int, ...], sentences: list[tuple[int, int]]) -> str | None:
    """The sentence after the one holding the date ``mark`` when it opens in that sentence's year
    ("La même année, …", "That same year, …"), else None.

    >>> t = "Son mari meurt le 4 février 1893. La même année, elle tombe malade. En 1895, elle peint."
    >>> same_year_after(t, date_marks(t)[0], sentence_spans(t)), same_year_after(t, date_marks(t)[1], sentence_spans(t))
    ('La même année, elle tombe malade.', None)
    """
    i = next((k for k, (s, e) in enumerate(sentences) if s <= mark[0] < e), None)
    if i is None or i + 1 >= len(sentences):
        return None
    s, e = sentences[i + 1]
    return evidence[s:e] if _SAME_YEAR.match(evidence[s:e]) else None


def _dates(evidence: str, mark: tuple[int, ...], spans: list[tuple[int, int]], sentences: list[tuple[int, int]],
           marks: list[tuple[int, ...]]) -> set[str]:
    """The life events the date ``mark`` dates: those of its clause, or, for a date that opens
    its clause ("Le 11 juin 1874, à Paris, elle épouse…"), of its sentence up to the next date."""
    kinds = dated_events(_between(evidence, mark, spans, marks))
    clause_start = next((s for s, e in spans if s <= mark[0] < e), 0)
    if kinds or len(evidence[clause_start:mark[0]].split()) > 2:
        return kinds
    return dated_events(_between(evidence, mark, sentences, marks))


def _between(evidence: str, mark: tuple[int, ...], spans: list[tuple[int, int]], marks: list[tuple[int, ...]]) -> str:
    """The text of the span of ``spans`` holding the date ``mark``, cut at the dates before and after it."""
    s, e = next(((s, e) for s, e in spans if s <= mark[0] < e), (0, len(evidence)))
    s = max([s] + [x[1] for x in marks if s <= x[1] <= mark[0]])
    e = min([e] + [x[0] for x in marks if mark[1] <= x[0] < e])
    return evidence[s:e]


# A life's bounds in parentheses after a name: "(12 mars 1734 – 3 juin 1797)", "(1575-1624)".
_LIFE_BOUNDS = re.compile(r"\([^()\d]{0,25}\d[^()]{0,25}?\d{3,4}\s*[-–—]\s*[^()\d]{0,25}\d[^()]{0,25}?\d{3,4}\s*\)")


# A decade written with a year: "les années 1900", "the 1960s", "1960s".
_DECADE_BEFORE = re.compile(r"\bann[ée]es\s+$", re.IGNORECASE)


def _is_decade(text: str, mark: tuple[int, ...]) -> bool:
    return text[mark[0]:mark[1]].lower().endswith("s") or bool(_DECADE_BEFORE.search(text[max(0, mark[0] - 8):mark[0]]))


def check_decade(answer: str, evidence: str) -> str | None:
    """A reason when a year of ``answer`` is, wherever the quote gives it, a decade.

    "debut du football à notre dame, quelle année" was answered "1900", cited to "Notre-Dame
    a acquis une renommée nationale au début des années 1900": the 1900s are ten years, and
    the quote dates nothing in the year 1900.

    >>> check_decade("1900.", "Elle devient célèbre au début des années 1900.")
    'date: 1900 is a decade in the quote (the 1900s), not a year'
    >>> [check_decade(a, t) for a, t in (("Dans les années 1900.", "Célèbre dans les années 1900."),
    ...  ("1960", "In the 1960s, and in 1960 again."), ("1960", "It grew in the 1960s."),
    ...  ("1960", "Dans les années 1960, puis le 3 mai 1960."))]
    [None, None, 'date: 1960 is a decade in the quote (the 1960s), not a year', None]
    """
    marks = date_marks(evidence)
    for mark in date_marks(answer):
        if mark[2] != "year" or _is_decade(answer, mark):
            continue
        found = same_date(mark, marks)
        if found and all(m[2] == "year" and _is_decade(evidence, m) for m in found):
            return f"date: {mark[3]} is a decade in the quote (the {mark[3]}s), not a year"
    return None


def check_claimed_event(claim: str, evidence: str, lang: str | None = None) -> str | None:
    """:func:`check_event` for a claim that says its own event (a meaning check of
    :func:`rag.answer.claims.meaning_reason`); a bare date says none and is left to the
    question-aware check (:func:`rag.answer.cite.answering`). A year that the quote only
    gives as a decade (:func:`check_decade`) is refused in either case.

    >>> quote = "Jakob Böhme, né le 8 mars 1575 à Alt Seidenberg, est cordonnier."
    >>> check_claimed_event("Jakob Böhme tombe malade le 8 mars 1575.", quote)
    'event: 1575 is a date of birth in the quote, not of what is asked'
    >>> check_claimed_event("Le 8 mars 1575.", quote) is None
    True
    """
    decade = check_decade(claim, evidence)
    if decade or not content_besides_date(claim):
        return decade
    return check_event(claim, claim, evidence)
