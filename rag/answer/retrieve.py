"""Hybrid retrieval: dense (FAISS) + lexical (BM25), fused, merged into passages.

Fusion is weighted reciprocal-rank fusion. The lexical channel's weight depends
on whether the question's language matches the chunk's: an English question
shares only names and numbers with a French article, so there BM25 evidence is
trusted less (weights set on the dev set, see ``FusionWeights``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.answer.evidence import Counterparts, lexical_scores
from rag.answer.news import date_ranked, passage_fields, without_copies
from rag.index import vectors
from rag.index.chunk import retrieval_texts
from rag.index.embed import Embedder
from rag.index.store import IndexData
from rag.records import Chunk, Passage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FusionWeights:
    """How the channels are combined; values set on eval/dev.jsonl (see README).

    ``sentence``: the dense score of a chunk is ``(1 - sentence) * cos(question, chunk)
    + sentence * max cos(question, sentence of chunk)``. 0.5 took English dense
    recall@1 on the dev set from 0.67 to 0.89 (French unchanged); 0.3-0.7 all help
    there, 1.0 hurts. With chunks carrying their title (``CHUNK_CONTEXT``), 0.3 is
    better on the tune splits of eval/outside and eval/outside-fr (recall@1, French
    articles, French questions 0.77 -> 0.81; English articles, English questions
    0.79 -> 0.81; dev unchanged), so 0.3 it is.
    ``lexical_cross_language``: RRF weight of BM25 hits in a language other than
    the question's. On the dev set 0.7 and 1.0 tie (both reach recall@1 1.00 in
    English); 0.7 is kept because cross-language term overlap is noisier on
    harder questions. ``rrf_k`` dampens rank differences (60 is the usual constant).
    ``rescore`` / ``rescore_depth``: the fused top ``rescore_depth`` chunks are re-ranked by
    ``fused / best fused + rescore * best sentence``, where a sentence scores its dense
    cosine with the question plus the IDF-weighted share of the question's terms it holds
    (with its article's title), the evidence selector's own score
    (:func:`rag.answer.evidence.lexical_scores`). The right chunk is often 2nd to 5th,
    behind a chunk of the same article that shares more words without stating the fact;
    one sentence holding the question's rarer terms tells them apart, and the IDF is taken
    over the candidates' sentences, so a word every candidate shares counts little. Set on
    the tune splits and dev, retrieval only (recall@1 / MRR@10, French then English
    questions): 0 (off) -> 0.3 at depth 20, outside-fr tune 0.79 / 0.86 -> 0.79 / 0.87 and
    0.70 / 0.83 -> 0.75 / 0.86; outside tune 0.69 / 0.77 -> 0.73 / 0.80 and 0.81 / 0.88 ->
    0.84 / 0.90; fresh tune 0.60 / 0.72 -> 0.63 / 0.75 and 0.80 / 0.89 -> 0.86 / 0.92; dev
    unchanged (1.00, 0.89). 0.2-0.4 and depth 10-30 give the same within 0.02; 1.0 and
    2.0 lose on outside tune, and the title's terms are worth keeping (without them, dev
    English recall@1 0.89 -> 0.78).
    """

    dense: float = 1.0
    lexical_same_language: float = 1.0
    lexical_cross_language: float = 0.7
    sentence: float = 0.3
    rrf_k: float = 60.0
    rescore: float = 0.3
    rescore_depth: int = 20


def rrf_fuse(rankings: Sequence[Sequence[int]], weights: Sequence[float] | Sequence[Sequence[float]],
             rrf_k: float = 60.0) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion of several ranked id lists.

    ``weights`` gives one weight per ranking, or per ranking a weight per position.

    >>> rrf_fuse([[1, 2, 3], [3, 1]], [1.0, 1.0], rrf_k=0)
    [(1, 1.5), (3, 1.3333333333333333), (2, 0.5)]
    """
    scores: dict[int, float] = {}
    for r, ranking in enumerate(rankings):
        w = weights[r]
        for pos, item in enumerate(ranking):
            wi = w[pos] if isinstance(w, Sequence) else w
            scores[item] = scores.get(item, 0.0) + wi / (rrf_k + pos + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def merge_spans(hits: Sequence[tuple[Chunk, float, float]], k: int, *, max_chars: int) -> list[tuple[str, int, int, float, float, list[str]]]:
    """Merge ranked chunks of the same document that overlap or touch into passages.

    ``hits`` are (chunk, fused score, dense score) best first. Returns up to ``k``
    passages as (doc_id, start, end, fused, dense, chunk_ids) in rank order, ``chunk_ids``
    best-ranked first (a passage's ``chunk_id`` is its best-ranked chunk; a citation names
    the chunk that holds its quote, :func:`holding_chunk`). A merge that would exceed
    ``max_chars`` is not made.
    """
    passages: list[list[Any]] = []
    for chunk, fused, dense in hits:
        merged = False
        for p in passages:
            if p[0] == chunk.doc_id and chunk.start <= p[2] + 1 and chunk.end >= p[1] - 1:
                start, end = min(p[1], chunk.start), max(p[2], chunk.end)
                if end - start <= max_chars:
                    p[1], p[2] = start, end
                    p[4] = max(p[4], dense)
                    p[5].append(chunk.chunk_id)
                    merged = True
                    break
        if not merged:
            if len(passages) >= k:
                continue
            passages.append([chunk.doc_id, chunk.start, chunk.end, fused, dense, [chunk.chunk_id]])
    return [tuple(p) for p in passages]  # type: ignore[misc]


def holding_chunk(chunks: Sequence[Chunk], start: int, end: int) -> Chunk | None:
    """The chunk of ``chunks`` (one document's, in any order) that holds the span
    ``[start, end)``: one that holds all of it if there is one (chunks overlap), else
    the one that holds its start; None when no chunk holds ``start``.

    A passage merged from adjacent chunks carries one ``chunk_id``, its best-ranked
    chunk's, which need not hold a quote taken from it: this names the right one.

    >>> cs = [Chunk("d:0-497", "d", 0, 497, ""), Chunk("d:498-902", "d", 498, 902, ""),
    ...       Chunk("d:903-1292", "d", 903, 1292, ""), Chunk("d:1192-1654", "d", 1192, 1654, "")]
    >>> holding_chunk(cs, 560, 718).chunk_id, holding_chunk(cs, 1200, 1300).chunk_id
    ('d:498-902', 'd:1192-1654')
    >>> holding_chunk(cs, 880, 950).chunk_id, holding_chunk(cs, 5000, 5010)
    ('d:498-902', None)
    """
    holding = sorted((c for c in chunks if c.start <= start < c.end), key=lambda c: c.start)
    return next((c for c in holding if end <= c.end), holding[0] if holding else None)


class Retriever:
    """Ranks passages of one loaded index for a question."""

    def __init__(self, data: IndexData, embedder: Embedder, *, weights: FusionWeights | None = None,
                 candidates: int = 40, use_lexical: bool = True, use_dense: bool = True,
                 reranker: Any = None, rerank_depth: int = 20, news: bool = True, word_match: float = 0.0) -> None:
        self.data = data
        # Across languages, sentence terms also match the question's words through word
        # vectors at this cosine (rag.answer.align; 0 = the bilingual word list only).
        self.word_match = word_match
        self.news = news
        self.embedder = embedder
        self.weights = weights or FusionWeights()
        self.candidates = candidates
        self.use_lexical = use_lexical
        self.use_dense = use_dense
        self.reranker = reranker
        self.rerank_depth = rerank_depth
        self.index = data.faiss_index if data.faiss_index is not None else vectors.build(data.embeddings)
        self._lexical: Any = None
        self.chunk_languages = [c.language for c in data.chunks]
        self._qcache: dict[str, np.ndarray] = {}
        self._chunk_words: dict[tuple[str, str], dict[str, str]] = {}
        self._sent_by_doc: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._chunks_by_doc: dict[str, list[Chunk]] | None = None
        if data.sentences is not None and len(data.sentences.doc_ids):
            st = data.sentences
            order = np.lexsort((st.starts, st.doc_ids))
            ids = st.doc_ids[order]
            cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
            for rows in np.split(order, cuts):
                self._sent_by_doc[str(st.doc_ids[rows[0]])] = (st.starts[rows], st.ends[rows], rows)

    def query_vector(self, question: str) -> np.ndarray:
        """The question's embedding (small cache: evidence selection reuses it)."""
        v = self._qcache.get(question)
        if v is None:
            v = self.embedder.encode_queries([question])[0]
            if len(self._qcache) > 64:
                self._qcache.clear()
            self._qcache[question] = v
        return v

    def chunk_id_holding(self, doc_id: str, start: int, end: int) -> str | None:
        """The id of the chunk of ``doc_id`` that holds ``[start, end)`` (:func:`holding_chunk`)."""
        if self._chunks_by_doc is None:
            by_doc: dict[str, list[Chunk]] = {}
            for c in self.data.chunks:
                by_doc.setdefault(c.doc_id, []).append(c)
            self._chunks_by_doc = by_doc
        found = holding_chunk(self._chunks_by_doc.get(doc_id, []), start, end)
        return found.chunk_id if found is not None else None

    def forget_queries(self) -> None:
        """Empty the question-vector cache: a latency measurement must pay for every embedding."""
        self._qcache.clear()

    def sentence_rows(self, doc_id: str, start: int, end: int) -> np.ndarray:
        """Rows of the sentence table lying inside ``[start, end)`` of ``doc_id``."""
        entry = self._sent_by_doc.get(doc_id)
        if entry is None:
            return np.zeros(0, dtype=np.int64)
        starts, ends, rows = entry
        lo = np.searchsorted(starts, start, side="left")
        hi = np.searchsorted(starts, end, side="left")
        sel = rows[lo:hi]
        return sel[ends[lo:hi] <= end]

    def sentence_scores(self, qv: np.ndarray, rows: np.ndarray) -> np.ndarray:
        st = self.data.sentences
        if st is None or rows.size == 0:
            return np.zeros(0, dtype=np.float32)
        return st.vectors[rows].astype(np.float32) @ qv

    def _dense_scores(self, qv: np.ndarray, candidates: list[int]) -> dict[int, float]:
        """Chunk cosine blended with the chunk's best sentence cosine."""
        chunk_cos = self.data.embeddings[candidates] @ qv
        w = self.weights.sentence if self._sent_by_doc else 0.0
        out = {}
        for i, cc in zip(candidates, chunk_cos.tolist()):
            if w:
                c = self.data.chunks[i]
                ss = self.sentence_scores(qv, self.sentence_rows(c.doc_id, c.start, c.end))
                best = float(ss.max()) if ss.size else cc
                out[i] = (1 - w) * cc + w * best
            else:
                out[i] = cc
        return out

    @property
    def lexical(self) -> Any:
        if self._lexical is None:
            from rag.index.lexical import LexicalIndex

            if self.data.lexical_state is not None:
                self._lexical = LexicalIndex.from_state(self.data.lexical_state)
            else:
                self._lexical = LexicalIndex.build(retrieval_texts(self.data.chunks, self.data.documents),
                                                   self.chunk_languages)
        return self._lexical

    def ranked_chunks(self, question: str, language: str) -> list[tuple[int, float, float]]:
        """(chunk row, fused score, dense score) best first."""
        n = self.candidates
        rankings: list[list[int]] = []
        weights: list[Any] = []
        dense_scores: dict[int, float] = {}
        hits: list[int] = []
        if self.use_dense:
            qv = self.query_vector(question)
            hits = [i for i, _ in vectors.search(self.index, qv, n)]
        lex = self.lexical.search(question, language, n, self.translations(question, language, hits)) \
            if self.use_lexical else []
        if self.use_dense:
            candidates = list(dict.fromkeys(hits + [i for i, _ in lex]))
            dense_scores = self._dense_scores(qv, candidates)
            rankings.append(sorted(candidates, key=lambda i: -dense_scores[i])[:n])
            weights.append(self.weights.dense)
        if lex:
            rankings.append([i for i, _ in lex])
            weights.append([
                self.weights.lexical_same_language if self.chunk_languages[i] == language
                else self.weights.lexical_cross_language
                for i, _ in lex
            ])
        fused = rrf_fuse(rankings, weights, self.weights.rrf_k)
        if self.use_dense and self.weights.rescore > 0 and self._sent_by_doc:
            fused = self._rescored(question, language, fused)
        if self.reranker is not None and fused:
            from rag.answer.rerank import rerank

            score_of = dict(fused)
            order = [i for i, _ in fused]
            order = rerank(order, [self.data.chunks[i].text for i in order], question, self.reranker,
                           self.rerank_depth)
            fused = [(i, score_of[i]) for i in order]
        return [(i, s, dense_scores.get(i, 0.0)) for i, s in fused]

    def translations(self, question: str, language: str, hits: Sequence[int]) -> dict[str, float] | None:
        """The BM25 query's terms across languages: words of the dense ``hits`` that translate the
        question's (:func:`rag.answer.expansion.translations`); None (the bilingual word list)
        when word vectors are off or there is no dense channel."""
        if self.word_match <= 0 or not self.use_dense:
            return None
        from rag.answer.align import aligner_for
        from rag.answer.expansion import passage_words, translations
        from rag.index.lexical import TRANSLATION_WEIGHT

        chunks = [self.data.chunks[i] for i in hits]
        words = passage_words([(self.data.documents[c.doc_id].text[c.start:c.end], c.language) for c in chunks],
                              language, self._words_of)
        if not words:
            return {}
        return translations(question, language, words, aligner_for(self.embedder).vectors,
                            threshold=self.word_match, weight=TRANSLATION_WEIGHT)

    def _words_of(self, text: str, language: str) -> dict[str, str]:
        """:func:`rag.answer.expansion.words_of`, kept per chunk text (a question reads 40 chunks)."""
        from rag.answer.expansion import words_of

        key = (text, language)
        found = self._chunk_words.get(key)
        if found is None:
            if len(self._chunk_words) >= 20_000:
                self._chunk_words.clear()
            found = self._chunk_words[key] = words_of(text, language)
        return found

    def _rescored(self, question: str, language: str, fused: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """The fused top ``rescore_depth`` re-ranked by their best sentence (see :class:`FusionWeights`)."""
        depth = self.weights.rescore_depth
        top, rest = fused[:depth], fused[depth:]
        if len(top) < 2:
            return fused
        qv = self.query_vector(question)
        st = self.data.sentences
        owners: list[int] = []
        dense: list[np.ndarray] = []
        texts: list[str] = []
        langs: list[str] = []
        for j, (i, _) in enumerate(top):
            c = self.data.chunks[i]
            rows = self.sentence_rows(c.doc_id, c.start, c.end)
            if not rows.size:
                continue
            doc = self.data.documents[c.doc_id]
            dense.append(self.sentence_scores(qv, rows))
            owners.extend([j] * rows.size)
            texts.extend(f"{doc.title} {doc.text[int(a):int(b)]}" for a, b in zip(st.starts[rows], st.ends[rows]))
            langs.extend([doc.language] * rows.size)
        if not texts:
            return fused
        scores = np.concatenate(dense) + lexical_scores(question, language, langs, texts, self.counterparts())
        best = np.zeros(len(top))
        np.maximum.at(best, np.asarray(owners), scores)
        top_fused = max(f for _, f in top) or 1.0
        combined = [f / top_fused + self.weights.rescore * float(b) for (_, f), b in zip(top, best)]
        order = sorted(range(len(top)), key=lambda j: -combined[j])
        return [top[j] for j in order] + rest

    def counterparts(self) -> Counterparts | None:
        """A sentence's words that mean a question's words across languages, or None when off."""
        if self.word_match <= 0:
            return None
        from rag.answer.align import aligner_for

        return functools.partial(aligner_for(self.embedder).counterparts, threshold=self.word_match)

    def retrieve(self, question: str, *, k: int, language: str, since: dt.date | None = None,
                 until: dt.date | None = None) -> tuple[list[Passage], float]:
        """Top-``k`` passages and the time taken in ms; ``since``/``until`` bound the article dates."""
        t0 = time.perf_counter()
        ranked = self.ranked_chunks(question, language)
        hits = [(self.data.chunks[i], f, d) for i, f, d in ranked]
        hits = self.news_hits(hits, question, since=since, until=until)
        max_chars = max(2 * self.data.chunk_size, 800)
        merged = merge_spans(hits, k, max_chars=max_chars)
        out = []
        for rank, (doc_id, start, end, _fused, dense, chunk_ids) in enumerate(merged, 1):
            doc = self.data.documents[doc_id]
            out.append(Passage(
                rank=rank, doc_id=doc_id, chunk_id=chunk_ids[0], start=start, end=end,
                score=round(float(dense), 4), text=doc.text[start:end], title=doc.title,
                date=doc.date, language=doc.language, **passage_fields(doc, self.data.copies),
            ))
        return out, (time.perf_counter() - t0) * 1000

    def news_hits(self, hits: list[tuple[Chunk, float, float]], question: str, *, since: dt.date | None = None,
                  until: dt.date | None = None) -> list[tuple[Chunk, float, float]]:
        """Hits within the date range, boosted by the time the question names, and with the
        chunks of copies that repeat a better-ranked chunk of their story dropped (so copies
        never fill the k passages). See :mod:`rag.answer.news`."""
        hits = date_ranked(hits, self.data.documents, question, since=since, until=until, boost=self.news)
        return without_copies(hits, self.data.copies)


def names_found(question: str, language: str, passages: Sequence[Passage]) -> bool:
    """Whether a name of ``question`` (a capitalised content word) is written in a passage or its title.

    The pipeline abstains without asking the model when no passage is close to the question
    (dense cosine below ``MIN_RELEVANCE``), but a terse question made of a name and two nouns
    scores low with any embedder: "Roumagnac mariage date ?" reached 0.14 against the chunks
    of the article on Étienne Roumagnac (lives tune). A name found in the passages is
    lexical evidence that they are about what is asked.

    >>> p = Passage(1, "a", "a:0", 0, 30, 0.1, "Il épouse Anne en 1654.", title="Étienne Roumagnac")
    >>> names_found("Roumagnac mariage date ?", "fr", [p]), names_found("Quel temps fera-t-il ?", "fr", [p])
    (True, False)
    """
    from rag.text.analysis import analyze, fold

    names = {fold(t.surface) for t in analyze(question, language) if t.kind != "number" and t.surface[:1].isupper()}
    if not names:
        return False
    words = {fold(w) for p in passages for w in re.findall(r"\w+", f"{p.title} {p.text}")}
    return bool(names & words)
