"""The assistant: question → retrieval → prompt → LLM → verified, cited answer.

Heavy resources (embedder, index, LLM, judge) are passed in or created lazily
on first use, then kept warm, so ``import rag`` and ``Assistant.open`` are cheap.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .cite import (
    QUESTION_WORDS,
    addresses_question,
    adds_content,
    answer_sentences,
    starts_as_echo,
    strip_markers,
    verify_answer,
)
from .embed import Embedder, SentenceTransformerEmbedder
from .errors import IndexMissingError, IngestError, RagError
from .llm import LLM, LlamaCppLLM
from .prompt import ABSTAIN_TOKEN, build_messages, build_rewrite_messages
from .records import Answer, Passage, Timings
from .settings import Settings
from .store import MANIFEST, IndexData, load_index, read_manifest

log = logging.getLogger(__name__)

ABSTAIN_MESSAGE = {
    "fr": "Les articles ne le disent pas : aucun passage indexé ne répond à cette question.",
    "en": "The articles do not say: no indexed passage answers this question.",
}
TRUNCATED_NOTICE = {
    "fr": "La question a été tronquée à {n} caractères.",
    "en": "The question was truncated to {n} characters.",
}
STOP = ["\n\n", "Question:", "Passages:"]
FIGURES_HINT = {
    "fr": "Recopie les chiffres exactement comme les passages les écrivent.",
    "en": "Copy every figure exactly as the passages write it (e.g. 20 000 milliards = 20 trillion).",
}
RETRY_HINT = {
    "fr": "Ne répète pas la question : donne la réponse tirée des passages, avec les numéros [n].",
    "en": "Do not repeat the question: state the answer found in the passages, with [n] numbers.",
}


def figures_not_in(answer: str, texts: list[str], language: str) -> bool:
    """True when the answer states an amount that none of ``texts`` contains.

    Amounts are compared with their scale words ("20 000 milliards" is 2e13,
    "20 billion" in English 2e10), the answer read in its own language.

    >>> figures_not_in("They could add 20 billion [1].", ["jusqu'à 20 000 milliards de dollars", "20 dollars"], "en")
    True
    >>> figures_not_in("Ils ajouteraient 20 000 milliards [1].", ["jusqu'à 20 000 milliards de dollars"], "fr")
    False
    """
    from .analysis import analyze
    from .judge import _scaled

    def amounts(text: str, langs: tuple[str, ...]) -> set[str]:
        out = set()
        for lang in langs:
            terms = analyze(text, lang)
            for i, t in enumerate(terms):
                if t.kind == "number":
                    nxt = terms[i + 1].surface if i + 1 < len(terms) else ""
                    out.add(_scaled(t.text, nxt, lang) or t.text)
        return out

    known: set[str] = set()
    for t in texts:
        known |= amounts(t, ("fr", "en"))
    return bool(amounts(strip_markers(answer), (language,)) - known)


def is_degenerate(raw: str, question: str, language: str) -> bool:
    """Empty, markers only, or nothing but the question repeated (an abstention is not degenerate).

    >>> is_degenerate("[1][2]", "Qui ?", "fr"), is_degenerate("Pourquoi X coûte si cher ?", "Pourquoi X coûte-t-il si cher ?", "fr")
    (True, True)
    """
    if ABSTAIN_TOKEN in raw.upper().replace(" ", "_"):
        return False
    sentences = [text for text, _ in answer_sentences(raw)]
    return not any(adds_content(t, question, language) for t in sentences)


# Below this dense cosine for the best passage, and with no lexical overlap,
# retrieval found nothing relevant: abstain without asking the LLM.
MIN_RELEVANCE = 0.15
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FOLLOW_UP = re.compile(
    r"^(et|and|what about|how about|qu'en est-il|pourquoi|why|combien|how much|et pour|and for)\b"
    r"|\b(il|elle|ils|elles|lui|leur|celle-ci|celui-ci|it|its|they|their|them|this|that|ce|cette|cela|ça)\b",
    re.IGNORECASE,
)


def clean_question(question: str, max_chars: int) -> tuple[str, bool]:
    """Remove control characters and extra spaces; truncate. Returns (text, truncated).

    >>> clean_question("  Qui\\x00 est   là ?\\n", 100)
    ('Qui est là ?', False)
    """
    if not isinstance(question, str):
        raise RagError("The question must be text.")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", question))
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise RagError("The question is empty: type a question about the articles.")
    if len(text) > max_chars:
        return text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars], True
    return text, False


def looks_like_follow_up(question: str) -> bool:
    """A short question, or one that leans on the conversation ("Et Anthropic ?").

    >>> looks_like_follow_up("Et Anthropic ?"), looks_like_follow_up("Combien Mistral AI a-t-elle levé en juin 2024 ?")
    (True, False)
    """
    words = question.split()
    if len(words) <= 4:
        return True
    return bool(_FOLLOW_UP.search(question)) and len(words) <= 8


_ELLIPSIS = re.compile(
    r"^\s*(?i:et|and|what about|how about|qu['’]en est-il (?:de|du|des|d['’])|et pour|and for|same for|idem pour)?\s*"
    r"(?i:l['’]|la |le |les )?(?P<name>[A-Z0-9][\w.&'’-]*(?:\s+[A-Z0-9][\w.&'’-]*)*)\s*\??\s*$"
)
_NAME = re.compile(r"(?<![\w'’])[A-Z][\w.&-]*(?:\s+[A-Z0-9][\w.&-]*)*")


def substitute_entity(previous: str, follow_up: str) -> str | None:
    """Rewrite "Et Anthropic ?" after a question about OpenAI by swapping the name.

    Returns None when the follow-up is not a bare name or the previous question names nobody.

    >>> substitute_entity("Combien OpenAI devrait-elle dépenser cette année ?", "Et Anthropic ?")
    'Combien Anthropic devrait-elle dépenser cette année ?'
    >>> substitute_entity("How much will Meta spend in 2024?", "What about Google?")
    'How much will Google spend in 2024?'
    >>> substitute_entity("Combien OpenAI perd-elle ?", "Pourquoi ?") is None
    True
    """
    m = _ELLIPSIS.match(follow_up)
    if not m or not m.group("name")[0].isupper():
        return None
    new = m.group("name").strip()
    if new.lower() in QUESTION_WORDS:
        return None
    # Names in the previous question, skipping its first word (capitalised anyway).
    first_word_end = len(previous) - len(previous.lstrip()) + len(previous.split()[0]) if previous.split() else 0
    names = [n for n in _NAME.finditer(previous, first_word_end) if n.group() != new]
    if not names:
        return None
    old = names[0]
    return previous[:old.start()] + new + previous[old.end():]


@dataclass
class AnswerStream:
    """Iterate to receive the answer's text as it is generated; ``answer`` holds
    the verified :class:`Answer` once iteration is over."""

    _events: Iterator[tuple[str, Any]]
    answer: Answer | None = None
    status: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        for kind, value in self._events:
            if kind == "token":
                yield value
            elif kind == "answer":
                self.answer = value
            elif kind == "status":
                self.status.append(value)


class Assistant:
    """Question answering over one index. Thread-safe: LLM calls are serialised."""

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 llm: LLM | None = None, judge: Any = None, data: IndexData | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.embedder: Embedder = embedder or SentenceTransformerEmbedder(
            self.settings.embedder, query_prompt=self.settings.query_prompt,
            passage_prompt=self.settings.passage_prompt, threads=self.settings.threads,
        )
        self._llm = llm
        self._judge = judge
        self._data = data
        self._stamp = self._stamp_now() if data is not None else None
        self._retriever: Any = None
        self._lock = threading.RLock()

    # ---------- construction ----------
    @classmethod
    def open(cls, index_dir: str | Path | None = None, *, settings: Settings | None = None,
             **kwargs: Any) -> Assistant:
        """An assistant over ``index_dir`` (default from settings). Loads nothing yet."""
        settings = settings or Settings.from_env()
        if index_dir is not None:
            settings = settings.with_(index_dir=str(index_dir))
        return cls(settings, **kwargs)

    @property
    def index_dir(self) -> Path:
        return self.settings.index_path

    @property
    def data(self) -> IndexData:
        with self._lock:
            if self._data is None:
                self._data = self._load_or_build()
            return self._data

    def _stamp_now(self) -> tuple[int, int] | None:
        try:
            st = (self.index_dir / MANIFEST).stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _reload(self) -> None:
        """Load the index from disk again (callers hold the lock)."""
        stamp = self._stamp_now()
        self._data = load_index(self.index_dir, embedder_id=self.embedder.id)
        self._stamp = stamp
        self._retriever = None

    def refresh(self) -> bool:
        """Pick up an index rewritten by another process (``rag index``, another web worker).

        Costs one ``stat`` per question; the manifest is replaced atomically and
        last, so a changed stamp means a complete new generation. On failure the
        index in memory stays in use. Returns True when it reloaded.
        """
        with self._lock:
            if self._data is None or self._stamp_now() in (None, self._stamp):
                return False
            try:
                self._reload()
            except RagError as exc:
                log.warning("keeping the loaded index: %s", exc)
                self._stamp = self._stamp_now()
                return False
            log.info("index %s changed on disk: reloaded", self.index_dir)
            return True

    def _load_or_build(self) -> IndexData:
        if read_manifest(self.index_dir) is None:
            docs = Path(self.settings.docs_dir)
            if not docs.is_dir():
                raise IndexMissingError(
                    f"No index in {self.index_dir} and no folder {docs} to build one from. "
                    f"Run `rag index FOLDER --index-dir {self.index_dir}`."
                )
            log.info("no index in %s: building it from %s", self.index_dir, docs)
            self.reindex(docs)
            assert self._data is not None
            return self._data
        self._reload()
        assert self._data is not None
        return self._data

    def reindex(self, folder: str | Path | None = None, *, rebuild: bool = False, progress: bool = True) -> Any:
        """Index ``folder`` (default: settings.docs_dir) incrementally and reload."""
        from .indexer import index_folder

        with self._lock:
            report = index_folder(
                folder or self.settings.docs_dir, index_dir=self.index_dir, embedder=self.embedder,
                chunk_size=self.settings.chunk_size, chunk_overlap=self.settings.chunk_overlap,
                max_bytes=int(self.settings.max_file_mb * 1e6), rebuild=rebuild, progress=progress,
                index_type=self.settings.index_type,
            )
            self._reload()
        return report

    def remove(self, doc_ids: list[str]) -> Any:
        """Remove documents from the index by ``doc_id`` (their files are left alone)."""
        from .indexer import remove_documents

        with self._lock:
            report = remove_documents(list(doc_ids), index_dir=self.index_dir, embedder=self.embedder,
                                      index_type=self.settings.index_type)
            self._reload()
        return report

    def add_file(self, source: str | Path, *, filename: str | None = None, progress: bool = False) -> Any:
        """Copy one uploaded file into ``<docs_dir>/uploads/`` and index it (others untouched).

        The file name is sanitised (no path parts, safe characters) and never
        overwrites another article: a clash gets a numbered name. Returns the
        :class:`~rag.indexer.IndexReport`; unreadable files raise :class:`IngestError`.
        """
        import shutil

        from .indexer import sync_documents
        from .load import SUPPORTED_SUFFIXES, load_file, megabytes, safe_filename

        name = safe_filename(filename or Path(source).name)
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise IngestError(f"{name}: unsupported file type; use {', '.join(SUPPORTED_SUFFIXES)}.")
        size = Path(source).stat().st_size
        if size > self.settings.max_file_mb * 1e6:
            raise IngestError(f"{name}: file too large ({megabytes(size)} > {megabytes(self.settings.max_file_mb * 1e6)}).")
        uploads = Path(self.settings.docs_dir) / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        target = uploads / name
        stem, suffix, n = target.stem, target.suffix, 1
        while target.exists():
            n += 1
            target = uploads / f"{stem}-{n}{suffix}"
        doc_id = str(target.relative_to(Path(self.settings.docs_dir)))
        doc, _ = load_file(source, doc_id=doc_id, max_bytes=int(self.settings.max_file_mb * 1e6))
        doc = replace(doc, source=str(target))
        with self._lock:
            duplicate = next((d.doc_id for d in self.data.documents.values() if d.sha256 == doc.sha256), None)
            if duplicate:
                raise IngestError(f"{name} is a duplicate of {duplicate}, already indexed.")
            shutil.copyfile(source, target)
            report = sync_documents([doc], index_dir=self.index_dir, embedder=self.embedder,
                                    chunk_size=self.settings.chunk_size, chunk_overlap=self.settings.chunk_overlap,
                                    remove_missing=False, progress=progress, index_type=self.settings.index_type)
            self._reload()
        return report

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
        other = Assistant(self.settings.with_(model=model), embedder=self.embedder, judge=self._judge,
                          data=self._data)
        return other

    @property
    def llm(self) -> LLM:
        with self._lock:
            if self._llm is None and self.settings.llm_base_url:
                from .llm_http import OpenAICompatLLM

                self._llm = OpenAICompatLLM(self.settings.llm_base_url, self.settings.llm_model,
                                            timeout=self.settings.llm_timeout,
                                            api_key=self.settings.llm_api_key or None)
            if self._llm is None:
                from .models import resolve_model

                path = resolve_model(self.settings.model, self.settings.model_cache)
                self._llm = LlamaCppLLM(path, n_ctx=self.settings.n_ctx, n_threads=self.settings.threads,
                                        n_batch=self.settings.n_batch)
            return self._llm

    @property
    def judge(self) -> Any:
        if self._judge is None:
            from .judge import LexicalJudge

            self._judge = LexicalJudge()
        return self._judge

    @property
    def retriever(self) -> Any:
        with self._lock:
            if self._retriever is None:
                from .retrieve import Retriever

                reranker = None
                if self.settings.reranker:
                    from .rerank import CrossEncoderReranker

                    reranker = CrossEncoderReranker(self.settings.reranker)
                channels = self.settings.channels
                self._retriever = Retriever(self.data, self.embedder, reranker=reranker,
                                            use_dense=channels != "lexical", use_lexical=channels != "dense")
            return self._retriever

    # ---------- queries ----------
    def document_text(self, doc_id: str) -> str:
        return self.data.documents[doc_id].text

    def documents(self) -> list[dict[str, Any]]:
        """Indexed articles: doc_id, title, date, language, number of chunks."""
        counts: dict[str, int] = {}
        for c in self.data.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return [
            {"doc_id": d.doc_id, "title": d.title, "date": d.date, "language": d.language,
             "chunks": counts.get(d.doc_id, 0)}
            for d in self.data.documents.values()
        ]

    def language_of(self, question: str) -> str:
        if self.settings.answer_language in ("fr", "en"):
            return self.settings.answer_language
        from .analysis import detect_language

        return detect_language(question)

    def retrieve(self, question: str, *, k: int | None = None) -> list[Passage]:
        text, _ = clean_question(question, self.settings.max_question_chars)
        passages, _ = self.retriever.retrieve(text, k=k or self.settings.k, language=self.language_of(text))
        return passages

    def ask(self, question: str, *, k: int | None = None, history: list[tuple[str, str]] | None = None,
            language: str | None = None) -> Answer:
        """Answer ``question`` with verified citations (blocking)."""
        stream = self.stream(question, k=k, history=history, language=language)
        for _ in stream:
            pass
        assert stream.answer is not None
        return stream.answer

    def stream(self, question: str, *, k: int | None = None, history: list[tuple[str, str]] | None = None,
               language: str | None = None) -> AnswerStream:
        """Like :meth:`ask`, but iterate over the result to get text as it is generated."""
        return AnswerStream(self.events(question, k=k, history=history, language=language))

    def rewrite(self, question: str, history: list[tuple[str, str]]) -> str:
        """A standalone form of a follow-up question, using the conversation."""
        if not history or not looks_like_follow_up(question):
            return question
        swapped = substitute_entity(history[-1][0], question)
        if swapped:
            return swapped
        messages = build_rewrite_messages(history[-1:], question)
        text = "".join(self.llm.stream_chat(messages, max_tokens=48, temperature=0.0, stop=["\n"]))
        text = text.strip().strip('"').strip()
        return text if 3 <= len(text) <= 400 else question

    def events(self, question: str, *, k: int | None = None, history: list[tuple[str, str]] | None = None,
               language: str | None = None) -> Iterator[tuple[str, Any]]:
        """The answer pipeline as events: ("status", str), ("token", str), ("answer", Answer)."""
        t0 = time.perf_counter()
        settings = self.settings
        text, truncated = clean_question(question, settings.max_question_chars)
        self.refresh()
        lang = language if language in ("fr", "en") else self.language_of(text)
        notices = [TRUNCATED_NOTICE[lang].format(n=settings.max_question_chars)] if truncated else []
        standalone = text
        if history:
            yield "status", "rewriting follow-up"
            standalone = self.rewrite(text, history)
        yield "status", "retrieving"
        passages, retrieve_ms = self.retriever.retrieve(standalone, k=k or settings.k, language=lang)
        timings = Timings(retrieve_ms=round(retrieve_ms, 2))
        answer = Answer(question=text, answer="", language=lang, passages=passages, timings=timings,
                        standalone_question=standalone if standalone != text else None, notices=notices)
        dense_scored = self.settings.channels != "lexical"
        if not passages or (dense_scored and max(p.score for p in passages) < MIN_RELEVANCE):
            yield from self._abstain(answer, t0)
            return
        passages, texts = self._evidence(standalone, lang, passages)
        answer.passages = passages
        messages = build_messages(standalone, passages[:len(texts)], lang, texts)
        yield "status", "generating"
        raw = yield from self._generate(messages, timings, t0, echo_of=standalone)
        result = None
        hint = None
        if is_degenerate(raw, standalone, lang):
            # Small models sometimes echo the question or emit bare markers.
            hint = RETRY_HINT[lang]
        else:
            result = self._verified(answer, raw)
            if result is None and figures_not_in(raw, [p.text for p in passages[:len(texts)]], lang):
                # A figure the passages do not contain: usually a mistranslated amount
                # ("20 000 milliards" -> "20 billion"), worth one more try.
                hint = FIGURES_HINT[lang]
        if hint:
            yield "status", "retrying"
            retry = messages[:-1] + [{"role": "user", "content": f"{messages[-1]['content']}\n{hint}"}]
            raw = yield from self._generate(retry, timings, t0)
            result = self._verified(answer, raw)
        answer.raw_answer = raw
        yield from self._finish(answer, result, t0)

    def _evidence(self, question: str, lang: str, passages: list[Passage]) -> tuple[list[Passage], list[str]]:
        """Passages reordered so those given to the LLM come first, and their evidence texts."""
        budget = self.settings.context_budget
        if budget <= 0:
            return passages, [p.text for p in passages]
        from .evidence import EvidenceSelector

        texts = EvidenceSelector(self.retriever).select(question, lang, passages, budget=budget)
        used = [i for i, t in enumerate(texts) if t]
        rest = [i for i, t in enumerate(texts) if not t]
        return [passages[i] for i in used + rest], [texts[i] for i in used]

    def _generate(self, messages: list[dict[str, str]], timings: Timings, t0: float,
                  echo_of: str | None = None) -> Generator[tuple[str, Any], None, str]:
        """Stream one LLM completion as token events; returns the raw text.

        With ``echo_of`` (the question), the first words are held back until it is
        clear the answer is not repeating the question; if it is, generation stops
        there and "" is returned (nothing was shown).
        """
        llm = self.llm
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
            timings.llm_ms = round(timings.llm_ms + (time.perf_counter() - started) * 1000, 1)
            try:  # informative only, and counted after the answer so it never delays the first token
                timings.prompt_tokens = llm.count_tokens(messages)
            except Exception:
                log.debug("token count failed", exc_info=True)
        timings.completion_tokens += len(pieces)
        return "" if echoed else "".join(pieces).strip()

    def _verified(self, answer: Answer, raw: str) -> Any:
        """The verification of ``raw``, or None when it must end in an abstention."""
        if not strip_markers(raw) or ABSTAIN_TOKEN in raw.upper().replace(" ", "_"):
            return None
        judge = self.judge
        question = answer.standalone_question or answer.question
        result = verify_answer(raw, answer.passages, supports=judge.supports, score=judge.score,
                               question=question, language=answer.language)
        if not result.any_supported or not addresses_question(
            question, answer.language, result.answer, [c.quote for c in result.citations if c.supported],
        ):
            return None
        return result

    def _finish(self, answer: Answer, result: Any, t0: float) -> Iterator[tuple[str, Any]]:
        if result is None:
            yield from self._abstain(answer, t0)
            return
        answer.answer = result.answer
        answer.citations = result.citations
        answer.unsupported_sentences = result.unsupported_sentences
        answer.timings.total_ms = round((time.perf_counter() - t0) * 1000, 1)
        yield "answer", answer

    def _abstain(self, answer: Answer, t0: float) -> Iterator[tuple[str, Any]]:
        answer.abstained = True
        answer.answer = ABSTAIN_MESSAGE[answer.language]
        answer.citations = []
        answer.unsupported_sentences = []
        answer.timings.total_ms = round((time.perf_counter() - t0) * 1000, 1)
        yield "answer", answer

    def conversation(self) -> Conversation:
        return Conversation(self)


class Conversation:
    """A chat: follow-up questions are rewritten from the history before retrieval."""

    def __init__(self, assistant: Assistant, max_turns: int = 6) -> None:
        self.assistant = assistant
        self.history: list[tuple[str, str]] = []
        self.max_turns = max_turns

    def stream(self, question: str, **kwargs: Any) -> AnswerStream:
        history = list(self.history[-self.max_turns:])
        inner = self.assistant.events(question, history=history, **kwargs)

        def events() -> Iterator[tuple[str, Any]]:
            for kind, value in inner:
                if kind == "answer":
                    self.history.append((value.standalone_question or value.question, value.answer))
                yield kind, value

        return AnswerStream(events())

    def ask(self, question: str, **kwargs: Any) -> Answer:
        s = self.stream(question, **kwargs)
        for _ in s:
            pass
        assert s.answer is not None
        return s.answer

    def clear(self) -> None:
        self.history.clear()
