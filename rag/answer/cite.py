"""Citation verification: check each cited sentence against the passages, renumber.

Nothing reaches the user as a citation unless the support judge (the same one
``rag eval`` uses) says the cited passage supports the sentence. Every kept
citation carries the exact supporting sentence(s) as its quote, with document
offsets, so a reader can check it in one glance.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.answer.actors import gives_to_another
from rag.answer.claims import (  # the planted-instruction detector lives with the judge's checks
    DEFAULT_CHECKS,
    mask_injections,
    meaning_reason,
)
from rag.answer.clauses import date_marks, names_in, without_title_names
from rag.answer.confirm import ConfirmFn, decide, first_confirmed
from rag.answer.echo import QUESTION_WORDS, adds_content
from rag.answer.events import check_event
from rag.answer.markers import answer_sentences, strip_markers
from rag.answer.precision import asked_year, check_asked_year, check_date_type
from rag.answer.quantities import asked_kind, asked_money, check_asked_count, check_asked_money
from rag.records import Citation, Passage
from rag.text.sentences import sentence_spans

if TYPE_CHECKING:
    from rag.text.analysis import Term

# Whether some word of the first list has a counterpart in the second, across languages.
WordMatch = Callable[[Sequence[str], Sequence[str]], bool]


def question_focus(question: str, lang: str) -> set[str]:
    """Content terms of the question that are not names: what is asked about.

    >>> sorted(question_focus("Combien d'employés compte Mistral AI ?", "fr"))
    ['compt', 'emploi']
    """
    from rag.text.analysis import analyze

    return {t.text for t in _focus_terms(analyze(question, lang))}


def _focus_terms(terms: Sequence[Term]) -> list[Term]:
    """The question's analysed terms that are what it asks about: words, not names or question words."""
    from rag.text.analysis import fold

    return [t for t in terms if t.kind == "word" and fold(t.surface) not in QUESTION_WORDS]


def addresses_question(question: str, lang: str, answer: str, quotes: Sequence[str],
                       word_match: WordMatch | None = None) -> bool:
    """Whether the answer, with its quotes, is about what the question asks.

    True facts about the right company do not answer "how many employees" when
    no word of the question's focus appears in the answer or its quotes. A
    question with no focus term (only names) is not checked.

    A quote in the other language is read through the bilingual lexicon and, with
    ``word_match`` (:meth:`rag.answer.align.WordAligner.any_match`), through the embedder:
    a focus word whose vector is close to one of the quote's words ("bay"/"baie") counts.

    >>> addresses_question("Combien d'employés compte Mistral AI ?", "fr",
    ...                    "Mistral AI a levé 600 millions d'euros [1].", ["Mistral AI a levé 600 millions d'euros."])
    False
    """
    from rag.text.analysis import analyze, detect_language, fold, tokenize
    from rag.text.lexicon import translate_stems

    asked_terms = analyze(question, lang)
    focus = {t.text for t in _focus_terms(asked_terms)}
    if not focus:
        return True
    found: set[str] = set()
    # The answer counts only when the passages are in the other language (then its
    # words cannot be compared with theirs): an answer that repeats the question's
    # words ("Les frais de scolarité … sont de 1,1 milliard [1]", cited to the
    # endowment) proves nothing about the passage (outside-fr, an unanswerable question).
    same_language = quotes and all(detect_language(q) == lang for q in quotes)
    for text in ([*quotes] if same_language else [answer, *quotes]):
        for text_lang in ("fr", "en"):
            found.update(tokenize(text, text_lang))
    focus |= set(translate_stems(sorted(focus), lang))
    if focus & found:
        return True
    foreign = [q for q in quotes if detect_language(q) != lang]
    if word_match is None or not foreign:
        return False
    asked = sorted({t.surface for t in _focus_terms(asked_terms)})
    words = sorted({t.surface for q in foreign for t in analyze(q, detect_language(q)) if t.kind == "word"})
    if word_match(asked, words):
        return True
    # English capitalises titles ("Secretary of State"), which the analysis takes for names;
    # across languages they may be the common words the quote uses ("secrétaire d'État").
    # A name written the same in the quote (a sentence-initial "Newton") is a name, not that.
    names = sorted({t.surface for t in asked_terms if t.kind == "name"})
    folded = {fold(n) for n in names}
    return word_match(names, [w for w in words if fold(w) not in folded])


@dataclass
class VerifiedSentence:
    text: str
    sources: list[tuple[int, int, int, bool]] = field(default_factory=list)  # (passage idx, start, end, supported)

    @property
    def supported(self) -> bool:
        return any(s[3] for s in self.sources)


@dataclass
class Verification:
    answer: str
    citations: list[Citation]
    unsupported_sentences: list[str]
    sentences: list[VerifiedSentence]

    @property
    def any_supported(self) -> bool:
        return any(s.supported for s in self.sentences)


SupportsFn = Callable[[str, str], bool]

_FIGURE = re.compile(r"\d{1,3}(?:[ ,.\u00a0\u202f]\d{3})+(?!\d)|\d+(?:[.,]\d+)?")


def _figures(text: str) -> set[str]:
    """The numbers written in digits in ``text``, without separators ("1 500" = "1,500" = "1500").

    Separators are dropped rather than read (as :func:`rag.news.figures.parse_number` would),
    so a figure of a French question and of an English passage compare without deciding
    what each language's comma means.

    >>> sorted(_figures("En 2023, 1 500 ou 2,7 milliards ; Super Bowl 50"))
    ['1500', '2023', '27', '50']
    """
    return {re.sub(r"[ ,.\u00a0\u202f]", "", m) for m in _FIGURE.findall(text)}


def meaning_only(checks: tuple[str, ...] | None = None) -> SupportsFn:
    """A judge of the meaning checks alone (:func:`rag.answer.claims.meaning_reason`), without word
    coverage: for a phrase and a sentence in two languages, whose words it cannot compare.

    >>> ok = meaning_only(("numbers",))
    >>> ok("1,5 billion employees [1].", "1,5 milliard de dollars en personnel."), ok("Les ducs.", "The dukes.")
    (False, True)
    """
    chosen = DEFAULT_CHECKS if checks is None else checks
    return lambda claim, quote: meaning_reason(strip_markers(claim), quote, chosen) is None


def answering(supports: SupportsFn, question: str, answer: str, language: str) -> SupportsFn:
    """``supports``, with the checks that a bare number answering "how many X" counts X in
    the evidence, not an amount of money or a year there
    (:func:`rag.answer.quantities.check_asked_count`: "10" to "How many subscribers does
    Copilot have?" against "les utilisateurs paient 10 dollars par mois"), and that an amount
    answering "how much did X lose / spend / raise" is that there
    (:func:`rag.answer.quantities.check_asked_money`: "5 billion" to "How much is OpenAI
    expected to lose?" is not read from "OpenAI dépensera environ 5 milliards"), and that a
    date is not, in the evidence, a birth, death or marriage the question does not ask about
    (:func:`rag.answer.events.check_event`: "le 8 mars 1575" to "En quelle année Böhme
    tombe-t-il malade ?" is not read from "né le 8 mars 1575"), and that a figure answering a
    question about one year is not another year's there (:func:`rag.answer.precision.check_asked_year`).

    >>> ok = answering(lambda claim, evidence: True, "Combien d'abonnés a Copilot ?", "10 [1].", "fr")
    >>> ok("10", "Les abonnés paient 10 dollars par mois."), ok("10", "Copilot compte 10 abonnés.")
    (False, True)
    """
    if check_date_type(question, answer):  # "3 juillet 1826" to "Où est né Lucien Marquèze ?"
        return lambda claim, evidence: False
    dated = bool(date_marks(answer))
    of_year = asked_year(question) is not None  # "Combien d'habitants en 1911 ?": not 2020's figure
    if asked_kind(question) is None and not asked_money(question) and not dated and not of_year:
        return supports
    return lambda claim, evidence: supports(claim, evidence) and \
        check_asked_count(question, answer, evidence, language) is None and \
        check_asked_money(question, answer, evidence, language) is None and \
        (not dated or check_event(question, answer, evidence) is None) and \
        (not of_year or check_asked_year(question, answer, evidence) is None)


def _sentence_offsets(passage: Passage) -> list[tuple[int, int]]:
    """The document offsets of ``passage``'s sentences."""
    return [(passage.start + s, passage.start + e) for s, e in sentence_spans(passage.text)]


def best_quote(claim: str, passage: Passage, judge_supports: SupportsFn,
               judge_score: Callable[[str, str], float]) -> tuple[int, int, bool]:
    """The sentence (or two adjacent sentences) of ``passage`` that best support ``claim``.

    Returns document offsets ``(start, end)`` and whether that quote alone supports the claim.
    """
    spans = _sentence_offsets(passage)
    if not spans:
        return passage.start, passage.end, False

    def text_of(a: int, b: int) -> str:
        return passage.text[a - passage.start:b - passage.start]

    scored = sorted(((judge_score(claim, text_of(s, e)), s, e) for s, e in spans), reverse=True)
    for _, s, e in scored[:3]:
        if judge_supports(claim, text_of(s, e)):
            return s, e, True
    for (s1, _), (_, e2) in zip(spans, spans[1:]):
        if judge_supports(claim, text_of(s1, e2)):
            return s1, e2, True
    _, s, e = scored[0]
    return s, e, False


def shortest_support(claim: str, passage: Passage, judge_supports: SupportsFn) -> tuple[int, int]:
    """The shortest run of three or more sentences of ``passage`` that supports ``claim``, the
    first in reading order among equals, as document offsets; the whole passage when none does.

    For a claim no sentence or pair of sentences supports (:func:`best_quote`): a passage
    merges adjacent chunks (up to about 1,000 characters), and quoting all of it for "Le New
    York Times [1]" points to no sentence at all.

    >>> p = Passage(1, "a.txt", "c", 10, 80, 0.5, "Rien. Le journal est le Times. Puis rien. Il a alerté. Fin.")
    >>> both = lambda claim, quote: "Times" in quote and "alerté" in quote
    >>> s, e = shortest_support("Le Times a alerté.", p, both)
    >>> p.text[s - p.start:e - p.start]
    'Le journal est le Times. Puis rien. Il a alerté.'
    >>> shortest_support("Le Times a alerté.", p, lambda claim, quote: len(quote) > 60) == (p.start, p.end)
    True
    """
    spans = _sentence_offsets(passage)
    for size in range(3, len(spans)):
        for i in range(len(spans) - size + 1):
            s, e = spans[i][0], spans[i + size - 1][1]
            if judge_supports(claim, passage.text[s - passage.start:e - passage.start]):
                return s, e
    return passage.start, passage.end


_GLOSSED_PERIOD = re.compile(r"\s*\((?:[a-zéû]+\s+)?(?:\d{1,2}\s+)?(?:[a-zéû]+\s+)?\d{4}\)")


def verify_answer(answer: str, passages: Sequence[Passage], *, supports: SupportsFn,
                  score: Callable[[str, str], float], question: str = "", language: str = "fr",
                  confirm: ConfirmFn | None = None, presupposed: str = "",
                  same_names: WordMatch | None = None) -> Verification:
    """Keep only citations whose passage supports their sentence; repair or flag the rest.

    For each answer sentence: markers out of range or not supporting are dropped;
    a sentence left without a valid marker gets the retrieved passage that best
    supports it, if one does; otherwise it is listed as unsupported (an in-range
    marker is kept for display with ``supported=False``). Markers are renumbered 1..n in
    order of appearance, one per distinct quote. Sentences that only repeat the
    question are left out of the answer.

    With ``confirm`` (:class:`rag.answer.confirm.Confirmer`), the LLM's odds overrule
    the lexical judge where they are clear: a sentence the judge accepted is flagged
    when the model says its passage does not state it, and one the judge rejected
    is kept, cited to the passage the model confirms.

    ``presupposed`` is what a short answer is claimed in the context of: "Phil Simms [1]"
    to "Qui commentait le match avec Jim Nantz ?" says that Phil Simms commented the
    match with Jim Nantz. Against a passage in the question's language the two are
    judged together, so a name the passage holds in another role is not support.
    Across languages the lexical judge cannot read the question's words, and the
    answer alone is judged. Either way the quote must not give the answer to another actor
    than the question's (:func:`rag.answer.actors.gives_to_another`; ``same_names`` matches a
    translated name there).
    """
    # The same (claim, evidence) pairs come up several times (marker check,
    # fallback search, quote choice): judge each once.
    score = functools.lru_cache(maxsize=None)(score)
    supports = functools.lru_cache(maxsize=None)(supports)
    shown, passages = passages, [mask_injections(p) for p in passages]  # judge without planted orders
    # A short answer is read where the question's own figures are ("en 2023", "Super Bowl 50"):
    # "How much did Meta spend in 2023?" is not answered by a passage without 2023.
    asked = _figures(presupposed)
    # An article's own date counts: "pour 2024" is answered by "cette année" in an article dated
    # 2024 (a real date; an inferred one is only a lower bound).
    figured = {i for i, p in enumerate(passages)
               if asked <= _figures(f"{p.title} {p.text} {p.date[:4] if p.date and not p.date_inferred else ''}")}
    verified: list[VerifiedSentence] = []
    for shown_text, markers in answer_sentences(answer):
        vs = VerifiedSentence(shown_text)
        # A period the prompt added after a relative date ("cette année (2024)") and the
        # model copied is judged without it: the article says "cette année".
        text = _GLOSSED_PERIOD.sub("", shown_text)
        if question and not adds_content(text, question, language):
            continue  # the question echoed back is not a claim: leave it out
        in_range = [m for m in markers if 1 <= m <= len(passages)]
        # The question binds a short answer: a "how many X" counts X, a "how much did X lose" is a loss.
        ok = answering(supports, presupposed, text, language) if presupposed else supports
        # Each passage is judged against the claim without the names only its article's
        # title gives it (:func:`rag.answer.clauses.without_title_names`).
        claims = [without_title_names(f"{presupposed} {text}" if presupposed and p.language == language else text,
                                      p.title, p.text) for p in passages]
        good = [m for m in in_range if m - 1 in figured and ok(claims[m - 1], passages[m - 1].text)]
        ranked: list[int] = []
        if not good:
            ranked = sorted(range(len(passages)), key=lambda i: -score(claims[i], passages[i].text))
            good = [i + 1 for i in ranked[:3] if i in figured and ok(claims[i], passages[i].text)][:1]
        if confirm is not None:
            good = _second_opinion(text, good, in_range, ranked, confirm)
        for m in good:
            s, e, alone = best_quote(claims[m - 1], passages[m - 1], ok, score)
            p = passages[m - 1]
            if presupposed and (_names_another(text, presupposed, p, p.text[s - p.start:e - p.start])
                                or gives_to_another(text, presupposed, p.title, p.text, s - p.start, e - p.start,
                                                    same_names)):
                continue
            if not alone:
                # Only several sentences together support the sentence (the name in one,
                # the fact in another): quote the shortest run of them that does, so the
                # quote shown is itself the support (`rag check` found such quotes).
                s, e = shortest_support(claims[m - 1], p, ok)
            vs.sources.append((m - 1, s, e, True))
        if not good and in_range:
            m = in_range[0]
            s, e, _ = best_quote(claims[m - 1], passages[m - 1], ok, score)
            vs.sources.append((m - 1, s, e, False))
        verified.append(vs)
    return _renumber(verified, shown)


def _names_another(answer: str, question: str, passage: Passage, quote: str) -> bool:
    """Whether ``answer`` is only the article's title subject while its quote names someone else.

    A passage seldom names its article's subject ("la société", "il"), so a short answer naming
    it is judged without it (:func:`rag.answer.clauses.without_title_names`), and the claim left
    is the question alone, which the passage answers. Right when the sentence is about that
    subject ("La « perle de l'Afrique » devient un modèle", in the article "Ouganda"); wrong
    when it names another candidate: "Pour quelle société travaille Matt Stephenson ?" got the
    title's "Mistral AI" against "dont Matt Stephenson de Pantera Capital".

    >>> p = Passage(1, "m.txt", "c", 0, 80, 0.5, "Les voix, dont Matt Stephenson de Pantera Capital, sont d'accord.",
    ...             title="Le financement de Mistral AI")
    >>> _names_another("Mistral AI.", "Pour quelle société travaille Matt Stephenson ?", p, p.text)
    True
    >>> _names_another("Pantera Capital.", "Pour quelle société travaille Matt Stephenson ?", p, p.text)
    False
    """
    if not names_in(answer) or names_in(without_title_names(answer, passage.title, passage.text)):
        return False  # the answer names something besides the title's subject, or nothing
    return bool(names_in(quote) - names_in(question) - names_in(passage.title) - names_in(answer))


def cite_located(answer: str, passage: Passage, start: int, end: int, supports: SupportsFn,
                 question: str = "", same_names: WordMatch | None = None) -> Verification | None:
    """A one-phrase answer cited to the sentence ``passage.text[start:end]`` when that
    sentence states it: every word of the phrase is in the sentence and the judge accepts
    the phrase alone against it, both without the names only the article's title gives.
    None otherwise, or when the answer holds several sentences.

    The caller chooses the sentence: :meth:`rag.answer.pipeline.AnswerPipeline.located`
    takes the evidence sentence that bears most on the question, so the phrase is read
    where the question points, not wherever its words occur. A sentence giving orders to
    an AI is never support (:func:`rag.answer.claims.mask_injections`).

    >>> p = Passage(1, "ouganda.txt", "c", 100, 160, 0.5, "Le pays croît. La « perle de l'Afrique » devient un modèle.",
    ...             title="Ouganda")
    >>> cite_located("L'Ouganda [1].", p, 15, 60, lambda claim, quote: False).citations[0].quote
    "La « perle de l'Afrique » devient un modèle."
    >>> cite_located("Le Kenya [1].", p, 15, 60, lambda claim, quote: True) is None
    True
    >>> cite_located("La perle [1].", p, 15, 60, lambda claim, quote: True).answer
    'La perle [1].'
    """
    phrase = _one_phrase(answer, passage, start, end)
    if phrase is None:
        return None
    shown_text, claim, quote = phrase
    from rag.text.analysis import tokenize

    # Every word of the phrase is in the sentence, as an extractive reader's span would be:
    # the judge's coverage threshold lets "39 spectateurs" through against "39 des 43
    # précédents MVP", which states a count of something else. No word left once the
    # title's names are out: the answer is the article's own subject ("L'Ouganda" for the
    # sentence about "la perle de l'Afrique" in the article "Ouganda").
    terms = set(tokenize(claim, passage.language))
    if terms and (not terms <= set(tokenize(quote, passage.language)) or not supports(claim, quote)):
        return None
    if question and (_names_another(shown_text, question, passage, quote)
                     or gives_to_another(shown_text, question, passage.title, passage.text, start, end,
                                         same_names)):
        return None  # the title's subject, or another actor's, where the sentence names another candidate
    return _cited_to(shown_text, passage, start, end)


def cite_across(answer: str, passage: Passage, start: int, end: int, supports: SupportsFn,
                aligned: Callable[[Sequence[str], Sequence[str]], bool], question: str = "",
                same_names: WordMatch | None = None) -> Verification | None:
    """:func:`cite_located` for a phrase in the other language than its sentence: each word of
    the phrase has a counterpart in the sentence (``aligned``, by word vectors: "ducs" /
    "dukes"), each name and figure is in it as written, and ``supports`` (the meaning checks, not word
    coverage, which cannot compare the two languages' words) accepts the pair; with ``question``,
    the quote must not give the answer to another actor than the question's
    (:func:`rag.answer.actors.gives_to_another`).

    >>> p = Passage(1, "n.txt", "c", 0, 60, 0.5, "The dukes used the Church to unify.", title="Normans",
    ...             language="en")
    >>> same = lambda words, others: all(w.lower()[:3] in {o.lower()[:3] for o in others} for w in words)
    >>> cite_across("Les ducs [1].", p, 0, 35, lambda claim, quote: True, lambda w, o: True).citations[0].quote
    'The dukes used the Church to unify.'
    >>> cite_across("Les comtes [1].", p, 0, 35, lambda claim, quote: True, same) is None
    True
    """
    from rag.text.analysis import analyze, fold

    phrase = _one_phrase(answer, passage, start, end)
    if phrase is None:
        return None
    shown_text, claim, quote = phrase
    terms = analyze(claim, "en" if passage.language == "fr" else "fr")
    quoted = analyze(quote, passage.language)
    surfaces = {fold(t.surface) for t in quoted} | {t.text for t in quoted}
    names = [t for t in terms if t.kind != "word"]
    words = [t.surface for t in terms if t.kind == "word"]
    if any(fold(t.surface) not in surfaces and t.text not in surfaces for t in names):
        return None
    if words and not all(aligned([w], [t.surface for t in quoted]) for w in words):
        return None
    if not supports(shown_text, quote):
        return None
    if question and gives_to_another(shown_text, question, passage.title, passage.text, start, end,
                                         same_names):
        return None
    return _cited_to(shown_text, passage, start, end)


def _one_phrase(answer: str, passage: Passage, start: int, end: int) -> tuple[str, str, str] | None:
    """For a one-sentence ``answer``: its text as shown, the claim judged (without a glossed
    period and the names only the article's title gives) and the quote
    ``passage.text[start:end]`` without planted orders; None for several sentences or no quote."""
    sentences = answer_sentences(answer)
    if len(sentences) != 1:
        return None
    shown_text, _ = sentences[0]
    quote = mask_injections(passage).text[start:end]
    if not quote.strip():
        return None
    return shown_text, without_title_names(_GLOSSED_PERIOD.sub("", shown_text), passage.title, passage.text), quote


def _cited_to(shown_text: str, passage: Passage, start: int, end: int) -> Verification:
    """``shown_text`` cited, supported, to ``passage.text[start:end]``."""
    return _renumber([VerifiedSentence(shown_text, [(0, passage.start + start, passage.start + end, True)])], [passage])


def _second_opinion(claim: str, good: list[int], in_range: list[int], ranked: list[int],
                    confirm: ConfirmFn) -> list[int]:
    """The judge's chosen markers, overruled by the LLM's clear odds (see :func:`verify_answer`)."""
    if good:
        return good if decide(True, confirm(claim, good[0] - 1)) else []
    candidates = list(dict.fromkeys([m - 1 for m in in_range] + ranked[:2]))
    found = first_confirmed(claim, candidates, confirm)
    return [] if found is None else [found + 1]


def _renumber(verified: list[VerifiedSentence], passages: Sequence[Passage]) -> Verification:
    numbers: dict[tuple[int, int, int, bool], int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    unsupported: list[str] = []
    for vs in verified:
        marks = []
        for src in vs.sources:
            if src not in numbers:
                numbers[src] = len(numbers) + 1
                idx, s, e, ok = src
                p = passages[idx]
                citations.append(Citation(
                    marker=numbers[src], doc_id=p.doc_id, title=p.title, chunk_id=p.chunk_id,
                    start=s, end=e, quote=p.text[s - p.start:e - p.start], supported=ok,
                    date=p.date, passage_start=p.start, passage_end=p.end,
                ))
            marks.append(f"[{numbers[src]}]")
        if not vs.supported:
            unsupported.append(vs.text)
        parts.append(_attach(vs.text, "".join(marks)))
    return Verification(" ".join(parts).strip(), citations, unsupported, verified)


def _attach(sentence: str, marks: str) -> str:
    """Put markers before the sentence's final punctuation.

    >>> _attach("Il perd 5 milliards.", "[1]")
    'Il perd 5 milliards [1].'
    """
    if not marks:
        return sentence
    m = re.search(r"[.!?…]+[»\"”’)]*$", sentence)
    if m:
        return f"{sentence[:m.start()].rstrip()} {marks}{sentence[m.start():]}"
    return f"{sentence} {marks}"
