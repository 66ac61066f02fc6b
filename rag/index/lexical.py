"""BM25 lexical index over chunks, aware of French and English.

Each chunk is analysed with its own language (:func:`rag.text.analysis.tokenize`).
A query is analysed with its own language *and* with every document language
in the index, and the union of terms is searched: an English question still
matches a French chunk on shared names, numbers and cognates ("Anthropic",
"2,7" == "2.7", "investment"/"investissement" -> "invest").

The index is a small numpy implementation of Lucene's BM25 with the
per-(term, chunk) weights computed once at build time and stored term-major
(CSC layout), so a query costs one vector addition per query term. It has no
dependency beyond numpy and persists to a single versioned ``.npz`` file.

Why not ``bm25s`` (once declared, never imported, now dropped): it tokenises
one corpus with one stemmer, while here every chunk is analysed in its own
language, a query in several languages at once with its words' translations
(found by the caller through word vectors, or the bilingual lexicon's), numbers
are canonicalised ("20 000" == "20000"), and the index is one more checksummed
file of the store's generations (no pickles).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rag.text.analysis import LANGUAGES, tokenize
from rag.text.lexicon import translate_stems

__all__ = ["FORMAT_VERSION", "LexicalIndex", "state_problem"]

# Bump when the saved arrays or the analyser change meaning (a new stop list or
# stemmer makes old terms unreachable): loading then asks for a rebuild.
FORMAT_VERSION = 1
_STATE_KEYS = frozenset({"vocabulary", "indptr", "indices", "weights", "languages", "k1", "b"})


# Weight of a lexicon translation relative to a word of the query itself.
TRANSLATION_WEIGHT = 0.6


def state_problem(state: Mapping[str, Any]) -> str | None:
    """Why a saved state cannot be used (another format version, missing arrays), or None.

    The store checks it when it loads an index, so the refusal can name the index folder.

    >>> state_problem({"format_version": 0}), state_problem({"format_version": FORMAT_VERSION}) is None
    ('lexical index format version 0 is not supported (expected 1)', False)
    """
    try:
        version = int(state.get("format_version", -1))
    except (TypeError, ValueError):
        version = -1
    if version != FORMAT_VERSION:
        return f"lexical index format version {version} is not supported (expected {FORMAT_VERSION})"
    missing = sorted(_STATE_KEYS - set(state))
    return f"lexical index state lacks {missing}" if missing else None


class LexicalIndex:
    """A BM25 index; positions in results are indexes into the built texts.

    >>> index = LexicalIndex.build(
    ...     ["OpenAI perdra environ 5 milliards de dollars.",
    ...      "Anthropic devrait dépenser 2,7 milliards de dollars en 2024."],
    ...     ["fr", "fr"])
    >>> [pos for pos, _ in index.search("How much will Anthropic spend in 2024?", "en", k=2)]
    [1]
    """

    def __init__(
        self,
        *,
        vocabulary: Sequence[str],
        indptr: np.ndarray,
        indices: np.ndarray,
        weights: np.ndarray,
        languages: Sequence[str],
        k1: float,
        b: float,
    ) -> None:
        if len(indptr) != len(vocabulary) + 1:
            raise ValueError("indptr must have one entry per term plus one")
        if len(indices) != len(weights) or int(indptr[-1]) != len(indices):
            raise ValueError("indices and weights must match indptr")
        self.vocabulary = list(vocabulary)
        self._term_ids = {t: i for i, t in enumerate(self.vocabulary)}
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int32)
        self.weights = np.asarray(weights, dtype=np.float32)
        self.languages = list(languages)
        self.k1 = float(k1)
        self.b = float(b)
        self._analysers = sorted(set(self.languages))

    def __len__(self) -> int:
        return len(self.languages)

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        languages: Sequence[str],
        *,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> LexicalIndex:
        """Index ``texts``, each analysed as the matching entry of ``languages``.

        ``k1=1.2, b=0.75`` are the Lucene/Anserini defaults; chunks are short
        and of similar length, so length normalisation matters little.
        """
        if len(texts) != len(languages):
            raise ValueError(
                f"got {len(texts)} texts but {len(languages)} languages; give one language per text"
            )
        bad = sorted(set(languages) - set(LANGUAGES))
        if bad:
            raise ValueError(f"unsupported languages {bad}: expected one of {LANGUAGES}")
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")

        term_ids: dict[str, int] = {}
        doc_terms: list[np.ndarray] = []
        lengths = np.zeros(len(texts), dtype=np.float64)
        for i, (text, lang) in enumerate(zip(texts, languages, strict=True)):
            tokens = tokenize(text, lang)
            lengths[i] = len(tokens)
            doc_terms.append(
                np.fromiter((term_ids.setdefault(t, len(term_ids)) for t in tokens), np.int64, len(tokens))
            )
        n_docs, n_terms = len(texts), len(term_ids)
        vocabulary = [""] * n_terms
        for term, tid in term_ids.items():
            vocabulary[tid] = term

        if doc_terms and sum(len(d) for d in doc_terms):
            terms = np.concatenate(doc_terms)
            docs = np.repeat(np.arange(n_docs, dtype=np.int64), [len(d) for d in doc_terms])
            # One key per (term, doc), sorted term-major: unique gives the CSC
            # layout and the term frequencies in one pass.
            keys, tf = np.unique(terms * max(n_docs, 1) + docs, return_counts=True)
            term_of, doc_of = np.divmod(keys, max(n_docs, 1))
        else:
            tf = term_of = doc_of = np.zeros(0, dtype=np.int64)

        df = np.bincount(term_of, minlength=n_terms).astype(np.float64)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))  # Lucene: never negative
        avgdl = float(lengths.mean()) if n_docs and lengths.sum() else 1.0
        norm = k1 * (1.0 - b + b * lengths[doc_of] / avgdl)
        weights = idf[term_of] * tf * (k1 + 1.0) / (tf + norm)
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=indptr[1:])
        return cls(
            vocabulary=vocabulary,
            indptr=indptr,
            indices=doc_of.astype(np.int32),
            weights=weights.astype(np.float32),
            languages=list(languages),
            k1=k1,
            b=b,
        )

    def query_terms(self, query: str, query_lang: str) -> list[str]:
        """Distinct index terms of ``query``: its own analysis, its analysis in each
        other document language of the index, and the lexicon's translations.

        >>> LexicalIndex.build(["x"], ["fr"]).query_terms("Anthropic's revenues", "en")
        ['anthrop', 'revenu', 'anthropic', 'chiffr', 'recet', 'revenus']
        """
        return list(self.weighted_query_terms(query, query_lang))

    def weighted_query_terms(self, query: str, query_lang: str,
                             translations: Mapping[str, float] | None = None) -> dict[str, float]:
        """Query terms with their weight: 1 for the query's own words, less for translations
        (a guess is weaker evidence than the word itself).

        ``translations`` are index terms of the other language with their weight, found by the
        caller (:func:`rag.answer.expansion.translations`, word vectors of the embedder); without
        them, the bilingual lexicon's translations count at ``TRANSLATION_WEIGHT``.

        >>> index = LexicalIndex.build(["Le fleuve déborde."], ["fr"])
        >>> index.weighted_query_terms("river floods", "en", {"fleuv": 0.5})
        {'river': 1.0, 'flood': 1.0, 'riv': 1.0, 'fleuv': 0.5}
        """
        if query_lang not in LANGUAGES:
            raise ValueError(f"unsupported query language {query_lang!r}: expected one of {LANGUAGES}")
        terms: dict[str, float] = {}
        own = tokenize(query, query_lang)
        for term in own:
            terms[term] = 1.0
        for lang in self._analysers:
            if lang == query_lang:
                continue
            for term in tokenize(query, lang):
                terms[term] = 1.0
            if translations is None:
                # Cross-lingual: the bilingual lexicon's translations of the question's
                # words ("spend money" -> "dépens argent"), so an English question can
                # match French text on more than shared names and numbers.
                for term in translate_stems(own, query_lang):
                    terms.setdefault(term, TRANSLATION_WEIGHT)
        for term, weight in (translations or {}).items():
            terms.setdefault(term, weight)
        return terms

    def scores(self, query: str, query_lang: str, translations: Mapping[str, float] | None = None) -> np.ndarray:
        """BM25 score of every indexed text for ``query`` (float32 array)."""
        scores = np.zeros(len(self), dtype=np.float32)
        for term, weight in self.weighted_query_terms(query, query_lang, translations).items():
            tid = self._term_ids.get(term)
            if tid is None:
                continue
            start, end = self.indptr[tid], self.indptr[tid + 1]
            # Each doc appears at most once per term, so fancy-index += is exact
            # (and much faster than np.add.at).
            scores[self.indices[start:end]] += weight * self.weights[start:end]
        return scores

    def search(self, query: str, query_lang: str, k: int,
               translations: Mapping[str, float] | None = None) -> list[tuple[int, float]]:
        """The ``k`` best ``(position, score)`` pairs, best first, scores > 0 only
        (``translations``: see :meth:`weighted_query_terms`).

        Ties are broken by position so results are deterministic.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        scores = self.scores(query, query_lang, translations)
        hits = np.flatnonzero(scores > 0)
        if k == 0 or hits.size == 0:
            return []
        if hits.size > k:
            # Keep everything tied with the k-th score so the tie-break below is exact.
            kth = np.partition(scores[hits], hits.size - k)[hits.size - k]
            hits = hits[scores[hits] >= kth]
        order = np.lexsort((hits, -scores[hits]))[:k]
        return [(int(hits[i]), float(scores[hits[i]])) for i in order]

    # -- persistence ---------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Arrays and settings that :meth:`from_state` turns back into this index."""
        return {
            "format_version": np.int64(FORMAT_VERSION),
            "vocabulary": np.asarray(self.vocabulary, dtype=np.str_),
            "indptr": self.indptr,
            "indices": self.indices,
            "weights": self.weights,
            "languages": np.asarray(self.languages, dtype=np.str_),
            "k1": np.float64(self.k1),
            "b": np.float64(self.b),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LexicalIndex:
        """Rebuild an index from :meth:`to_state`; refuses other format versions."""
        problem = state_problem(state)
        if problem:
            raise ValueError(f"{problem}; rebuild the index")
        return cls(
            vocabulary=[str(t) for t in state["vocabulary"]],
            indptr=np.asarray(state["indptr"]),
            indices=np.asarray(state["indices"]),
            weights=np.asarray(state["weights"]),
            languages=[str(x) for x in state["languages"]],
            k1=float(state["k1"]),
            b=float(state["b"]),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to one ``.npz`` file (no pickles)."""
        with open(path, "wb") as f:
            np.savez_compressed(f, **self.to_state())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LexicalIndex:
        """Read an index written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            return cls.from_state({name: data[name] for name in data.files})
