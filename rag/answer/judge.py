"""Citation support judge: does a passage support one answer sentence?

Used by answer verification (drop or flag unsupported sentences) and by the
evaluation (ALCE-style citation precision and recall). The default
:class:`LexicalJudge` is deterministic, offline and cheap: it measures how much
of the claim's content the evidence covers, after accent folding and stemming
(:mod:`rag.text.analysis`), with

* numbers as a hard constraint: every number of the claim must appear in the
  evidence ("3,4" == "3.4", "20 000" == "20000", and "20 trillion" == "20 000
  milliards" through the scale words);
* names (capitalised words, "OpenAI", "GPT-4o") and numbers weighing more than
  common words;
* a small English/French lexicon of general news and economy words so an
  English claim can be checked against a French passage ("lose" ~ "perdre");
* meaning checks (:mod:`rag.answer.claims`) once coverage reaches the
  threshold: a number bound to what it counts, negation, the actor, a date
  bound to its event, and planted instructions, which are never evidence.
  :meth:`LexicalJudge.explain` gives the reason for a rejection.

Measured on the adversarial pairs of ``eval/judge/pairs.jsonl``
(``python -m rag.eval.judge_pairs``), coverage alone -> with the meaning
checks: tune precision 0.47 -> 0.76, recall 0.51 -> 0.51; check (never tuned
on) precision 0.52 -> 0.68, recall 0.59 -> 0.46. Cross-lingual pairs, tune:
precision 0.41 -> 0.71, recall 0.38 -> 0.38.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

import numpy as np

from rag.answer.claims import MEANING_CHECKS, meaning_reason, stems_match
from rag.answer.markers import strip_markers
from rag.text.analysis import LANGUAGES, Term, analyze, detect_language, fold, stem
from rag.text.lexicon import LEXICON, translation_table
from rag.text.numbers import plain_ordinals, range_end_years, scaled
from rag.text.sentences import sentence_spans

if TYPE_CHECKING:
    from rag.index.embed import Embedder

__all__ = ["LEXICON", "LexicalJudge", "SupportJudge", "strip_markers"]


@runtime_checkable
class SupportJudge(Protocol):
    """Anything that can tell whether ``evidence`` supports ``claim``."""

    def supports(self, claim: str, evidence: str) -> bool: ...

    def score(self, claim: str, evidence: str) -> float: ...



# Words that attribute or hedge a statement without being part of the fact it
# states ("according to the Journal, ..." cited against the sentence with the
# fact). Folded; compared before stemming.
_HEDGES = frozenset(
    fold(w)
    for w in """according reportedly approximately roughly around nearly almost
    some estimated environ approximativement presque près quelque selon
    also aussi already déjà still toujours""".split()
)

def _number_values(terms: Sequence[Term], lang: str) -> set[str]:
    """Canonical numbers of ``terms`` plus their scaled values ("5 milliards" -> "5000000000")."""
    values: set[str] = set()
    for i, term in enumerate(terms):
        if term.kind != "number":
            continue
        values.add(term.text)
        if i + 1 < len(terms):
            value = scaled(term.text, terms[i + 1].surface, lang)
            if value is not None:
                values.add(value)
    return values


class _Evidence(NamedTuple):
    stems: frozenset[str]
    surfaces: frozenset[str]
    numbers: frozenset[str]


@lru_cache(maxsize=4096)
def _evidence_profile(evidence: str) -> _Evidence:
    """Evidence analysed with both analysers: the claim may be in either language.

    Cached: verification checks every answer sentence against the same passages.
    """
    stems: set[str] = set()
    surfaces: set[str] = set()
    numbers: set[str] = set()
    for lang in LANGUAGES:
        terms = analyze(evidence, lang)
        stems.update(t.text for t in terms if t.kind != "number")
        surfaces.update(fold(t.surface) for t in terms if t.kind != "number")
        numbers.update(_number_values(terms, lang))
    numbers.update(range_end_years(evidence))  # "(1952–87)" gives 1987
    return _Evidence(frozenset(stems), frozenset(surfaces), frozenset(numbers))


def _any_match(candidates: Iterable[str], stems: frozenset[str]) -> bool:
    for c in candidates:
        if c in stems or any(stems_match(c, s) for s in stems):
            return True
    return False


# "Selon X, ..." / "..., according to X." / "d'après X": the attribution clause.
_ATTRIBUTION = re.compile(
    r"\b(?:selon|d'apr[eè]s|according to|as reported by|reported by)\b[^,;:.]*",
    re.IGNORECASE,
)
# A run of capitalised or digit-bearing words: one entity ("New York Times",
# "GitHub Copilot", "Llama 3.1").
_NAME_RUN = re.compile(
    # A name may follow an elision: "le maire d'Orvane", "l'Ouganda".
    r"(?:(?<![\w'’])|(?<=(?<!\w)[dDlL]['’])|(?<=(?<!\w)[qQ]u['’]))"
    r"[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:[ \u00a0]+(?:[A-ZÀ-ÖØ-Þ0-9][\w'’.-]*))*"
)


# Share of a claim's ordinary content words (not names, not numbers) that the
# evidence must have. Low on purpose: English claims reach French words only
# through the lexicon, so many words legitimately go unmatched.
MIN_PREDICATE_COVERAGE = 0.25


@lru_cache(maxsize=8192)
def _meaning_reason(claim: str, evidence: str, checks: tuple[str, ...] = MEANING_CHECKS) -> str | None:
    """:func:`rag.answer.claims.meaning_reason`, cached: verification asks about the same pairs again."""
    return meaning_reason(plain_ordinals(claim), plain_ordinals(evidence), checks)


class LexicalJudge:
    """Weighted coverage of the claim's content terms by the evidence.

    ``score`` is 0 when a claim number is missing from the evidence or the claim
    has no content word, else the weighted share of claim terms found in the
    evidence (directly, through a name's exact spelling, or through the
    lexicon), halved when the claim names an entity the evidence lacks while
    the evidence has its other names. ``supports`` is ``score >= threshold``.

    >>> judge = LexicalJudge()
    >>> evidence = ("Selon The Information, cette année, le créateur de ChatGPT "
    ...             "perdra environ 5 milliards de dollars.")
    >>> judge.supports("OpenAI is expected to lose about 5 billion dollars this year [1].", evidence)
    True
    >>> judge.supports("OpenAI is expected to lose about 7 billion dollars this year.", evidence)
    False
    """

    # Threshold 0.65, measured on 57 hand-labelled (claim, French evidence)
    # pairs, French and English claims (tests/test_judge.py): supported
    # paraphrases score 0.67-1.0, the lowest being claims whose subject the
    # evidence only refers to ("OpenAI" vs "le créateur de ChatGPT"); unsupported
    # claims score 0-0.60, the highest being a swapped lone subject ("OpenAI
    # dépense plus..." against the Anthropic sentence, 0.60). 0.65 sits in that
    # gap. Numbers are a separate hard check and need no margin. A swapped
    # single subject with everything else right ("Google a levé 600 millions")
    # still scores 0.71: a known limit of lexical coverage.
    # Re-swept on the judge pairs' tune split with the meaning checks on: precision
    # stays 0.70-0.75 from 0.40 to 0.75 (recall 0.61 -> 0.44); 0.65 keeps the
    # hand-labelled pairs above and is at the top of that precision range.
    DEFAULT_THRESHOLD = 0.65

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        name_weight: float = 2.0,
        number_weight: float = 2.0,
        lexicon: Mapping[str, Sequence[str]] | None = None,
        meaning: bool = True,
        checks: Sequence[str] = MEANING_CHECKS,
        embedder: Embedder | None = None,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold}")
        if name_weight <= 0 or number_weight <= 0:
            raise ValueError("name_weight and number_weight must be positive")
        self.threshold = threshold
        self.name_weight = name_weight
        self.number_weight = number_weight
        self.meaning = meaning
        unknown = set(checks) - set(MEANING_CHECKS)
        if unknown:
            raise ValueError(f"unknown meaning checks {sorted(unknown)}; known: {', '.join(MEANING_CHECKS)}")
        self.checks = tuple(c for c in MEANING_CHECKS if c in checks)  # planted instructions: always
        self.embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}
        self._translations = translation_table(LEXICON if lexicon is None else lexicon)
        self._lexicon_surfaces = frozenset(
            fold(w)
            for english, frenches in (LEXICON if lexicon is None else lexicon).items()
            for w in (english, *frenches)
        )

    def supports(self, claim: str, evidence: str) -> bool:
        """True when ``evidence`` supports ``claim`` (an answer sentence)."""
        return self.score(claim, evidence) >= self.threshold

    def score(self, claim: str, evidence: str) -> float:
        """Support score in [0, 1]: the coverage, or 0 when it reaches the threshold but a meaning check rejects.

        With an embedder, a claim in the other language than its evidence also scores
        from the threshold up when its cosine with an evidence sentence reaches
        ``CROSS_LINGUAL_COSINE`` (the meaning checks still apply)."""
        coverage = self.coverage(claim, evidence)
        if coverage < self.threshold and self.embedder is not None:
            cos = self._cross_lingual_cosine(claim, evidence)
            if cos >= self.CROSS_LINGUAL_COSINE:
                coverage = min(1.0, self.threshold + (cos - self.CROSS_LINGUAL_COSINE) / 2)
        if coverage >= self.threshold and self.meaning and _meaning_reason(strip_markers(claim), evidence, self.checks):
            return 0.0
        return coverage

    # An English answer over a French article shares only names and numbers with
    # it, and the English-French lexicon is deliberately small, so coverage alone
    # rejects most right cross-lingual claims (recall 0.375 on the judge pairs'
    # cross-lingual positives, tune split). USE-multilingual was trained for
    # cross-lingual retrieval: accepting a cross-lingual pair from this cosine
    # up, when no meaning check (numbers, actor, dates, negation, planted
    # instruction) objects, moved the whole tune split from precision 0.76 /
    # recall 0.51 to 0.74 / 0.62 (0.65: 0.74 / 0.67; 0.80: 0.75 / 0.54); the
    # check split, not tuned on, from 0.68 / 0.46 to 0.68 / 0.59.
    CROSS_LINGUAL_COSINE = 0.70

    def _vectors_of(self, texts: list[str]) -> np.ndarray:
        """Embeddings of ``texts``, the new ones encoded in one call (verification asks about the same sentences again)."""
        new = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if new and self.embedder is not None:
            if len(self._vectors) > 4096:
                self._vectors.clear()
            self._vectors.update(zip(new, self.embedder.encode_passages(new)))
        return np.stack([self._vectors[t] for t in texts])

    def _cross_lingual_cosine(self, claim: str, evidence: str) -> float:
        """Best cosine between the claim and an evidence sentence, when their languages differ; else 0."""
        claim = strip_markers(claim).strip()
        if not claim or detect_language(claim) == detect_language(evidence):
            return 0.0
        sentences = [evidence[s:e] for s, e in sentence_spans(evidence)] or [evidence]
        vectors = self._vectors_of([claim, *sentences])
        return float((vectors[1:] @ vectors[0]).max())

    def explain(self, claim: str, evidence: str) -> str | None:
        """Why ``evidence`` does not support ``claim``, or None when it does.

        >>> LexicalJudge().explain("OpenAI has 1.5 billion employees.",
        ...                        "OpenAI dépense environ 1,5 milliard de dollars en personnel.")
        'number: 1.5e+09 is count (employees) in the claim but money (USD) in the quote'
        """
        coverage = self.coverage(claim, evidence)
        if (coverage < self.threshold and self.embedder is not None
                and self._cross_lingual_cosine(claim, evidence) >= self.CROSS_LINGUAL_COSINE):
            coverage = self.threshold
        if coverage < self.threshold:
            return f"coverage: {coverage:.2f} of the claim's content is in the quote (needs {self.threshold:.2f})"
        return _meaning_reason(strip_markers(claim), evidence, self.checks) if self.meaning else None

    def coverage(self, claim: str, evidence: str) -> float:
        """Weighted share of the claim's content the evidence has, before the meaning checks."""
        claim = plain_ordinals(strip_markers(claim))
        evidence = plain_ordinals(evidence)
        lang = detect_language(claim)
        terms = [t for t in analyze(claim, lang) if fold(t.surface) not in _HEDGES]
        if not terms:
            return 0.0
        ev = _evidence_profile(evidence)

        for i, term in enumerate(terms):
            if term.kind != "number":
                continue
            # "20 trillion" matches "20 000 milliards" through the scaled value.
            values = _number_values(terms[i : i + 2], lang)
            if values.isdisjoint(ev.numbers):
                return 0.0

        total = matched = 0.0
        words = words_found = 0
        found_names: set[str] = set()
        names: set[str] = set()
        seen: set[str] = set()
        for term in terms:
            if term.text in seen:
                continue
            seen.add(term.text)
            if term.kind == "number":
                total += self.number_weight
                matched += self.number_weight  # all numbers were found above
                continue
            is_name = self._is_name(term)
            weight = self.name_weight if is_name else 1.0
            total += weight
            found = self._found(term, lang, ev)
            matched += weight * found
            if not is_name:
                words += 1
                words_found += bool(found)
            if is_name:
                names.add(term.text)
                if found:
                    found_names.add(term.text)
        coverage = matched / total
        if self._swapped_entity(claim, lang, names, found_names):
            coverage *= 0.5
        # Names alone do not make support: when the evidence has the claim's
        # entities but almost none of what the claim says about them ("Le Wall
        # Street Journal a lancé l'alerte sur la fin de l'explosion de l'IA"
        # against a sentence where the Journal reports on profits), halve it.
        if words >= 3 and words_found / words < MIN_PREDICATE_COVERAGE:
            coverage *= 0.5
        return coverage

    @staticmethod
    def _swapped_entity(claim: str, lang: str, names: set[str], found: set[str]) -> bool:
        """True when the claim names an entity the evidence lacks next to one it has.

        A lone missing name is often a subject the evidence refers to another
        way ("le créateur de ChatGPT" for OpenAI), but a missing name beside
        names the evidence does contain is usually a swapped or added entity
        ("Google, Microsoft et Apple"). Names are grouped into entities first
        ("GitHub Copilot" is found when "Copilot" is), and the source of an
        attribution ("Selon The Information, ...") is left out: the fact, not
        its source, is what the evidence must carry.
        """
        entities = []
        for run in _NAME_RUN.findall(_ATTRIBUTION.sub(" ", claim)):
            texts = {t.text for t in analyze(run, lang)} & names
            if texts:
                entities.append(bool(texts & found))
        return any(entities) and not all(entities)

    def _is_name(self, term: Term) -> bool:
        # A capitalised sentence-initial word is a name unless it is ordinary
        # vocabulary ("Users pay...", "Les revenus...").
        if term.kind == "name":
            return True
        return term.surface[:1].isupper() and fold(term.surface) not in self._lexicon_surfaces

    def _found(self, term: Term, lang: str, ev: _Evidence) -> bool:
        folded = fold(term.surface)
        if folded in ev.surfaces:
            return True
        other = "fr" if lang == "en" else "en"
        candidates = {term.text, stem(term.surface, other)}
        for c in list(candidates):
            candidates.update(self._translations[lang].get(c, ()))
        return _any_match(candidates, ev.stems)
