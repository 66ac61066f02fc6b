"""Numbers bound to what they count: the meaning check :func:`check_numbers`.

"1,5 milliard de dollars en personnel" is money, not employees: each number of a
claim must count the same kind of thing in the quote (money, percent, year,
duration, measure, or the same noun). Pure functions over two strings, French or
English, used by :mod:`rag.answer.claims`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.clauses import (
    STOP,
    bare,
    date_marks,
    is_name_word,
    stems_match,
)
from rag.answer.markers import strip_markers
from rag.news.figures import concepts_in, find_figures, parse_number
from rag.text.analysis import LANGUAGES, analyze, detect_language, fold, marker_votes, stem
from rag.text.lexicon import translation_table
from rag.text.numbers import scale_exponent, scaled
from rag.text.sentences import sentence_spans

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
    "pound": "lb lbs",
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
# "1060s", "1990s": a decade, so a year, whatever noun follows ("In the 1060s, Crispin led…").
_DECADE = re.compile(r"s(?![^\W\d_])")
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
    >>> [(q.value, q.kind) for q in quantities("In the 1060s, Robert Crispin led the Normans.", "en")]
    [(1060.0, 'year')]
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
        elif in_date or (_YEAR_ONLY.fullmatch(word) and (not noun or _YEAR_BEFORE.search(text, 0, tok.start())
                                                      or _DECADE.match(text, tok.end()))):
            kind = "year"
        elif noun in _UNIT:
            kind, unit = ("duration" if _UNIT[noun] in _DURATIONS else "measure"), _UNIT[noun]
        elif noun:
            kind, unit = "count", noun
        out.append(Quantity(value, kind, unit, tok.start(), end, tuple(after)))
    return out


def _same_value(a: float, b: float) -> bool:
    return abs(a - b) <= 0.005 * max(abs(a), abs(b))


def noun_forms(noun: str, lang: str) -> set[str]:
    other = "en" if lang == "fr" else "fr"
    st = stem(noun, lang)
    return {st, stem(noun, other), *translation_table()[lang].get(st, ())}


def counts_noun(q: Quantity, forms: set[str], lang: str) -> bool:
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

    A claim with no word that tells its language (a short answer: "3,4 billion dollars")
    is read both ways, "billion" being 10^9 in English and 10^12 in French:

    >>> check_numbers("3,4 billion dollars.", "OpenAI génère 3,4 milliards de dollars de revenus annuels.")
    """
    if lang is None:
        fr, en = marker_votes(claim)
        if fr == en:  # no telling: either reading of the claim's numbers will do
            first = detect_language(claim)
            reasons = [_check_numbers(claim, evidence, guess, evidence_lang)
                       for guess in (first, *(x for x in LANGUAGES if x != first))]
            return None if None in reasons else reasons[0]
    return _check_numbers(claim, evidence, lang, evidence_lang)


def _check_numbers(claim: str, evidence: str, lang: str | None, evidence_lang: str | None) -> str | None:
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
            forms = noun_forms(q.unit, lang)
            # Rejected only when the quote's own noun for this value is known ("11 sacks") and the
            # claim's noun counts another number there ("four fumbles").
            if any(counts_noun(e, forms, lang) or e.unit is None for e in same) \
                    or not any(counts_noun(e, forms, lang) for e in ev):
                continue
            return f"number: '{q.unit}' goes with another number in the quote"
        known = [e for e in same if e.kind != "number"]
        return f"number: {q.value:g} is {_describe(q)} in the claim but {_describe(known[0])} in the quote"
    return None


def _pounds(q: Quantity) -> bool:
    """Pounds, which French and English also name by the word for their currency."""
    return (q.kind == "money" and q.unit == "GBP") or (q.kind == "measure" and q.unit == "pound")


def _compatible(q: Quantity, e: Quantity, same_lang: bool) -> bool:
    """Whether quantity ``q`` of a claim may be quantity ``e`` of a quote.

    >>> claim, quote = quantities("66 livres.", "fr")[0], quantities("Each digit will weigh 33 lb, a total of 66 lb.", "en")[-1]
    >>> _compatible(claim, quote, False), _compatible(quantities("66 km.", "fr")[0], quote, False)
    (True, False)
    """
    if e.kind == "number":
        return True
    if _pounds(q) and _pounds(e):  # "66 livres" (a weight or a sum in French) against "66 lb"
        return True
    if q.kind != e.kind:
        return False
    if q.kind == "money":
        return q.unit is None or e.unit is None or q.unit == e.unit
    if q.kind in ("duration", "measure"):
        return q.unit == e.unit
    if q.kind == "count" and same_lang and q.unit and e.unit:
        forms = noun_forms(q.unit, "en" if detect_language(q.unit) == "en" else "fr")
        return counts_noun(e, forms | {q.unit}, "fr") or stems_match(stem(q.unit, "en"), stem(e.unit, "en")) \
            or stems_match(stem(q.unit, "fr"), stem(e.unit, "fr"))
    return True


# ---------------------------------------------------------------------------
# A bare number answering "how many X": what it counts is in the question.

_HOW_MANY = re.compile(
    r"\b(?:how\s+many|combien\s+(?:de|d['’])|(?:quel|le|the)\s+nombre\s+(?:de|d['’])|(?:the\s+)?number\s+of)\s*",
    re.IGNORECASE)
_MONEY_WORDS = frozenset("dollar dollars euro euros livre livres pound pounds usd eur argent money cash fonds funds".split())
_PERCENT_WORDS = frozenset("percent pourcent pourcentage percentage %".split())


def asked_kind(question: str) -> tuple[str, str | None] | None:
    """What a "how many X" question counts, as a quantity kind and unit; None for other questions.

    >>> asked_kind("Combien d'utilisateurs a Github Copilot ?"), asked_kind("How many NFL teams played?")
    (('count', 'utilisateurs'), ('count', 'teams'))
    >>> asked_kind("How many years did he serve?"), asked_kind("Combien de milliards de dollars ?")
    (('duration', 'year'), ('money', None))
    >>> asked_kind("Combien OpenAI perd-elle ?") is None
    True
    >>> asked_kind("How many passing yards did he get?"), asked_kind("Combien de joueurs en 10 ans ?")
    (('measure', 'yard'), ('count', 'joueurs'))
    """
    m = _HOW_MANY.search(question)
    if not m:
        return None
    words = [(w, fold(bare(w))) for w in _NUMBER_TOKEN.findall(question[m.end():])[:4]]
    for i, (w, folded) in enumerate(words):
        if folded in _MONEY_WORDS or folded in _PERCENT_WORDS:
            return _amount_kind(folded)
        if folded in STOP or is_name_word(w) or scale_exponent(w, "fr") is not None \
                or scale_exponent(w, "en") is not None or _is_digits(w):
            continue
        # The noun may come after an English adjective: "how many passing yards".
        after = words[i + 1][1] if i + 1 < len(words) else ""
        return _amount_kind(folded) or _amount_kind(after) or ("count", folded)
    return None


def _amount_kind(word: str) -> tuple[str, str | None] | None:
    """The kind and unit a folded word names (money, percent, duration, measure), or None."""
    if word in _MONEY_WORDS:
        return "money", None
    if word in _PERCENT_WORDS:
        return "percent", "%"
    if word in _UNIT:
        return ("duration" if _UNIT[word] in _DURATIONS else "measure"), _UNIT[word]
    return None


# Kinds of amount no "how many X" counts unless X is one of them.
_NEVER_COUNTED = frozenset({"money", "percent"})


def check_asked_count(question: str, answer: str, evidence: str, lang: str | None = None,
                      evidence_lang: str | None = None) -> str | None:
    """A reason when ``answer``, a bare number to a "how many X" question, is in the evidence
    only as an amount of another kind: "10" to "Combien d'utilisateurs a Copilot ?" against
    "les utilisateurs paient 10 dollars par mois". A count is compared by kind only (money,
    percent, year, duration, measure): which noun a crowd question counts ("how many times")
    and which one the article writes ("three Super Bowls") often differ.

    >>> check_asked_count("Combien d'utilisateurs a Github Copilot ?", "10 [1]",
    ...                   "Les utilisateurs paient 10 dollars par mois d'abonnement à Copilot.")
    'number: 10 counts utilisateurs in the question but is money (USD) in the quote'
    >>> check_asked_count("Combien d'utilisateurs paient ?", "10", "Ils sont 10 à payer.")
    >>> check_asked_count("How many times did they win?", "3", "They won 3 Super Bowls.")
    >>> check_asked_count("Le centre fait combien de pieds carrés ?", "83,000", "An 83,000 square foot building.")

    An answer that says itself it is money or a share does not count what was asked, whatever
    the quote says:

    >>> check_asked_count("How many paying subscribers does Copilot have?", "10 dollars per month [1].",
    ...                   "Copilot costs 10 dollars per month.")
    'number: the question counts paying, the answer gives money (USD)'
    >>> check_asked_count("La réforme a pris combien de temps ?", "trois ans [1]", "Elle a pris trois ans.")
    >>> check_asked_count("Combien d'argent OpenAI a-t-elle levé ?", "11,3 milliards de dollars", "11,3 milliards de dollars")
    """
    asked = asked_kind(question)
    if asked is None:
        return None
    lang = lang or detect_language(question)
    said = quantities(strip_markers(answer), lang)
    if len(said) == 1 and said[0].kind in _NEVER_COUNTED and said[0].kind != asked[0]:
        # The answer itself says it is money or a share: "10 dollars per month" to "How many paying
        # subscribers does Copilot have?". The quote may well say that amount; it is not what was
        # asked. Durations and measures are left alone: the noun a question counts is often vague
        # ("combien de temps" is answered "trois ans").
        what = asked[1] if asked[0] == "count" else _describe(Quantity(0, asked[0], asked[1], 0, 0))
        return f"number: the question counts {what}, the answer gives {_describe(said[0])}"
    if len(said) != 1 or said[0].kind != "number":
        return None  # the answer says what it counts (the number check's business), or is no figure
    value = said[0].value
    same = [e for e in quantities(evidence, evidence_lang or detect_language(evidence)) if _same_value(e.value, value)]
    kind, unit = asked

    def fits(e: Quantity) -> bool:
        if e.kind in ("number", "count"):
            return True  # the noun after a number says little: "83,000 square feet" reads as a count
        return kind != "count" and e.kind == kind and (unit is None or e.unit in (None, unit))

    if not same or any(fits(e) for e in same):
        return None
    what = unit if kind == "count" else _describe(Quantity(value, kind, unit, 0, 0))
    return f"number: {value:g} counts {what} in the question but is {_describe(same[0])} in the quote"


# ---------------------------------------------------------------------------
# An amount answering "how much did X lose / spend / raise": what the amount is in the quote.

# Concepts of rag.news.figures that name what an amount is; growth, jobs and layoffs do not.
_MONEY_CONCEPTS = ("loss", "profit", "revenue", "spending", "funding", "valuation", "investment", "price")
# Concepts a reader takes one for the other: money raised is invested; invested money is spent;
# what a company "earns" is its revenue or its profit.
_RELATED = ({"funding", "investment"}, {"spending", "investment"}, {"revenue", "profit"}, {"spending", "price"})


def _money_concepts(keywords: tuple[str, ...] | list[str]) -> set[str]:
    found = {k for k in keywords if k in _MONEY_CONCEPTS}
    for group in _RELATED:
        if found & group:
            found |= group
    return found


def asked_money(question: str) -> set[str]:
    """The financial concepts a question asks an amount of, by :data:`rag.news.figures.CONCEPTS`.

    >>> sorted(asked_money("Quel est le chiffre d'affaires annuel d'Anthropic ?"))
    ['profit', 'revenue']
    >>> sorted(asked_money("How much is OpenAI expected to lose this year?")), asked_money("Qui dirige OpenAI ?")
    (['loss'], set())
    """
    return _money_concepts(concepts_in(question))


def check_asked_money(question: str, answer: str, evidence: str, lang: str | None = None) -> str | None:
    """A reason when ``answer``, one amount of money, is in the evidence only as another kind of
    amount than the question asks: "2,7 milliards" to "Quel est le chiffre d'affaires annuel
    d'Anthropic ?" against "Anthropic … devrait dépenser environ 2,7 milliards de dollars"
    (spending, not revenue). An amount whose words say nothing of what it is passes.

    >>> check_asked_money("Quel est le chiffre d'affaires d'Anthropic ?", "2,7 milliards de dollars [1].",
    ...                   "Anthropic devrait dépenser environ 2,7 milliards de dollars en 2024.")
    'number: 2.7e+09 is spending in the quote, the question asks for profit, revenue'
    >>> check_asked_money("How much is OpenAI expected to lose?", "5 billion dollars",
    ...                   "Cette année, OpenAI perdra environ 5 milliards de dollars.")
    """
    asked = asked_money(question)
    if not asked:
        return None
    lang = lang or detect_language(question)
    said = [f for f in find_figures(strip_markers(answer), lang=lang) if f.kind == "money"]
    if len(said) != 1:
        return None
    value = said[0].value
    ev_lang = detect_language(evidence)
    same = [f for s, e in sentence_spans(evidence) for f in find_figures(evidence[s:e], lang=ev_lang)
            if f.kind == "money" and _same_value(f.value, value)]
    if not same or any(not _money_concepts(f.keywords) or _money_concepts(f.keywords) & asked for f in same):
        return None
    what = ", ".join(sorted(k for k in same[0].keywords if k in _MONEY_CONCEPTS))
    return f"number: {value:g} is {what} in the quote, the question asks for {', '.join(sorted(asked))}"


def figures_not_in(answer: str, texts: list[str], language: str) -> bool:
    """True when the answer states an amount that none of ``texts`` contains.

    Amounts are compared with their scale words ("20 000 milliards" is 2e13,
    "20 billion" in English 2e10), the answer read in its own language.

    >>> figures_not_in("They could add 20 billion [1].", ["jusqu'à 20 000 milliards de dollars", "20 dollars"], "en")
    True
    >>> figures_not_in("Ils ajouteraient 20 000 milliards [1].", ["jusqu'à 20 000 milliards de dollars"], "fr")
    False
    """
    def amounts(text: str, langs: tuple[str, ...]) -> set[str]:
        out = set()
        for lang in langs:
            terms = analyze(text, lang)
            for i, t in enumerate(terms):
                if t.kind == "number":
                    nxt = terms[i + 1].surface if i + 1 < len(terms) else ""
                    out.add(scaled(t.text, nxt, lang) or t.text)
        return out

    known: set[str] = set().union(*(amounts(t, ("fr", "en")) for t in texts))
    return bool(amounts(strip_markers(answer), (language,)) - known)
