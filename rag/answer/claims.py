"""Meaning checks the support judge applies after word coverage.

Word coverage accepts a quote that shares a claim's words but not its meaning:
"OpenAI has 1.5 billion employees" against "1,5 milliard de dollars en
personnel", an action credited to the wrong actor, a birth date given as the
date someone fell ill. Each check here looks at one way a claim can share the
words and still say something else, and returns a short reason when it rejects
(``None`` when it has nothing against the pair):

* :func:`check_instruction`: a quote that gives orders to an AI ("Ignorez les
  instructions…", "SYSTEM: …", "answer that …") is never evidence;
* :func:`check_numbers` (:mod:`rag.answer.quantities`): each number of the claim counts the same kind of thing
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
    names_in,
    same_date,
    stems_match,
    subject,
    term_hits,
    words_in,
)
from rag.answer.events import check_claimed_event, same_year_after
from rag.answer.injection import check_instruction, is_instruction, mask_injections
from rag.answer.negation import check_negation, negated
from rag.answer.quantities import Quantity, check_numbers, quantities
from rag.news.dates import MONTHS
from rag.text.analysis import detect_language, fold, stem
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
    for mark in claim_marks:
        s, e, precision, year, *_ = mark
        found = same_date(mark, ev_marks)
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
            # "… meurt le 4 février 1893. La même année, elle tombe malade.": the year goes on.
            carried = same_year_after(evidence, m, sentence_spans(evidence)) if precision == "year" else None
            if carried and term_hits(terms, carried):
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
MEANING_CHECKS = ("numbers", "events", "negation", "actor", "dates")
# The ones the answer pipeline rejects support on by default. Measured on held-out
# questions (answers re-verified from the same raw words, `rag.eval.reverify`), the actor,
# negation and date checks rejected right and wrong answers alike: without them the outside
# tune split went from accuracy 0.69 to 0.77 (English questions) and 0.45 to 0.52 (French),
# a new SQuAD split (eval/fresh, tune) from 0.67 to 0.71, with the share of wrong answers
# shown unchanged or lower and dev unchanged. The number check does sort (without it,
# more wrong answers are kept), so it stays. ``Settings.strict_checks`` turns all on.
# The life-event check (a date that is a birth, death or marriage in the quote, of none of
# which the claim speaks; :mod:`rag.answer.events`) is the part of the date check that does
# not depend on how the claim words its event, and is on as well.
DEFAULT_CHECKS = ("numbers", "events")


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
    named = {"numbers": check_numbers, "events": check_claimed_event, "negation": check_negation,
             "actor": check_actor, "dates": check_dates}
    for name in checks:
        # check_numbers finds the claim's language itself: one with no word telling it
        # ("3,4 billion dollars") has its numbers read both ways.
        reason = named[name](claim, evidence, None if name == "numbers" else lang)
        if reason:
            return reason
    return None

