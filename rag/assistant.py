"""The assistant: the library's facade over one index.

It wires the stages together: :class:`~rag.index.library.Library` (the index
and its lifecycle) and :class:`~rag.answer.pipeline.AnswerPipeline` (question
to verified, cited answer). Heavy resources (embedder, index, LLM, judge) are
passed in or created lazily on first use, then kept warm, so ``import rag`` and
``Assistant.open`` are cheap.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.answer.claims import DEFAULT_CHECKS, MEANING_CHECKS
from rag.answer.judge import LexicalJudge, SupportJudge
from rag.answer.llm import LLM, LlamaCppLLM
from rag.answer.news import in_range, parse_bound
from rag.answer.pipeline import AnswerPipeline, AnswerStream, Event, clean_question
from rag.answer.retrieve import Retriever
from rag.conversation import Conversation
from rag.errors import RagError
from rag.index.embed import Embedder, SentenceTransformerEmbedder
from rag.index.library import Library
from rag.index.store import IndexData
from rag.index.sync import IndexReport
from rag.records import Answer, Document, Excerpt, Passage
from rag.settings import Settings

log = logging.getLogger(__name__)

NO_ARTICLE_IN_RANGE = {
    "fr": "Aucun article indexé n'est daté {range} ({dated} article(s) daté(s) hors de cette période{undated}).",
    "en": "No indexed article is dated {range} ({dated} dated article(s) outside it{undated}).",
}
UNDATED = {"fr": ", {n} sans date", "en": ", {n} undated"}
NO_PASSAGE_IN_RANGE = {
    "fr": "Aucun passage des {n} article(s) datés {range} ne se rapporte à la question.",
    "en": "No passage of the {n} article(s) dated {range} matches the question.",
}


def date_bounds(since: str | dt.date | None, until: str | dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """``since``/``until`` as the first and last day they allow; a bad date or an inverted
    range is a :class:`RagError`.

    >>> date_bounds("2024-03", "2024")
    (datetime.date(2024, 3, 1), datetime.date(2024, 12, 31))
    >>> date_bounds("2025", "2023")
    Traceback (most recent call last):
    ...
    rag.errors.RagError: Article dates: the range is empty: since 2025 is after until 2023.
    """
    try:
        first = parse_bound(since or None)
        last = parse_bound(until or None, end=True)
    except ValueError as exc:
        raise RagError(f"Article dates (since/until): {exc}") from exc
    if first is not None and last is not None and first > last:
        raise RagError(f"Article dates: the range is empty: since {since} is after until {until}.")
    return first, last


def _range_text(since: dt.date | None, until: dt.date | None, lang: str) -> str:
    """The date range in words: ``between 2024-01-01 and 2024-12-31``, ``from …``, ``until …``."""
    words = {"fr": ("entre {} et {}", "à partir du {}", "jusqu'au {}"),
             "en": ("between {} and {}", "from {}", "until {}")}[lang if lang == "fr" else "en"]
    if since and until:
        return words[0].format(since, until)
    return words[1].format(since) if since else words[2].format(until)


def date_range_notice(documents: Mapping[str, Document], since: dt.date | None, until: dt.date | None,
                      lang: str) -> str | None:
    """Why a date-bounded question found no passage: no article is dated in the range (and
    how many have no date, which no range includes), or none of those in it matches.

    >>> docs = {"a": Document("a", "A", "", "a.txt", "h", date="2023"), "b": Document("b", "B", "", "b.txt", "h")}
    >>> date_range_notice(docs, dt.date(2025, 1, 1), None, "en")
    'No indexed article is dated from 2025-01-01 (1 dated article(s) outside it, 1 undated).'
    >>> date_range_notice(docs, None, dt.date(2023, 12, 31), "en")
    'No passage of the 1 article(s) dated until 2023-12-31 matches the question.'
    >>> date_range_notice(docs, None, None, "en") is None
    True
    """
    if since is None and until is None:
        return None
    lang = lang if lang == "fr" else "en"
    span = _range_text(since, until, lang)
    inside = sum(in_range(d, since, until) for d in documents.values())
    if inside:
        return NO_PASSAGE_IN_RANGE[lang].format(n=inside, range=span)
    undated = sum(d.day is None for d in documents.values())
    return NO_ARTICLE_IN_RANGE[lang].format(range=span, dated=len(documents) - undated,
                                            undated=UNDATED[lang].format(n=undated) if undated else "")


def _overlap_ms(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Milliseconds that two ``perf_counter`` spans share.

    >>> _overlap_ms((1.0, 3.0), (2.0, 10.0)), _overlap_ms((1.0, 2.0), (3.0, 4.0))
    (1000.0, 0.0)
    """
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0])) * 1000


class Assistant:
    """Question answering over one index. Thread-safe: LLM calls are serialised."""

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 llm: LLM | None = None, judge: SupportJudge | None = None, data: IndexData | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.embedder: Embedder = embedder or SentenceTransformerEmbedder(
            self.settings.embedder, query_prompt=self.settings.query_prompt,
            passage_prompt=self.settings.passage_prompt, threads=self.settings.threads,
        )
        self.library = Library(self.settings, self.embedder, data=data)
        self._llm = llm
        self._judge = judge
        self._retriever: Retriever | None = None
        self._lock = threading.RLock()
        # When the local model was loaded (perf_counter span): an answer that waited for it
        # reports its time to first token without it, and the load on its own.
        self._llm_load: tuple[float, float] | None = None

    @property
    def model_load_s(self) -> float | None:
        """Seconds the local model took to load (resolve, assemble and read the GGUF);
        None until it is loaded, or when answers come from a server or an injected LLM."""
        return None if self._llm_load is None else self._llm_load[1] - self._llm_load[0]

    @classmethod
    def open(cls, index_dir: str | Path | None = None, *, settings: Settings | None = None,
             **kwargs: Any) -> Assistant:
        """An assistant over ``index_dir`` (default from settings). Loads nothing yet.

        ``Assistant.open(Settings(...))`` is read as ``settings=``: a Settings object is
        not a folder, and taken as one its repr became the index path."""
        if isinstance(index_dir, Settings):
            index_dir, settings = None, index_dir
        settings = settings or Settings.from_env()
        if index_dir is not None:
            settings = settings.with_(index_dir=str(index_dir))
        return cls(settings, **kwargs)

    def __repr__(self) -> str:
        # Says what is loaded without loading anything.
        data = self.library.loaded
        docs = f"{len(data.documents)} articles, {len(data.chunks)} chunks" if data is not None else "not loaded yet"
        model = self.settings.llm_base_url or self.settings.model
        return f"Assistant(index={str(self.index_dir)!r}: {docs}; model={model!r}, embedder={self.embedder.id!r})"

    @property
    def index_dir(self) -> Path:
        return self.settings.index_path

    @property
    def data(self) -> IndexData:
        return self.library.data

    def refresh(self) -> bool:
        """Pick up an index rewritten by another process; True when it reloaded."""
        return self.library.refresh()

    def reindex(self, folder: str | Path | None = None, *, rebuild: bool = False, progress: bool = True) -> IndexReport:
        """Index ``folder`` (default: settings.docs_dir) incrementally."""
        return self.library.reindex(folder, rebuild=rebuild, progress=progress)

    def remove(self, doc_ids: list[str]) -> IndexReport:
        """Remove documents from the index by ``doc_id`` (their files are left alone)."""
        return self.library.remove(doc_ids)

    def add_file(self, source: str | Path, *, filename: str | None = None, progress: bool = False) -> IndexReport:
        """Copy one uploaded file into ``<docs_dir>/uploads/`` and index it (see :meth:`Library.add_file`)."""
        return self.library.add_file(source, filename=filename, progress=progress)

    def document_text(self, doc_id: str) -> str:
        return self.library.document_text(doc_id)

    def documents(self) -> list[dict[str, Any]]:
        """Indexed articles: doc_id, title, date, date source, outlet, language, number of chunks."""
        rows = self.library.documents()
        for row in rows:
            doc = self.data.documents[row["doc_id"]]
            row.update(date_source=doc.date_source, date_inferred=doc.date_inferred, outlet=doc.outlet)
        return rows

    def with_model(self, model: str) -> Assistant:
        """The same index, embedder and judge with another LLM (preset or GGUF path).

        With an LLM server (``llm_base_url``) the server decides which model answers:
        presets and GGUF paths do not apply, and this assistant is returned unchanged.
        """
        if model == self.settings.model:
            return self
        if self.settings.llm_base_url:
            log.info("model %r ignored: answers come from the LLM server %s", model, self.settings.llm_base_url)
            return self
        return Assistant(self.settings.with_(model=model), embedder=self.embedder, judge=self._judge,
                         data=self.library.loaded)

    @property
    def llm(self) -> LLM:
        with self._lock:
            if self._llm is None and self.settings.llm_base_url:
                from rag.answer.llm_http import OpenAICompatLLM

                self._llm = OpenAICompatLLM(self.settings.llm_base_url, self.settings.llm_model,
                                            timeout=self.settings.llm_timeout,
                                            api_key=self.settings.llm_api_key or None)
            if self._llm is None:
                from rag.answer.models import resolve_model

                started = time.perf_counter()
                path = resolve_model(self.settings.model, self.settings.model_cache)
                llm = LlamaCppLLM(path, n_ctx=self.settings.n_ctx, n_threads=self.settings.threads,
                                  n_batch=self.settings.n_batch)
                llm.llama  # noqa: B018 -- load now, timed, rather than inside the first answer's first token
                self._llm_load = (started, time.perf_counter())
                log.info("model %s loaded in %.1f s", path.name, self.model_load_s)
                self._llm = llm
            return self._llm

    @property
    def judge(self) -> SupportJudge:
        if self._judge is None:
            checks = MEANING_CHECKS if self.settings.strict_checks else DEFAULT_CHECKS
            self._judge = LexicalJudge(embedder=self.embedder, checks=checks)
        return self._judge

    @property
    def retriever(self) -> Retriever:
        """The retriever over the index in memory (rebuilt when the index changes)."""
        with self._lock:
            data = self.library.data
            if self._retriever is None or self._retriever.data is not data:
                reranker = None
                if self.settings.reranker:
                    from rag.answer.rerank import CrossEncoderReranker

                    reranker = CrossEncoderReranker(self.settings.reranker)
                channels = self.settings.channels
                self._retriever = Retriever(data, self.embedder, reranker=reranker, news=self.settings.news,
                                            use_dense=channels != "lexical", use_lexical=channels != "dense",
                                            word_match=self.settings.retrieval_word_match)
            return self._retriever

    def pipeline(self) -> AnswerPipeline:
        """The answer stage over the current index (cheap: references only)."""
        return AnswerPipeline(self.settings, retriever=self.retriever, judge=self.judge, llm=lambda: self.llm)

    def language_of(self, question: str) -> str:
        """The answer language for ``question``: the setting when fixed, else the question's."""
        return self.pipeline().language_of(question)

    def retrieve(self, question: str, *, k: int | None = None) -> list[Passage]:
        """The passages retrieved for ``question`` (no generation)."""
        text, _ = clean_question(question, self.settings.max_question_chars)
        return self.retriever.retrieve(text, k=k or self.settings.k, language=self.language_of(text))[0]

    def evidence(self, question: str, *, k: int | None = None) -> list[Excerpt]:
        """The sentences the model would be given to read for ``question`` (retrieval and
        evidence selection, no generation); an answer carries its own as ``Answer.evidence``."""
        self.refresh()
        return self.pipeline().prepare(question, k=k).answer.evidence

    def events(self, question: str, *, k: int | None = None, history: list[tuple[str, str]] | None = None,
               language: str | None = None, since: str | dt.date | None = None,
               until: str | dt.date | None = None) -> Iterator[Event]:
        """The answer pipeline as events: ("status", str), ("token", str), ("answer", Answer).

        ``since``/``until`` (ISO dates, ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, default from
        settings) keep only passages of articles dated within them, bounds included; a bad
        date or an inverted range raises :class:`RagError` here, before any event."""
        first, last = date_bounds(since or self.settings.since or None, until or self.settings.until or None)
        return self._events(question, k=k, history=history, language=language, since=first, until=last)

    def _events(self, question: str, *, k: int | None, history: list[tuple[str, str]] | None,
                language: str | None, since: dt.date | None, until: dt.date | None) -> Iterator[Event]:
        self.refresh()
        started = time.perf_counter()
        for kind, value in self.pipeline().events(question, k=k, history=history, language=language,
                                                  since=since, until=until):
            if kind == "answer":
                self._finish(value, started, since, until)
            yield kind, value

    def _finish(self, answer: Answer, started: float, since: dt.date | None, until: dt.date | None) -> None:
        """What the pipeline leaves to the facade: each citation's chunk id, the timings
        without the model load, and why a date range left no passage."""
        retriever = self.retriever
        answer.citations = [replace(c, chunk_id=retriever.chunk_id_holding(c.doc_id, c.start, c.end) or c.chunk_id)
                            for c in answer.citations]
        t = answer.timings
        if self._llm_load is not None:  # the model loaded (or was waited for) during this answer
            waited = _overlap_ms(self._llm_load, (started, started + t.total_ms / 1000))
            if waited:
                t.ttft_ms = round(max(0.0, t.ttft_ms - waited), 1) if t.ttft_ms else 0.0
                t.total_ms = round(max(0.0, t.total_ms - waited), 1)
        if not answer.passages:
            notice = date_range_notice(self.data.documents, since, until, answer.language)
            if notice:
                answer.notices.append(notice)

    def stream(self, question: str, *, k: int | None = None, history: list[tuple[str, str]] | None = None,
               language: str | None = None, since: str | dt.date | None = None,
               until: str | dt.date | None = None) -> AnswerStream:
        """Like :meth:`ask`, but iterate over the result to get text as it is generated."""
        return AnswerStream(self.events(question, k=k, history=history, language=language,
                                        since=since, until=until))

    def ask(self, question: str, *, k: int | None = None, history: list[tuple[str, str]] | None = None,
            language: str | None = None, since: str | dt.date | None = None,
            until: str | dt.date | None = None) -> Answer:
        """Answer ``question`` with verified citations (blocking); ``since``/``until`` as in :meth:`events`."""
        return self.stream(question, k=k, history=history, language=language, since=since, until=until).result()

    def conversation(self) -> Conversation:
        """A chat over this assistant: follow-up questions use the history."""
        return Conversation(self)
