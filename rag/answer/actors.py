"""Who an answer belongs to: the question's named subject against the quote's actors.

A short answer is judged together with its question, and enough of their words can be in a
quote that gives the answer to someone else ("Combien Google prévoit-il de dépenser ?" answered
with "… Meta prévoit de dépenser jusqu'à 40 milliards"). :func:`question_subject` reads the
actor a question asks about, :func:`gives_to_another` whether the quote's clause holding the
answer belongs to another actor. Both read sentences with the clause tools of
:mod:`rag.answer.clauses` (a parser would do it better; none ships offline here with French
and English models small enough, so the rules are hand-written and each is a doctest).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answer.clauses import (
    _CAPITALISED_RUN,
    _NOT_FUNCTION,
    _PREPOSITIONS,
    ATTRIBUTION,
    STOP,
    WORD,
    bare,
    clauses,
    is_name_word,
    names_in,
    subject,
    words_in,
)
from rag.text.analysis import fold
from rag.text.sentences import sentence_spans

# Interrogative words that are not stop words ("How much did Google invest…").
_HOW_MUCH = frozenset({"much", "many"})
_INTERROGATIVE_PRONOUNS = frozenset({"qui", "quoi", "lequel", "laquelle", "lesquels", "lesquelles", "whom", "what", "which"})


def question_subject(question: str) -> tuple[str, ...]:
    """The named subject a question asks about: the run of names that follows its
    interrogative words, unless a preposition governs it; folded, empty when there is none or
    an ordinary word comes first (the question is then about that word's thing).

    >>> question_subject("How much did Google invest in Mistral AI?"), question_subject("Combien Meta prévoit-il ?")
    (('google',), ('meta',))
    >>> question_subject("Qui commentait le match avec Jim Nantz ?"), question_subject("What did Marlee Matlin translate?")
    ((), ('marlee', 'matlin'))
    >>> question_subject("What was the last game that Elway played?"), question_subject("Avec qui Jim Nantz commentait ?")
    ((), ('jim', 'nantz'))
    >>> question_subject("According to Juan Leon, how much could AI add?"), question_subject("Resources are bound to what?")
    (('ai',), ())
    >>> question_subject("OpenAI a-t-elle levé combien ?"), question_subject("Knute Rockne a entraîné qui ?")
    (('openai',), ('knute', 'rockne'))
    >>> question_subject("How many customers did Virgin Media have?"), question_subject("Combien d'employés compte Mistral ?")
    (('virgin', 'media'), ('mistral',))
    >>> question_subject("Combien de séismes la Californie connaît-elle ?"), question_subject("How many points were scored?")
    (('californie',), ())
    >>> question_subject("Which outlet said Microsoft would lose money?"), question_subject("Selon quel journal Meta perd-il ?")
    (('microsoft',), ('meta',))
    """
    run: list[str] = []
    governed = False
    counted: int | None = None  # words passed over after "how many" / "combien"
    text = question
    if source := _SOURCE_ASKED.match(question):
        text = question[source.end():]  # what the source said is what the question is about
    for s, e in clauses(text):  # "According to Juan Leon, how much…": the attribution is no subject
        if not ATTRIBUTION.match(text[s:e]):
            text = text[s:]
            break
    words = list(WORD.finditer(text))
    for i, m in enumerate(words):
        word = m.group()
        folded = fold(bare(word))
        first_only = i == 0 and not source and word[1:].islower() and (
            len(words) == 1 or not is_name_word(words[1].group()))
        if is_name_word(word) and folded not in _PREPOSITIONS and not first_only:
            if not governed:
                run.append(folded)
            continue  # a name after a preposition ("avec Jim Nantz") is a complement, whole
        if run:
            break
        if first_only and folded not in STOP:
            # A question's capitalised first word alone may be any word ("Resources are…",
            # "Contre quelle équipe…", "Copilot perte max ?"): it tells no subject.
            return ()
        if folded in _HOW_MUCH or folded == "combien":
            counted = 0  # what is counted comes next, and the subject after it
        if folded in _PREPOSITIONS and word.lower() not in _NOT_FUNCTION:
            governed = True
        elif folded in _INTERROGATIVE_PRONOUNS:
            governed = False  # "Avec qui Jim Nantz…": the preposition governs the pronoun
        elif not (folded in STOP and word.lower() not in _NOT_FUNCTION) and folded not in _HOW_MUCH:
            if counted is None or counted >= 4:
                return ()  # "What was the last game that Elway played…": the question is about the game
            # "How many customers did Virgin Media have?", "Combien d'employés compte Mistral AI ?":
            # the counted noun (and a verb before an inverted subject) is passed over.
            counted += 1
            governed = False
    return tuple(run)



def gives_to_another(answer: str, question: str, title: str, text: str, start: int, end: int,
                     same_names: Callable[[Sequence[str], Sequence[str]], bool] | None = None) -> bool:
    """Whether the quote ``text[start:end]`` (of an article titled ``title``) gives ``answer``, a
    short answer without markers, to another named actor than the one ``question`` asks about.

    "Combien Google prévoit-il de dépenser dans l'IA ?" was answered "40 milliards de dollars"
    from "… Meta prévoit de dépenser jusqu'à 40 milliards de dollars" (seeds-check): the judge
    reads the question and its answer together, and enough of their words are in the quote.
    The answer is refused when the question's named subject is neither in the quote, nor in
    the sentence before it (which a pronoun would refer to; anywhere before in the passage when
    the answer's clause holds a pronoun), nor in the article's title, while
    the clause of the quote holding the answer names someone else. A clause that names nobody
    but the question's other names ("Il a racheté YouTube pour 1,65 milliard") leaves it be.
    Across languages a name may be translated ("Virgin Mary" / "Vierge Marie"): with
    ``same_names`` (whether a word of the first list has a counterpart in the second, by the
    embedder's word vectors) such a name counts as present.

    >>> t = "OpenAI dépensera 5 milliards, mais Meta prévoit de dépenser 40 milliards."
    >>> [gives_to_another("40 milliards.", f"Combien {who} prévoit-il de dépenser ?", "Les coûts", t, 0, len(t))
    ...  for who in ("Google", "Meta", "OpenAI")]
    [True, False, True]
    >>> gives_to_another("Bernadette", "To whom did the Virgin Mary appear?", "Notre-Dame", "La Vierge Marie "
    ...                  "est apparue à Bernadette.", 0, 42, lambda a, b: "vierge" in b)
    False
    >>> t = "Google a grandi. Il a racheté YouTube pour 1,65 milliard."
    >>> gives_to_another("1,65 milliard.", "Combien Google a-t-il payé YouTube ?", "Le Web", t, 17, len(t))
    False
    >>> t = "Richard left Messina. A storm came. The boat carrying his fiancée Berengaria sank off Cyprus."
    >>> gives_to_another("Berengaria", "Who was Richard's fiancee?", "Normans", t, 36, len(t))
    False
    >>> t = "Teams include the NFL (Los Angeles Rams, Chargers); NHL (Los Angeles Kings, Anaheim Ducks)."
    >>> [gives_to_another(a, "Who does the NHL have besides the Anaheim Ducks?", "Sport", t, 0, len(t))
    ...  for a in ("Los Angeles Kings", "Los Angeles Rams")]
    [False, True]
    >>> t = "Mistral AI a des soutiens, tels que l'investissement de 16 millions de dollars de Microsoft."
    >>> [gives_to_another("16 millions de dollars", f"Combien {who} a-t-il dépensé ?", "Mistral AI", t, 0, len(t))
    ...  for who in ("Mistral AI", "Microsoft")]
    [True, False]
    >>> apposition = "Ed Lee a parlé. Jane Kim, élue de la ville, a demandé que la NFL rembourse 5 millions."
    >>> coordinated = "CBS broadcast Super Bowl 50 in the U.S., and charged $5 million for a commercial."
    >>> [gives_to_another(a, q, "NFL", t, 0, len(t)) for a, q, t in [
    ...     ("5 millions", "Combien Ed Lee a-t-il demandé à la NFL ?", apposition),
    ...     ("$5 million", "How much was Coldplay paid for the show?", coordinated)]]
    [True, True]
    >>> t = "OpenAI dépensera 5 milliards, mais selon le New York Times, Meta prévoit de dépenser 40 milliards."
    >>> right = "Selon The Information, cette année, le créateur de ChatGPT perdra environ 5 milliards."
    >>> [gives_to_another(a, "Which outlet said OpenAI would lose $5 billion?", "OpenAI", q, 0, len(q))
    ...  for a, q in [("The New York Times", t), ("The Information", right)]]
    [True, False]
    """
    # Two-letter names are acronyms that languages write apart ("AI" / "IA"): they tell nothing.
    who = {w for w in question_subject(question) if len(w) > 2}
    if not who or _ASKED_KIND.search(question):
        return False  # no named subject, or the name is what is asked for ("Which Panther…?")
    before = [a for a, b in sentence_spans(text) if b <= start]
    # A name is written alike in both languages but for its ending ("Panther"/"Panthers",
    # "Catholic"/"catholiques"): its first five letters stand for it.
    heads = {w[:5] for w in who}

    def present(where: str) -> bool:
        words = words_in(where)
        # "Notre-Dame" in a title holds the question's "Notre Dame": a hyphenated word's parts count.
        parts = {part for w in words for part in w.split("-")}
        return bool(heads & {w[:5] for w in words | parts}) or (
            same_names is not None and bool(words) and same_names(sorted(who), sorted(words)))

    quote = text[start:end]
    folded = quote.lower()
    answer_words = re.findall(r"\w[\w'’.,-]*\w|\w", answer)
    # Where the answer sits: the whole answer first ("Los Angeles Kings" among "Los Angeles
    # Rams, … Los Angeles Kings"), else its first figure ("Plus de 13"), else its first word
    # that is not a filler.
    inner = [i for i, w in enumerate(answer_words) if w.lower() not in _ANSWER_FILLERS]
    spot = folded.find(" ".join(answer_words[inner[0]:inner[-1] + 1]).lower()) if inner else -1
    kept = [answer_words[i] for i in inner]
    for word in sorted(kept, key=lambda w: not any(c.isdigit() for c in w)) if spot < 0 else ():
        if (spot := folded.find(word.lower())) >= 0:
            break
    if spot < 0:
        return False  # the answer is not written in the quote as such (translated): nothing to tell
    spans = clauses(quote)
    i = next((k for k, (a, b) in enumerate(spans) if a <= spot < b), None)
    if i is None:
        part = quote
    elif _names_source(quote[spans[i][0]:spans[i][1]]):
        # The answer is a source ("mais selon le New York Times, Meta prévoit de dépenser…"): the
        # claim it belongs to is what the source reports, the rest of its sentence (the clause
        # before when the source comes last: "…, selon le Journal.").
        a, b = spans[i]
        sentence = next(((x, y) for x, y in sentence_spans(quote) if x <= spot < y), (0, len(quote)))
        later = [(x, y) for x, y in spans if x >= b and y <= sentence[1]]
        earlier = [(x, y) for x, y in spans if y <= a and x >= sentence[0]]
        part = quote[later[0][0]:later[-1][1]] if later else quote[earlier[-1][0]:earlier[-1][1]] if earlier else quote
    else:
        a, b = spans[i]
        rest = set(words_in(quote[a:b])) - {fold(bare(w)) for w in answer_words}
        if len(rest) <= 1 and i + 1 < len(spans):
            b = spans[i + 1][1]  # a clause that is only the answer ("Around 1899,") tells what the next does
        if i > 0 and _COORDINATED.match(quote[a:b]):
            a = spans[i - 1][0]  # "CBS broadcast the game, and charged $5 million…": the subject is before
        elif i > 1 and _AUXILIARY.match(quote[a:b]):
            # "Jane Kim, membre du conseil, a fait pression…": a clause opened by its verb has its
            # subject before the apposition between the commas.
            a = spans[i - 2][0]
        part = quote[a:b]
    if present(part):
        return False
    others = names_in(question) | names_in(answer) | names_in(title)
    # A figure followed by its owner ("l'investissement de 16 millions de dollars de Microsoft")
    # is that owner's, whoever the clause's subject is.
    owner = _OWNER.match(quote, spot)
    if owner and (run := _CAPITALISED_RUN.match(quote, owner.end())):
        if names_in(run.group()) - others and not present(run.group()):
            return True
    # A pronoun in the answer's clause ("his fiancée Berengaria") refers to someone named
    # before: anywhere earlier in the passage, not only in the sentence before.
    refers_back = bool(_REFERRING.intersection(w.lower() for w in WORD.findall(part)))
    named_near = present(f"{title} {text[0 if refers_back else before[-1] if before else start:end]}")
    if named_near:
        # The question's subject is nearby but not in the answer's clause, whose own named
        # subject is another ("OpenAI dépensera 5 milliards, mais Meta prévoit de dépenser 40").
        return bool(set(subject(part)) - others)
    return bool(names_in(part) - others)


# "Which Panther tipped…", "Quel joueur des Panthers…": the name after the interrogative is the
# kind of answer asked for, not an actor the answer must belong to.
_ASKED_KIND = re.compile(r"^\W*(?i:which|what|whose|quel|quelle|quels|quelles|lequel|laquelle)\s+[A-ZÀ-Ö]")

# A question asking which source reported something: "Which outlet said …", "Quel journal a
# affirmé que …", "Selon quel média …", "According to whom, …".
_SOURCE_ASKED = re.compile(
    r"^\W*(?:(?:which|what)\s+[\w-]+(?:\s+[\w-]+)?|who)\s+(?:has\s+|had\s+)?(?:said|says|reported|reports|wrote|writes"
    r"|claimed|claims|estimated|estimates|predicted|predicts|announced|announces|revealed|reveals|warned|warns)"
    r"\s+(?:that\s+)?"
    r"|^\W*(?:quel(?:le)?s?\s+[\w-]+(?:\s+[\w-]+)?|qui)\s+(?:a\s+|avait\s+)?(?:dit|affirmé|affirme|écrit|rapporté"
    r"|rapporte|annoncé|annonce|estimé|estime|révélé|révèle|prédit|prévu)\s+(?:en\s+\w+\s+)?(?:que\s+|qu['’])"
    r"|^\W*(?:selon|d['’]apr[eè]s)\s+(?:qui|quel(?:le)?s?\s+[\w-]+)\s*,?\s*"
    r"|^\W*according\s+to\s+(?:whom|which\s+[\w-]+|what\s+[\w-]+)\s*,?\s*",
    re.IGNORECASE)

# A conjunction that may open a clause naming a source ("mais selon X").
_CONJUNCTION = re.compile(r"^\W*(?:mais|et|or|but|and|yet)\s+", re.IGNORECASE)


def _names_source(clause: str) -> bool:
    """Whether a clause names a source: "selon X", "mais selon X", "according to X".

    >>> _names_source("mais selon le New York Times"), _names_source("Meta prévoit de dépenser")
    (True, False)
    """
    conjunction = _CONJUNCTION.match(clause)
    return bool(ATTRIBUTION.match(clause[conjunction.end():] if conjunction else clause))

# A figure, its scale and unit, then "de / of / by" and a capitalised name: the figure's owner.
_OWNER = re.compile(r"[\d.,\u00a0 ]*\d(?:[\s\u00a0]*(?i:%|\$|€|£|pour\s?cent|percent|millions?|milliards?|billions?"
                    r"|thousands?|mille|dollars?|euros?|livres|pounds|de|d['’]))*[\s\u00a0]+(?i:de|d['’]|du|of|by|par)"
                    r"[\s\u00a0]*(?=[A-ZÀ-ÖØ-Þ])")

# A clause opened by an auxiliary verb, whose subject stands before an apposition.
_AUXILIARY = re.compile(r"^\W*(?:a|ont|est|sont|avait|avaient|était|étaient|has|have|had|is|are|was|were)\s", re.IGNORECASE)

# A clause opened by a coordinating conjunction shares the subject of the clause before it.
_COORDINATED = re.compile(r"^\W*(?:and|or|then|et|ou|puis)\s", re.IGNORECASE)

# Third-person pronouns and possessives that refer to someone named earlier ("il" and "it",
# often impersonal, are left out).
_REFERRING = frozenset("he she they him them his her their its lui elle elles ils son sa ses leur leurs".split())

# Words an answer opens with that say nothing of where it sits in its quote.
_ANSWER_FILLERS = frozenset("le la les l un une des de du en à au aux the a an in on at of by environ about".split())
