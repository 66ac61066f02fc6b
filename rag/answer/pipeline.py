"""The answer stage: question -> retrieval -> evidence -> prompt -> LLM -> verified, cited answer.

:class:`AnswerPipeline` is the one implementation: the assistant, ``rag eval``
and ``rag bench`` all run it (the benchmark replays :meth:`AnswerPipeline.prepare`'s
messages instead of rebuilding them). Resources are passed in; the LLM as a
zero-argument callable, so a question that abstains before generating never loads it.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rag.answer.align import COGNATE_FLOOR, aligner_for
from rag.answer.cite import (
    Verification,
    WordMatch,
    addresses_question,
    answering,
    cite_across,
    cite_located,
    meaning_only,
    verify_answer,
)
from rag.answer.confidence import unconfirmed
from rag.answer.confirm import Confirmer
from rag.answer.echo import is_degenerate, starts_as_echo, without_example_copies
from rag.answer.evidence import EvidenceSelector, Selection
from rag.answer.followup import rewrite_question
from rag.answer.judge import SupportJudge
from rag.answer.llm import LLM, token_probabilities
from rag.answer.markers import strip_markers
from rag.answer.news import add_news_context
from rag.answer.overview import (
    OVERVIEW_NOTICE,
    QUOTED_OVERVIEW_NOTICE,
    TRANSLATED_OVERVIEW_NOTICE,
    asks_about_one_article,
    one_article,
    overview_text,
    quoted_overview,
)
from rag.answer.precision import with_precise_date
from rag.answer.prompt import (
    FIGURES_HINT,
    RETRY_HINT,
    WHY_HINT,
    asks_for_fact,
    asks_why,
    build_messages,
    build_translation_messages,
    is_abstain_token,
    is_overview,
    names_subject,
    overview_subject,
)
from rag.answer.quantities import figures_not_in
from rag.answer.question import TRUNCATED_NOTICE, clean_question, other_language_message
from rag.answer.retrieve import Retriever, names_found
from rag.answer.rivals import against_rivals
from rag.errors import RagError
from rag.records import Answer, Excerpt, Passage, Timings
from rag.settings import Settings
from rag.text.analysis import detect_language, other_language
from rag.text.numbers import rejoin_split_groups

log = logging.getLogger(__name__)

Event = tuple[str, Any]
Messages = list[dict[str, str]]

ABSTAIN_MESSAGE = {
    "fr": "Les articles ne le disent pas : aucun passage indexé ne répond à cette question.",
    "en": "The articles do not say: no indexed passage answers this question.",
}
STOP = ["\n\n", "Question:", "Passages:"]
# Below this dense cosine for the best passage, and with no name of the question in the
# passages (retrieve.names_found), retrieval found nothing relevant: abstain without the LLM.
MIN_RELEVANCE = 0.15


def closest_first(answer: Answer) -> Answer:
    """An abstention's passages (the closest passages it shows) best score first, not in the
    prompt's order; ``rank`` stays the retrieval rank, and the evidence sentences follow
    their passage, so ``evidence[i].passage`` still indexes ``answer.passages``.

    >>> ps = [Passage(r, "a", "a:0", 0, 1, s, "") for r, s in ((1, 0.46), (2, 0.45), (3, 0.50))]
    >>> a = closest_first(Answer("q", "", "fr", passages=ps, evidence=[Excerpt(3, "a", 0, 1, "")]))
    >>> [p.score for p in a.passages], [p.rank for p in a.passages], a.evidence[0].passage
    ([0.5, 0.46, 0.45], [3, 1, 2], 1)
    """
    order = sorted(range(len(answer.passages)), key=lambda i: -answer.passages[i].score)
    new_number = {old + 1: new + 1 for new, old in enumerate(order)}
    answer.passages = [answer.passages[i] for i in order]
    answer.evidence = [replace(e, passage=new_number.get(e.passage, e.passage)) for e in answer.evidence]
    return answer


@dataclass
class AnswerStream:
    """Iterate to receive the answer's text as it is generated; ``answer`` holds
    the verified :class:`Answer` once iteration is over."""

    events: Iterator[Event]
    answer: Answer | None = None
    status: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        for kind, value in self.events:
            if kind == "token":
                yield value
            elif kind == "answer":
                self.answer = value
            elif kind == "status":
                self.status.append(value)

    def result(self) -> Answer:
        """Run to the end (if not done yet) and return the answer."""
        for _ in self:
            pass
        if self.answer is None:  # pragma: no cover - the pipeline always ends with an answer
            raise RagError("The answer pipeline ended without an answer.")
        return self.answer


@dataclass
class Prepared:
    """Everything decided before generation: the answer record so far and the
    final messages (None when the pipeline abstains without calling the LLM)."""

    answer: Answer
    standalone: str
    messages: Messages | None = None
    evidence: list[Passage] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # what the LLM sees of each evidence passage
    refusal: str = ""  # shown instead of the abstention message


class AnswerPipeline:
    """One question through the answer stage. Cheap to build: holds references only."""

    def __init__(self, settings: Settings, *, retriever: Retriever, judge: SupportJudge,
                 llm: Callable[[], LLM]) -> None:
        self.settings = settings
        self.retriever = retriever
        self.judge = judge
        self._get_llm = llm
        self.last_token_probs: list[tuple[str, float]] | None = None

    def language_of(self, question: str) -> str:
        """The answer language: the setting when fixed, else the question's."""
        if self.settings.answer_language in ("fr", "en"):
            return self.settings.answer_language
        return detect_language(question)

    def evidence(self, question: str, lang: str, passages: list[Passage]
                 ) -> tuple[list[Passage], list[str], list[Excerpt]]:
        """Passages reordered so those given to the LLM come first, their evidence texts, and their sentences."""
        budget = self.settings.context_budget
        selector = EvidenceSelector(self.retriever, min_ratio=self.settings.evidence_ratio)
        others: list[Passage] = []
        if budget <= 0:
            chosen = Selection.whole(passages)
        elif not is_overview(question):
            chosen = selector.select(question, lang, passages, budget=budget)
        else:  # several facts asked for: room for several sentences that differ
            if asks_about_one_article(question):  # "Résume l'article sur …": that article's passages
                passages, others = one_article(passages)
            chosen = selector.select_overview(question, lang, passages, budget=2 * budget)
        used = [i for i, t in enumerate(chosen.texts) if t]
        rest = [i for i, t in enumerate(chosen.texts) if not t]
        return ([passages[i] for i in used + rest] + others, [chosen.texts[i] for i in used],
                chosen.excerpts(passages, used))

    def prepare(self, question: str, *, k: int | None = None, history: Sequence[tuple[str, str]] | None = None,
                language: str | None = None, since: dt.date | None = None, until: dt.date | None = None) -> Prepared:
        """Rewrite, retrieve, select evidence and build the final messages, without generating."""
        steps = self._prepare(question, k=k, history=history, language=language, t0=time.perf_counter(),
                              since=since, until=until)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value

    def _prepare(self, question: str, *, k: int | None, history: Sequence[tuple[str, str]] | None,
                 language: str | None, t0: float, since: dt.date | None = None,
                 until: dt.date | None = None) -> Generator[Event, None, Prepared]:
        settings = self.settings
        text, truncated = clean_question(question, settings.max_question_chars)
        lang = language if language in ("fr", "en") else self.language_of(text)
        notices = [TRUNCATED_NOTICE[lang].format(n=settings.max_question_chars)] if truncated else []
        standalone, foreign = text, other_language(text)
        if history and foreign is None:
            yield "status", "rewriting follow-up"
            standalone = rewrite_question(text, history, self._get_llm())
        yield "status", "retrieving"
        passages, retrieve_ms = self.retriever.retrieve(standalone, k=k or settings.k, language=lang,
                                                        since=since, until=until)
        answer = Answer(question=text, answer="", language=lang, passages=passages,
                        timings=Timings(retrieve_ms=round(retrieve_ms, 2)),
                        standalone_question=standalone if standalone != text else None, notices=notices)
        prepared = Prepared(answer=answer, standalone=standalone)
        if foreign is not None:  # the closest passages are still shown
            prepared.refusal = other_language_message(foreign, lang)
            return prepared
        dense_scored = settings.channels != "lexical"
        if not passages or (dense_scored and max(p.score for p in passages) < MIN_RELEVANCE
                            and not names_found(standalone, lang, passages)):
            return prepared
        passages, texts, answer.evidence = self.evidence(standalone, lang, passages)
        answer.passages = passages
        prepared.evidence = passages[:len(texts)]
        prepared.texts = list(texts)
        prepared.messages = build_messages(standalone, prepared.evidence, lang, texts, news=settings.news,
                                           short=settings.short_answers)
        return prepared

    def events(self, question: str, *, k: int | None = None, history: Sequence[tuple[str, str]] | None = None,
               language: str | None = None, since: dt.date | None = None,
               until: dt.date | None = None) -> Iterator[Event]:
        """The answer as events: ("status", str), ("token", str), then ("answer", Answer).

        ``since``/``until`` keep only passages of articles dated within them."""
        t0 = time.perf_counter()
        prepared = yield from self._prepare(question, k=k, history=history, language=language, t0=t0,
                                            since=since, until=until)
        answer, messages = prepared.answer, prepared.messages
        if messages is None:
            yield from self._finish(answer, None, t0, prepared.refusal)
            return
        standalone, lang = prepared.standalone, answer.language
        quoted = self.quoted_overview(prepared)
        if quoted is not None:
            answer.raw_answer = quoted.answer
            answer.notices.append(QUOTED_OVERVIEW_NOTICE[lang])
            yield from self._finish(answer, quoted, t0)
            return
        source = self.overview_quotes(prepared)
        if source:
            # Asked in the other language: the same sentences, translated by the model and checked.
            # Overview tune set, the 8 such questions: facts 31 -> 38 of the set's 72 (the
            # model's summaries invented facts: "the first African American coach in college
            # football history" for Knute Rockne), in about the same time (4-12 s).
            yield "status", "translating"
            raw = yield from self._generate(build_translation_messages(source, lang), answer.timings, t0)
            result = self.verified(answer, raw, prepared.texts)
            if result is not None:
                answer.raw_answer = raw
                answer.token_probs = self.last_token_probs
                answer.notices.append(TRANSLATED_OVERVIEW_NOTICE[lang])
                yield from self._finish(answer, result, t0)
                return
        yield "status", "generating"
        raw = yield from self._generate(messages, answer.timings, t0, echo_of=standalone)
        result = None
        hint = None
        if is_degenerate(raw, standalone, lang):
            # Small models sometimes echo the question or emit bare markers.
            hint = (WHY_HINT if asks_why(standalone) else RETRY_HINT)[lang]
        else:
            result = self.verified(answer, raw, prepared.texts)
            if result is None and figures_not_in(raw, [p.text for p in prepared.evidence], lang):
                # A figure the passages do not contain: usually a mistranslated amount
                # ("20 000 milliards" -> "20 billion"), worth one more try.
                hint = FIGURES_HINT[lang]
        if hint:
            yield "status", "retrying"
            retry = messages[:-1] + [{"role": "user", "content": f"{messages[-1]['content']}\n{hint}"}]
            raw = yield from self._generate(retry, answer.timings, t0)
            result = self.verified(answer, raw, prepared.texts)
        if result is None and is_overview(standalone):
            # The checks rejected the model's summary: quote what the articles say instead.
            # "Résume l'article sur …" quotes that article only (the others' passages come last).
            pool = one_article(answer.passages)[0] if asks_about_one_article(standalone) else answer.passages
            quoted = quoted_overview(standalone, lang, pool)
            result = self.verified(answer, quoted, prepared.texts) if quoted else None
            if result is not None:
                answer.notices.append(OVERVIEW_NOTICE[lang])
        answer.raw_answer = raw
        answer.token_probs = self.last_token_probs
        yield from self._finish(answer, self.flag_unsure(answer, result), t0)

    def flag_unsure(self, answer: Answer, result: Verification | None) -> Verification | None:
        """``result`` shown unconfirmed if ``answer`` is short and unsure (confidence.unconfirmed)."""
        long = result is None or not self.short(answer.standalone_question or answer.question)
        return result if long else unconfirmed(answer, result, self.settings.unsure_below)

    def _generate(self, messages: Messages, timings: Timings, t0: float,
                  echo_of: str | None = None) -> Generator[Event, None, str]:
        """Stream one LLM completion as token events; returns the raw text.

        With ``echo_of`` (the question), the first words are held back until it is
        clear the answer is not repeating the question; if it is, generation stops
        there and "" is returned (nothing was shown).
        """
        llm = self._get_llm()
        pieces: list[str] = []
        held: list[str] = []
        deciding = echo_of is not None
        echoed = False
        started = time.perf_counter()
        with getattr(llm, "lock", threading.RLock()):
            for piece in llm.stream_chat(messages, max_tokens=self.settings.max_tokens,
                                         temperature=self.settings.temperature, stop=STOP):
                pieces.append(piece)
                if deciding:
                    echo = starts_as_echo("".join(pieces), echo_of or "")
                    if echo:
                        log.info("the answer repeats the question: stopped after %d tokens", len(pieces))
                        echoed = True
                        break
                    if echo is None:
                        held.append(piece)
                        continue
                    deciding = False
                for shown in [*held, piece]:
                    if not timings.ttft_ms:
                        timings.ttft_ms = round((time.perf_counter() - t0) * 1000, 1)
                    yield "token", shown
                held = []
            if held and not echoed:  # the answer ended while still undecided: show it
                timings.ttft_ms = timings.ttft_ms or round((time.perf_counter() - t0) * 1000, 1)
                for shown in held:
                    yield "token", shown
            timings.llm_ms = round(timings.llm_ms + (time.perf_counter() - started) * 1000, 3)
            self.last_token_probs = token_probabilities(llm)  # under the lock: this answer's, not another's
            try:  # informative only, and counted after the answer so it never delays the first token
                timings.prompt_tokens = llm.count_tokens(messages)
            except Exception:
                log.debug("token count failed", exc_info=True)
        timings.completion_tokens += len(pieces)
        return "" if echoed else "".join(pieces).strip()

    def word_match(self, threshold: float | None = None, *, cognates: bool = False) -> WordMatch | None:
        """Cross-lingual word matching through the embedder at ``threshold`` (default: the
        ``word_match`` setting), with ``cognates`` also words spelt alike at a lower cosine
        (:func:`rag.answer.align.cognate`); None when it is 0."""
        threshold = self.settings.word_match if threshold is None else threshold
        if threshold <= 0:
            return None
        return functools.partial(aligner_for(self.retriever.embedder).any_match, threshold=threshold,
                                 cognate_floor=COGNATE_FLOOR if cognates else None)

    def name_match(self) -> WordMatch | None:
        """Whether a name has a translation among other words ("Virgin" / "Vierge"), at the
        cosine retrieval uses for names across languages."""
        return self.word_match(self.settings.retrieval_word_match)

    def short(self, question: str) -> bool:
        """Whether ``question`` is answered by a short phrase (:func:`rag.answer.prompt.asks_for_fact`)."""
        return self.settings.short_answers and asks_for_fact(question)

    def quoted_overview(self, prepared: Prepared) -> Verification | None:
        """An overview question asked in the language of the passages shown, answered with
        their own sentences: the most relevant ones that differ from each other
        (:meth:`rag.answer.evidence.EvidenceSelector.overview_sentences`, maximal marginal
        relevance), each quoted and cited, and checked like any answer (a cited passage
        must name the subject). None when that does not hold: the model summarises.

        Why: the 1.5B model's summaries keep few of the facts its evidence holds and add
        some of its own ("the first African American coach in college football history" for
        Knute Rockne). On the overview tune set's 10 questions in the articles' language
        (40 facts), its summaries gave 14 facts, the quoted sentences (900 characters) 22,
        each stated by the article it cites, without generation time.
        """
        answer, shown = prepared.answer, prepared.evidence
        if not shown or any(p.language != answer.language for p in shown):
            return None
        text = self.overview_quotes(prepared)
        return self.verified(answer, text, prepared.texts) if text else None

    def overview_quotes(self, prepared: Prepared) -> str:
        """The overview's sentences (:func:`rag.answer.overview.overview_text`); "" when the
        question is not an overview or quoted overviews are off."""
        shown = prepared.evidence
        if not self.settings.quoted_overviews or not shown or not is_overview(prepared.standalone):
            return ""
        return overview_text(EvidenceSelector(self.retriever), prepared.standalone, prepared.answer.language, shown)

    def verified(self, answer: Answer, raw: str, evidence: Sequence[str] | None = None) -> Verification | None:
        """The verification of ``raw``, or None when it must end in an abstention.

        A short answer the checks reject is still shown when the evidence sentence that
        bears most on the question states it (:meth:`located`)."""
        question = answer.standalone_question or answer.question
        if evidence:  # the prompt's worked examples restated are nothing the articles say
            raw = without_example_copies(raw, evidence)
        raw = rejoin_split_groups(raw, [p.text for p in answer.passages])  # "100, 000" as the article writes it
        if not strip_markers(raw) or is_abstain_token(raw) or is_degenerate(raw, question, answer.language):
            # Nothing but the question's own words ("Newton" to "Qui a arraché le ballon à
            # Newton ?") answers nothing, even when a sentence holds them (outside-fr, fresh).
            return None
        result = self._supported(answer, raw, evidence)
        if result is None:
            return None
        # "Magnitude 8.0" read off "many faults produce a magnitude 6.7+ earthquake, … which can
        # produce a magnitude 8.0 event": another value of the passage is the question's.
        result = against_rivals(result, question, answer.language, answer.passages, self.retriever.counterparts(),
                                lambda text: self._supported(answer, text, evidence))
        if result is None:
            return None
        return with_precise_date(result, question, answer.language)  # "En 1829" -> the day

    def _supported(self, answer: Answer, raw: str, evidence: Sequence[str] | None) -> Verification | None:
        """``raw`` checked (:meth:`checked`), or, a short answer, located (:meth:`located`)."""
        result = self.checked(answer, raw, evidence)
        if result is None and self.settings.located_answers and evidence \
                and self.short(answer.standalone_question or answer.question):
            result = self.located(answer, raw, len(evidence))
        return result

    def located(self, answer: Answer, raw: str, shown: int) -> Verification | None:
        """``raw``, a one-phrase answer, cited to the sentence of the first ``shown`` passages
        (those the model read) that scores best against the question, when that sentence
        states the phrase (:func:`rag.answer.cite.cite_located`, across languages
        :func:`~rag.answer.cite.cite_across`); None otherwise.

        Why: a short answer is judged together with its question against its passage, so
        the name must stand in the role asked about. Crowd questions paraphrase ("QB" for
        "quarterback", "fait capoter" for "a refusé d'approuver"), and right answers read from
        the gold sentence were rejected for the question's words, not the answer's. The
        sentence the question points to, by the evidence selector's own score (dense
        cosine + IDF-weighted term share), stands in for the question's words. Measured
        by re-verifying the same raw answers on the tune splits (see README).
        """
        question = answer.standalone_question or answer.question
        passages = answer.passages[:shown]
        candidates = EvidenceSelector(self.retriever).candidates(question, answer.language, passages)
        if not candidates:
            return None
        best = max(candidates, key=lambda c: c.score)
        if passages[best.passage].language != answer.language:
            # Across languages: the phrase's words through word vectors, the meaning checks alone.
            aligned, meaning = self.word_match(cognates=True), meaning_only(getattr(self.judge, "checks", None))
            return None if aligned is None else cite_across(
                raw, passages[best.passage], best.start, best.end,
                answering(meaning, question, raw, answer.language), aligned, question, self.name_match())
        return cite_located(raw, passages[best.passage], best.start, best.end,
                            answering(self.judge.supports, question, raw, answer.language), question,
                            self.name_match())

    def checked(self, answer: Answer, raw: str, evidence: Sequence[str] | None = None) -> Verification | None:
        """The verification of ``raw`` by the support judge and the focus check, or None."""
        question = answer.standalone_question or answer.question
        confirm = None
        if self.settings.confirm and evidence:
            confirm = Confirmer(self._get_llm(), evidence or [])
        result = verify_answer(raw, answer.passages, supports=self.judge.supports, score=self.judge.score,
                               question=question, language=answer.language, confirm=confirm,
                               presupposed=question if self.short(question) else "", same_names=self.name_match())
        if confirm is not None:
            answer.timings.checks += confirm.calls
        # The focus check reads the cited passages, not only the quotes: a "why" answer gives the
        # reason ("le Parlement de Floride a refusé…") in a sentence that does not repeat what the
        # question asks about ("la candidature de Miami"); the sentence before it does.
        cited = [p.text for p in answer.passages
                 if any(c.supported and c.doc_id == p.doc_id and p.start <= c.start < p.end for c in result.citations)]
        if not result.any_supported:
            return None
        # An overview question's only focus is its subject ("Résume ce que disent les articles sur X"):
        # a cited passage must name it, or the summary is of something else.
        if is_overview(question):
            subject = overview_subject(question, answer.language)
            if not any(names_subject(text, subject) for text in cited):
                return None
        elif not addresses_question(question, answer.language, result.answer, cited, self.word_match()):
            return None
        return result

    def _finish(self, answer: Answer, result: Verification | None, t0: float, refusal: str = "") -> Iterator[Event]:
        self.complete(answer, result, refusal)
        answer.timings.total_ms = round((time.perf_counter() - t0) * 1000, 1)
        yield "answer", answer

    def complete(self, answer: Answer, result: Verification | None, refusal: str = "") -> Answer:
        """Fill ``answer`` from its verification: the abstention (``refusal``, or the articles do
        not say) when ``result`` is None, else the verified text and its citations with their
        documents' checksums, dates and outlets."""
        if result is None:  # abstain
            answer.abstained = True
            answer.answer = refusal or ABSTAIN_MESSAGE[answer.language]
            answer.citations = []
            answer.unsupported_sentences = []
            closest_first(answer)
        else:
            answer.answer = result.answer
            documents = self.retriever.data.documents
            answer.citations = [replace(c, doc_sha256=documents[c.doc_id].sha256) if c.doc_id in documents else c
                                for c in result.citations]
            answer.unsupported_sentences = result.unsupported_sentences
            # Dates and outlets on citations; with news on, revised figures too, each cited.
            add_news_context(answer, figures=self.settings.news)
        return answer
