"""Meaning checks the support judge applies after word coverage.

Word coverage accepts a quote that shares a claim's words but not its meaning:
"OpenAI has 1.5 billion employees" against "1,5 milliard de dollars en
personnel", an action credited to the wrong actor, a birth date given as the
date someone fell ill. Each check here looks at one way a claim can share the
words and still say something else, and returns a short reason when it rejects
(``None`` when it has nothing against the pair):

* :func:`check_instruction`: a quote that gives orders to an AI ("Ignorez les
  instructions…", "SYSTEM: …", "answer that …") is never evidence;
* :func:`check_numbers`: each number of the claim counts the same kind of thing
  in the quote (money, percent, year, duration, measure, or the same noun);
* :func:`check_negation`: the quote's clause that carries the claim's
  predicate has the claim's polarity ("ne … pas", "never", "refused to", "et non");
* :func:`check_actor`: the claim's subject is not a bystander of that clause
  while another named entity does the action;
* :func:`check_dates`: a date of the claim sits next to the claim's event in
  the quote, not next to another one.

Pure functions over two strings (French or English, either way round). They
work on clauses (a sentence cut at punctuation and at "but", "mais", "while",
"et non"...) and on names (runs of capitalised words), so they are cheap and
general, and they err on the side of saying nothing when the text is unclear:
a check that cannot find what it needs does not reject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.clauses import (
    COMPLEMENT,
    PASSIVE_AGENT,
    STOP,
    bare,
    best_clauses,
    claim_subject,
    claim_terms,
    clauses,
    content_besides_date,
    date_marks,
    is_name_word,
    names_in,
    stems_match,
    subject,
    term_hits,
    words_in,
)
from rag.answer.injection import check_instruction, is_instruction, mask_injections
from rag.answer.negation import check_negation, negated
from rag.news.dates import MONTHS
from rag.news.figures import find_figures, parse_number
from rag.text.analysis import LANGUAGES, detect_language, fold, stem
from rag.text.lexicon import translation_table
from rag.text.numbers import scale_exponent
from rag.text.sentences import sentence_spans

__all__ = [
    "Quantity",
    "check_actor",
    "check_dates",
    "check_instruction",
    "check_negation",
    "check_numbers",
    "claim_subject",
    "clauses",
    "is_instruction",
    "mask_injections",
    "meaning_reason",
    "negated",
    "quantities",
    "stems_match",
    "subject",
]

# ---------------------------------------------------------------------------
# ---------------------------------------------------------------------------
# Actor.



_COMPLEMENT_OF = re.compile(
    r"\b(?:au|aux|à|a|de|du|des|d'|pour|avec|contre|chez|sur|with|to|of|from|for|at|in|on|against|into)\s+"
    r"(?:(?:the|le|la|les|l')\s*)?$", re.IGNORECASE)


def _only_complement(who: tuple[str, ...], part: str) -> bool:
    """Whether every mention of ``who`` in ``part`` follows a preposition ("s'allie au FMI")."""
    folded = fold(part)
    spots = [m.start() for m in re.finditer(rf"(?<!\w){re.escape(who[0])}(?!\w)", folded)]
    return bool(spots) and all(_COMPLEMENT_OF.search(folded[:i]) for i in spots)


_NOMINAL = re.compile(r"\b(?:l'|l’|le|la|les|the|its|his|her|their|son|sa|ses|leur)\s*([^\W\d_][\w-]{3,})", re.IGNORECASE)


def _nominal_agent(who: tuple[str, ...], part: str, claim: str, lang: str) -> bool:
    """Whether ``who`` is the complement of a noun naming the claim's action: "l'investissement
    de 16 millions de dollars de Microsoft" says that Microsoft invested (eval/dev.jsonl, dev-07,
    was rejected as if Mistral AI had).

    >>> _nominal_agent(("microsoft",), "tels que l'investissement de 16 millions de Microsoft", "Microsoft a investi 16 millions.", "fr")
    True
    >>> _nominal_agent(("ouali",), "a inauguré la médiathèque en présence de Karim Ouali", "Karim Ouali a inauguré la médiathèque.", "fr")
    False
    """
    # The action is the claim's first ordinary word after its subject ("investi"), not its object.
    words = [fold(bare(w)) for w in re.findall(r"[^\W\d_][\w'’-]*", claim)]
    after = words[words.index(who[-1]) + 1:] if who[-1] in words else []
    verb = next((w for w in after if w not in STOP and len(w) > 2), None)
    if verb is None:
        return False
    action = stem(verb, lang)
    folded = fold(part)
    spot = folded.find(who[0])
    for m in _NOMINAL.finditer(folded[:spot] if spot >= 0 else ""):
        noun = stem(m.group(1), lang)
        if stems_match(noun, action) and len(folded[m.end():spot].split()) <= 8:
            return True
    return False


def check_actor(claim: str, evidence: str, lang: str | None = None) -> str | None:
    """A reason when the claim's subject is in the evidence but not in the clause that says what
    it did, while another named entity is that clause's subject or agent.

    >>> check_actor("Paramount paid for the Jason Bourne trailer.",
    ...             "Paramount paid for Ninja Turtles, Universal paid for the trailer for Jason Bourne.")
    "actor: the quote says 'universal' did it, 'paramount' is elsewhere in the quote"
    >>> check_actor("Llama 3.1.", "OpenAI a lancé GPT-4o. Meta a confirmé avec le lancement de Llama 3.1 qu'il en est proche.")
    >>> check_actor("Universal paid for the Jason Bourne trailer.",
    ...             "Paramount paid for Ninja Turtles, Universal paid for the trailer for Jason Bourne.")
    """
    who = claim_subject(claim)
    if not who or not set(who) & words_in(evidence):
        return None  # no named subject, or one the quote only refers to ("He", "le groupe")
    lang = lang or detect_language(claim)
    terms = claim_terms(claim, lang, leave_out=who)
    if not claim_terms(claim, lang, leave_out=who, words_only=True):
        return None  # a bare answer ("Llama 3.1.") says nothing that someone else could have done
    best, _ = best_clauses(terms, evidence)
    claim_words = words_in(claim)
    rejected = None
    spans = clauses(evidence)
    for s, e in best:
        part = evidence[s:e]
        mentioned = bool(set(who) & words_in(part))
        if mentioned and (not _only_complement(who, part) or _nominal_agent(who, part, claim, lang)):
            return None
        agents = set(subject(part))
        if not agents and mentioned:
            # "Le maire, Hélène Vasseur, a inauguré … en présence de Karim Ouali": a clause that
            # starts with its verb takes the sentence's named subject (an earlier clause).
            for cs, ce in spans:
                if cs >= s:
                    break
                agents = set(subject(evidence[cs:ce])) or agents
        for m in PASSIVE_AGENT.finditer(part):
            agents |= names_in(m.group(1))
        if not agents or agents & claim_words:
            return None
        rejected = rejected or (f"actor: the quote says '{' '.join(sorted(agents))}' did it, "
                                f"'{' '.join(who)}' is elsewhere in the quote")
    return rejected


# ---------------------------------------------------------------------------
# Numbers bound to what they count.

# Closed classes of units, French and English, folded: a number of years is
# not a number of months, and 308 yards are not 308 points.
_UNITS = {
    "year": "an ans annee annees year years yr yrs",
    "month": "mois month months",
    "week": "semaine semaines week weeks",
    "day": "jour jours journee day days",
    "hour": "heure heures hour hours h",
    "minute": "minute minutes min mn",
    "second": "seconde secondes second seconds",
    "km": "km kilometre kilometres kilometer kilometers",
    "m": "m metre metres meter meters",
    "cm": "cm centimetre centimetres centimeter centimeters",
    "mile": "mile miles",
    "yard": "yard yards",
    "foot": "pied pieds foot feet ft",
    "kg": "kg kilo kilos kilogramme kilogrammes kilogram kilograms",
    "tonne": "tonne tonnes ton tons",
    "point": "point points pts",
    "degree": "degre degres degree degrees",
}
_UNIT = {w: unit for unit, words in _UNITS.items() for w in words.split()}
_DURATIONS = {"year", "month", "week", "day", "hour", "minute", "second"}

# Cardinal words; "un", "une", "one" are left out (mostly articles), "neuf"
# counts only before a plural word ("neuf autres", not "un bâtiment neuf").
_CARDINALS = {
    **dict.fromkeys(["deux", "two"], 2), **dict.fromkeys(["trois", "three"], 3),
    **dict.fromkeys(["quatre", "four"], 4), **dict.fromkeys(["cinq", "five"], 5),
    **dict.fromkeys(["six"], 6), **dict.fromkeys(["sept", "seven"], 7), **dict.fromkeys(["huit", "eight"], 8),
    **dict.fromkeys(["neuf", "nine"], 9), **dict.fromkeys(["dix", "ten"], 10), **dict.fromkeys(["onze", "eleven"], 11),
    **dict.fromkeys(["douze", "twelve"], 12), **dict.fromkeys(["treize", "thirteen"], 13),
    **dict.fromkeys(["quatorze", "fourteen"], 14), **dict.fromkeys(["quinze", "fifteen"], 15),
    **dict.fromkeys(["seize", "sixteen"], 16), **dict.fromkeys(["seventeen"], 17),
    **dict.fromkeys(["eighteen"], 18), **dict.fromkeys(["nineteen"], 19),
    **dict.fromkeys(["vingt", "twenty"], 20), **dict.fromkeys(["trente", "thirty"], 30),
    **dict.fromkeys(["quarante", "forty"], 40), **dict.fromkeys(["cinquante", "fifty"], 50),
    **dict.fromkeys(["soixante", "sixty"], 60), **dict.fromkeys(["seventy"], 70),
    **dict.fromkeys(["eighty"], 80), **dict.fromkeys(["ninety"], 90),
}  # fmt: skip
_YEAR_ONLY = re.compile(r"1\d{3}|20\d\d")
# A four-digit number after these words is a year ("créée en 1846, serait…").
_YEAR_BEFORE = re.compile(r"\b(?:en|in|since|depuis|from|de|à|to|until|by|dès|jusqu'en|vers|around|circa|année|year)\s+$",
                          re.IGNORECASE)
_UNIT_WORDS = {"un": 1, "une": 1, "one": 1, "et": 0, "and": 0}
_NUMBER_TOKEN = re.compile(
    r"(?<![\w.,])(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+(?![0-9])"
    r"|[0-9]+(?:[.,][0-9]+)?)(?![.,]?[0-9])"
    r"|[^\W\d_]+(?:-[^\W\d_]+)*"
)


def _is_digits(word: str) -> bool:
    return word[:1] in "0123456789" and word[:1] != ""


def _cardinal(word: str) -> int | None:
    """The value of a cardinal word: "sept" -> 7, "vingt-sept" -> 27, "twenty-one" -> 21."""
    parts = fold(word).split("-")
    if any(p not in _CARDINALS and p not in _UNIT_WORDS for p in parts) or not any(p in _CARDINALS for p in parts):
        return None
    return sum(_CARDINALS.get(p, _UNIT_WORDS.get(p, 0)) for p in parts)


@dataclass(frozen=True)
class Quantity:
    """A number in a sentence with what it counts.

    ``kind`` is money, percent, year, duration, measure, count (``unit`` the
    counted noun) or number (nothing known); ``after`` holds the folded words
    right after it, up to the next number.
    """

    value: float
    kind: str
    unit: str | None
    start: int
    end: int
    after: tuple[str, ...] = ()


def quantities(text: str, lang: str) -> list[Quantity]:
    """Numbers of ``text`` (digits or cardinal words, with scale words) and what each counts.

    >>> [(q.value, q.kind, q.unit) for q in quantities("OpenAI has 1.5 billion employees.", "en")]
    [(1500000000.0, 'count', 'employees')]
    >>> [(q.value, q.kind, q.unit) for q in quantities("environ 1,5 milliard de dollars en personnel", "fr")]
    [(1500000000.0, 'money', 'USD')]
    >>> [(q.value, q.kind, q.unit) for q in quantities("libéré après vingt-sept ans, 11-year veteran, 308 yards", "fr")]
    [(27.0, 'duration', 'year'), (11.0, 'duration', 'year'), (308.0, 'measure', 'yard')]
    """
    figures = find_figures(text, lang=lang)
    dates = [(m[0], m[1]) for m in date_marks(text) if m[2] != "year"]
    tokens = list(_NUMBER_TOKEN.finditer(text))
    out: list[Quantity] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = tok.group()
        i += 1
        in_date = any(s <= tok.start() < e for s, e in dates)
        rest: list[str] = []  # "Six-time": the words joined to a cardinal
        if _is_digits(word):
            if in_date and len(word) < 3:
                continue  # the day of a date; its year is kept
            value = parse_number(word)
        else:
            parts = word.split("-")
            k = next((k for k in range(len(parts), 0, -1) if _cardinal("-".join(parts[:k])) is not None), 0)
            nxt = tokens[i].group() if i < len(tokens) else ""
            if not k or (fold(parts[0]) == "neuf" and k == len(parts) and not nxt.endswith("s")):
                continue
            value = float(_cardinal("-".join(parts[:k])) or 0)
            rest = [fold(p) for p in parts[k:]]
        end = tok.end()
        if i < len(tokens) and (exp := scale_exponent(tokens[i].group(), lang)) is not None \
                and text[end:tokens[i].start()].strip() == "":
            value *= 10.0 ** exp
            end = tokens[i].end()
            i += 1
        after = list(rest)
        nouns = [w for w in rest if w not in STOP]
        for t in tokens[i:i + 4]:
            w = t.group()
            if _is_digits(w) or _cardinal(w) is not None:
                break
            folded = fold(bare(w))
            after.append(folded)
            if is_name_word(w) or len(w) == 1 or folded in ("de", "d", "of"):
                continue  # "five B.S. degrees", "12 millions d'habitants"
            nouns.append("" if folded in STOP else folded)  # a function word: no counted noun
        fig = next((f for f in figures if f.start <= tok.start() < f.end), None)
        kind, unit = "number", None
        noun = nouns[0] if nouns else None
        if fig is not None and fig.kind in ("money", "percent", "year"):
            kind, unit = fig.kind, fig.unit
        elif in_date or (_YEAR_ONLY.fullmatch(word) and (not noun or _YEAR_BEFORE.search(text, 0, tok.start()))):
            kind = "year"
        elif noun in _UNIT:
            kind, unit = ("duration" if _UNIT[noun] in _DURATIONS else "measure"), _UNIT[noun]
        elif noun:
            kind, unit = "count", noun
        out.append(Quantity(value, kind, unit, tok.start(), end, tuple(after)))
    return out


def _same_value(a: float, b: float) -> bool:
    return abs(a - b) <= 0.005 * max(abs(a), abs(b))


def _noun_forms(noun: str, lang: str) -> set[str]:
    other = "en" if lang == "fr" else "fr"
    st = stem(noun, lang)
    return {st, stem(noun, other), *translation_table()[lang].get(st, ())}


def _counts(q: Quantity, forms: set[str], lang: str) -> bool:
    """Whether one of the words right after ``q`` (up to three) is one of ``forms``."""
    for w in q.after[:3]:
        if w in STOP:
            continue
        ws = {stem(w, la) for la in LANGUAGES}
        if any(stems_match(a, b) for a in forms for b in ws):
            return True
    return False


def _describe(q: Quantity) -> str:
    return q.kind if q.unit is None else f"{q.kind} ({q.unit})"


def check_numbers(claim: str, evidence: str, lang: str | None = None, evidence_lang: str | None = None) -> str | None:
    """A reason when a number of the claim is missing from the evidence, or counts something else there.

    >>> check_numbers("OpenAI has 1.5 billion employees.", "…environ 1,5 milliard de dollars en personnel…")
    'number: 1.5e+09 is count (employees) in the claim but money (USD) in the quote'
    >>> check_numbers("Von Miller forced 11 fumbles.", "Von Miller led the team with 11 sacks, forced four fumbles.")
    'number: 11 is count (fumbles) in the claim but count (sacks) in the quote'
    >>> check_numbers("Von Miller a provoqué cinq fumbles.", "Von Miller had five solo tackles and two forced fumbles.")
    "number: 'fumbles' goes with another number in the quote"
    >>> check_numbers("OpenAI va perdre 5 milliards de dollars.", "OpenAI will lose $5 billion.")
    """
    lang = lang or detect_language(claim)
    ev_lang = evidence_lang or detect_language(evidence)
    same_lang = lang == ev_lang
    ev = quantities(evidence, ev_lang)
    for q in quantities(claim, lang):
        same = [e for e in ev if _same_value(e.value, q.value)]
        if not same:
            if q.kind != "year":  # years are the date check's business
                return f"number: {q.value:g} is not in the quote"
            continue
        if q.kind == "number":
            continue
        if any(_compatible(q, e, same_lang) for e in same):
            if q.kind != "count" or q.unit is None:
                continue
            forms = _noun_forms(q.unit, lang)
            # Rejected only when the quote's own noun for this value is known ("11 sacks") and the
            # claim's noun counts another number there ("four fumbles").
            if any(_counts(e, forms, lang) or e.unit is None for e in same) \
                    or not any(_counts(e, forms, lang) for e in ev):
                continue
            return f"number: '{q.unit}' goes with another number in the quote"
        known = [e for e in same if e.kind != "number"]
        return f"number: {q.value:g} is {_describe(q)} in the claim but {_describe(known[0])} in the quote"
    return None


def _compatible(q: Quantity, e: Quantity, same_lang: bool) -> bool:
    if e.kind == "number":
        return True
    if q.kind != e.kind:
        return False
    if q.kind == "money":
        return q.unit is None or e.unit is None or q.unit == e.unit
    if q.kind in ("duration", "measure"):
        return q.unit == e.unit
    if q.kind == "count" and same_lang and q.unit and e.unit:
        forms = _noun_forms(q.unit, "en" if detect_language(q.unit) == "en" else "fr")
        return _counts(e, forms | {q.unit}, "fr") or stems_match(stem(q.unit, "en"), stem(e.unit, "en")) \
            or stems_match(stem(q.unit, "fr"), stem(e.unit, "fr"))
    return True


# ---------------------------------------------------------------------------
# Dates bound to their event.

def check_dates(claim: str, evidence: str, lang: str | None = None) -> str | None:
    """A reason when a date of the claim belongs to another event in the quote.

    The event is what the claim's clause holding the date says (the whole
    claim when that clause is only the date). The quote's clause holding the
    same date (a clause that is only the date, "Le 3 mai 2013,", takes the
    next one) must hold a word of that event. It is rejected when it holds
    none while another part of the quote holds an ordinary word of the event,
    or, in the same language, when two or more event words are nowhere in the
    quote (one missing word is often a synonym: "started" for "begun").

    >>> check_dates("Marie Curie tombe malade le 7 novembre 1867.",
    ...             "Marie Curie, née le 7 novembre 1867 à Varsovie, est morte le 4 juillet 1934 à Passy.")
    'date: 7 novembre 1867 belongs to another event in the quote'
    >>> check_dates("The Super Bowl was last held in the Miami area in 2010.", "The Miami area has hosted "
    ...             "the event 10 times, with the most recent one being Super Bowl XLIV in 2010.")
    >>> check_dates("Marie Curie est morte en 1934.",
    ...             "Marie Curie, née le 7 novembre 1867 à Varsovie, est morte le 4 juillet 1934 à Passy.")
    """
    claim_marks = date_marks(claim)
    if not claim_marks:
        return None
    lang = lang or detect_language(claim)
    ev_lang = detect_language(evidence)
    date_words = {fold(claim[s:e]) for s, e, *_ in claim_marks}
    leave_out = set(claim_subject(claim)) | {w for d in date_words for w in d.split()} | set(MONTHS)
    claim_spans = clauses(claim)
    spans = clauses(evidence)
    ev_marks = date_marks(evidence)
    for s, e, precision, year, month, day in claim_marks:
        found = [m for m in ev_marks if m[3] == year and (precision == "year" or m[2] == "year"
                                                          or (m[4] == month and (precision == "month" or m[5] == day)))]
        if not found:
            if ev_marks and precision == "day" and any(m[3] == year for m in ev_marks):
                return f"date: {claim[s:e]} is not in the quote"
            continue
        part = next((claim[cs:ce] for cs, ce in claim_spans if cs <= s < ce and content_besides_date(claim[cs:ce])),
                    claim)
        terms = [f for f in claim_terms(part, lang, leave_out) if not any(x[:1].isdigit() for x in f)]
        if not terms:
            continue
        ok = False
        for m in found:
            i = next((k for k, (cs, ce) in enumerate(spans) if cs <= m[0] < ce), None)
            if i is None:
                ok = True
                break
            cs, ce = spans[i]
            # A clause that is only the date, or followed by its complement ("announced on
            # October 16, 2012, that ..."), takes the next clause.
            if i + 1 < len(spans) and COMPLEMENT.match(evidence, spans[i + 1][0]):
                ce = spans[i + 1][1]
            if term_hits(terms, evidence[cs:ce]):
                ok = True
                break
            # A comma can part a date from its event ("The area has hosted the event 10 times,
            # with the most recent one being Super Bowl XLIV in 2010"): a sentence that holds
            # this date and no other can only date the event it tells.
            sentence = next(((a, b) for a, b in sentence_spans(evidence) if a <= m[0] < b), None)
            if sentence and term_hits(terms, evidence[sentence[0]:sentence[1]]) \
                    and sum(sentence[0] <= x[0] < sentence[1] for x in ev_marks) == 1:
                ok = True
                break
        if ok:
            continue
        # Elsewhere counts ordinary words only: names sit in appositions ("Harvey Martin, co-MVP of
        # Super Bowl XII, who died in 2001") and do not tell which event the date belongs to.
        words = claim_terms(part, lang, leave_out, words_only=True)
        if term_hits(words, evidence) or (lang == ev_lang and len(words) >= 2):
            return f"date: {claim[s:e]} belongs to another event in the quote"
    return None




# The meaning checks by name. A planted instruction is always checked (it is not optional).
MEANING_CHECKS = ("numbers", "negation", "actor", "dates")
# The ones the answer pipeline rejects support on by default. Measured on held-out
# questions (answers re-verified from the same raw words, `rag.eval.reverify`), the actor,
# negation and date checks rejected right and wrong answers alike: without them the outside
# tune split went from accuracy 0.69 to 0.77 (English questions) and 0.45 to 0.52 (French),
# a new SQuAD split (eval/fresh, tune) from 0.67 to 0.71, with the share of wrong answers
# shown unchanged or lower and dev unchanged. The number check does sort (without it,
# more wrong answers are kept), so it stays. ``Settings.strict_checks`` turns all on.
DEFAULT_CHECKS = ("numbers",)


def meaning_reason(claim: str, evidence: str, checks: tuple[str, ...] = MEANING_CHECKS) -> str | None:
    """The first meaning check in ``checks`` that rejects ``evidence`` as support for ``claim``, or None.

    >>> meaning_reason("OpenAI has 1.5 billion employees.",
    ...                "Les coûts atteignent 7 milliards, ajoutés à environ 1,5 milliard de dollars en personnel.")
    'number: 1.5e+09 is count (employees) in the claim but money (USD) in the quote'
    >>> meaning_reason("OpenAI will lose about 5 billion dollars.", "OpenAI perdra environ 5 milliards de dollars.")
    >>> meaning_reason("OpenAI will not lose money.", "OpenAI perdra de l'argent.", checks=("numbers",))
    """
    reason = check_instruction(evidence)
    if reason:
        return reason
    lang = detect_language(claim)
    named = {"numbers": check_numbers, "negation": check_negation, "actor": check_actor, "dates": check_dates}
    for name in checks:
        reason = named[name](claim, evidence, lang)
        if reason:
            return reason
    return None

