"""Text analysis shared by lexical retrieval and the citation support judge.

Pure functions over French and English text: accent folding, a cheap language
guess for short questions, and an analyser that turns text into folded,
stemmed content terms with numbers kept whole (``"3,4"`` and ``"3.4"`` are the
same token, ``"20 000"`` is ``"20000"``).

Stemming uses PyStemmer (Snowball), imported lazily so that importing this
module never fails; the error raised when it is missing says how to install it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import Any, Literal, NamedTuple

__all__ = [
    "LANGUAGES",
    "Term",
    "analyze",
    "detect_language",
    "fold",
    "fold_phrase",
    "identify_language",
    "stem",
    "tokenize",
]

LANGUAGES = ("fr", "en")

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "Œ": "OE", "Æ": "AE"})


def _normalize_chars(text: str) -> str:
    """Typographic apostrophes to ``'`` and œ/æ ligatures spelled out; case kept."""
    return text.translate(_APOSTROPHES).translate(_LIGATURES)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower-case, strip accents, normalise apostrophes and ligatures.

    >>> fold("L’Œuvre de l‘été à Montréal")
    "l'oeuvre de l'ete a montreal"
    >>> fold("Æsop ´s  CAFÉ")
    "aesop 's  cafe"
    """
    return _strip_accents(_normalize_chars(text).lower())


# Quotes and dashes that should not make two phrases differ when compared.
_PUNCT_FOLD = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "–": "-", "—": "-", "‑": "-"})


def fold_phrase(text: str) -> str:
    """:func:`fold`, with quotes and dashes unified and spaces collapsed: for comparing phrases.

    >>> print(fold_phrase("Général  5\u202fMILLIARDS d’euros — «ok»"))
    general 5 milliards d'euros - "ok"
    """
    return " ".join(fold(text.translate(_PUNCT_FOLD)).split())


# ---------------------------------------------------------------------------
# Stop words (folded). Function words only: anything that carries meaning in a
# news question (numbers, names, verbs like "perdre") must stay searchable.
# "ai" (j'ai) is deliberately absent: in news it is mostly "Mistral AI".

_FR_STOP = frozenset(
    fold(w)
    for w in """
    a à aie ait as au aux avait avaient avais avec avoir ayant
    c ça car ce ceci cela celà celle celles celui ces cet cette ceux chaque chez
    comme comment d dans de des donc dont du elle elles en encore es est et été
    être eu eux fait faites fut furent il ils j je jusqu jusque l la le les leur
    leurs lors lorsqu lorsque lui m ma mais me même mêmes mes moi mon n ne ni
    nos notre nous on ont ou où par parce pas peu peut plus pour pourquoi
    puisqu puisque qu quand que quel quelle quelles quels qui quoi s sa sans se
    sera seront ses si sien soi soit son sont sous suis sur t ta te tes toi ton
    tous tout toute toutes très tu un une unes uns vers voici voilà vos votre
    vous y aussi alors ainsi aucun aucune autre autres avant après bien cela
    ceux-ci déjà dont entre était étaient étant etc ici là celle-ci lequel
    laquelle lesquels lesquelles duquel auquel auxquels selon afin tant tel
    telle tels telles toujours trop vraiment déjà ceci quelque quelques
    combien
    """.split()
)

_EN_STOP = frozenset(
    fold(w)
    for w in """
    a about above after again against all am an and any are aren as at be
    because been before being below between both but by can cannot could did
    do does doing don down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is isn it its
    itself just let me more most my myself no nor not now of off on once only
    or other ought our ours ourselves out over own same she should so some such
    than that the their theirs them themselves then there these they this those
    through to too under until up very was wasn we were weren what when where
    which while who whom why will with won would you your yours yourself
    yourselves s t d ll m re ve y also per via whose upon
    """.split()
)

_STOP = {"fr": _FR_STOP, "en": _EN_STOP}


def stop_words(lang: str) -> frozenset[str]:
    """The folded stop-word list of ``lang``.

    >>> "les" in stop_words("fr") and "the" in stop_words("en")
    True
    """
    return _STOP[_check_lang(lang)]


def _check_lang(lang: str) -> str:
    if lang not in _STOP:
        raise ValueError(f"unsupported language {lang!r}: expected one of {LANGUAGES}")
    return lang


# ---------------------------------------------------------------------------
# Language detection for short questions.

# Marker words that are frequent in one language and not words of the other
# ("a", "en", "on", "son", "but", "an" are left out: they exist in both).
_FR_MARKERS = frozenset(
    fold(w)
    for w in """
    le la les de des du un une et est sont ont que qui quel quelle quels quelles
    combien comment pourquoi où quand dans pour sur par avec au aux il elle
    ils elles ce cette ces sa ses leur leurs été être avoir fait selon quoi
    lors est-ce mais ou donc car ne pas plus aussi très chez
    entre vers depuis après avant
    """.split()
)
_EN_MARKERS = frozenset(
    """
    the of to in is are was were what which who whom how why when where does do
    did about and for with by from that this these those it its has have had
    will would should could much many according expected there their they any
    into than then been being whose can
    """.split()
)
_ELISION_HINT = re.compile(r"\b(?:[ldnsjmtc]|qu|jusqu|lorsqu|puisqu)'[a-z]")
_FR_LETTERS = re.compile(r"[éèêëàâçîïôûùœ]")


def marker_votes(text: str) -> tuple[int, int]:
    """French and English function-word votes of ``text`` (a tie: its language is a guess)."""
    folded = fold(text)
    # Elided letters ("d'", "l'") are counted by _ELISION_HINT, not as words.
    words = re.findall(r"[a-z]{2,}(?:-[a-z]+)*", folded)
    fr = sum(w in _FR_MARKERS for w in words)
    en = sum(w in _EN_MARKERS for w in words)
    # Elisions and accented letters are strong French signals that survive in
    # questions made only of names ("Et d'Anthropic ?"). Accents count in lower-case words
    # and the first word only: a name keeps its spelling in either language ("When did
    # Amédée Brassac defend his thesis?" was read as French and answered in French).
    fr += 2 * len(_ELISION_HINT.findall(folded))
    tokens = text.split()
    fr += 2 * sum(len(_FR_LETTERS.findall(w.lower())) for i, w in enumerate(tokens) if i == 0 or not w[:1].isupper())
    return fr, en


def detect_language(text: str, *, default: str = "fr") -> str:
    """Guess whether ``text`` is French or English; returns ``"fr"`` or ``"en"``.

    Counts French and English function words first, which is reliable on
    short questions where character n-gram models are not; on a tie falls back
    to py3langid restricted to fr/en when installed, then to ``default``.

    >>> detect_language("Et Anthropic ?"), detect_language("What about Anthropic?")
    ('fr', 'en')
    >>> detect_language("Combien d'employés compte Mistral AI ?")
    'fr'
    >>> detect_language("Which investor led Mistral's Series B?"), detect_language("When did Amédée Brassac marry?")
    ('en', 'en')
    """
    if default not in _STOP:
        raise ValueError(f"default must be one of {LANGUAGES}, got {default!r}")
    fr, en = marker_votes(text)
    if fr != en:
        return "fr" if fr > en else "en"
    guessed = identify_language(text)
    return guessed if guessed is not None else default


def identify_language(text: str) -> str | None:
    """py3langid's reading of ``text`` restricted to fr/en; None for blank text or without py3langid.

    Reliable on sentences (answers, articles); on short questions
    :func:`detect_language` counts function words first.

    >>> identify_language("Les investisseurs ont levé des fonds importants."), identify_language("  ")
    ('fr', None)
    """
    if not text.strip():
        return None
    identifier = _langid_identifier()
    if identifier is None:
        return None
    lang, _ = identifier.classify(text)
    return lang if lang in _STOP else None


# Letters of scripts the articles' two languages do not use (Cyrillic, Greek, Arabic, Hebrew, CJK…).
_OTHER_SCRIPT = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def other_language(text: str, *, min_probability: float = 0.7) -> str | None:
    """The language code of ``text`` when it is clearly neither French nor English, else None
    ("" when its script is another but py3langid is not installed).

    Clearly: no French or English function word, and either most of its letters in another
    script, or py3langid (all its languages) at least ``min_probability`` sure. A terse
    question of names ("Jean Moulin arrestation") has no function word either, but py3langid
    is never sure of it.

    >>> [other_language(q) for q in ("Wie viel Geld wird OpenAI dieses Jahr verlieren?", "OpenAI今年将亏损多少钱？",
    ...  "Сколько денег потеряет OpenAI в этом году?")]
    ['de', 'zh', 'ru']
    >>> [other_language(q) for q in ("OpenAI valuation Feb 2024?", "Jean Moulin arrestation", "Combien OpenAI perd-elle ?")]
    [None, None, None]
    """
    if any(marker_votes(text)):
        return None
    letters = [c for c in text if c.isalpha()]
    if letters and sum(bool(_OTHER_SCRIPT.match(c)) for c in letters) > len(letters) / 2:
        identifier = _langid_identifier(restricted=False)
        return identifier.classify(text)[0] if identifier is not None else ""
    identifier = _langid_identifier(restricted=False)
    if identifier is None or not text.strip():
        return None
    code, probability = identifier.classify(text)
    return None if code in LANGUAGES or probability < min_probability else code


@lru_cache(maxsize=2)
def _langid_identifier(restricted: bool = True) -> Any:
    """py3langid restricted to fr/en (or all its languages, with probabilities), or None when it
    is not installed (optional)."""
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        return None
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=not restricted)
    if restricted:
        identifier.set_languages(list(LANGUAGES))
    return identifier


# ---------------------------------------------------------------------------
# Stemming.


@cache
def _stemmer(lang: str) -> Any:
    try:
        import Stemmer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "rag.text.analysis needs PyStemmer for stemming: pip install PyStemmer"
        ) from exc
    return Stemmer.Stemmer({"fr": "french", "en": "english"}[lang])


@lru_cache(maxsize=200_000)
def stem(word: str, lang: str) -> str:
    """Snowball-stem one lower-case word, then fold the stem.

    Stemming happens before accent folding because the French Snowball rules
    need the accents ("levée" -> "lev", but "levee" -> "leve").

    >>> stem("dépensera", "fr"), stem("spending", "en")
    ('depens', 'spend')
    """
    return fold(_stemmer(_check_lang(lang)).stemWord(word.lower()))


# ---------------------------------------------------------------------------
# The analyser.


class Term(NamedTuple):
    """One analysed token.

    ``text`` is the index term (folded stem, or canonical number); ``surface``
    is the token as written (case kept, apostrophes normalised); ``kind`` is
    ``"number"``, ``"name"`` (capitalised inside a sentence, or mixed case /
    letters with digits such as "OpenAI", "GPT-4o") or ``"word"``.
    """

    text: str
    surface: str
    kind: Literal["number", "name", "word"]


# French elided articles/pronouns: the part before the apostrophe is dropped.
_ELISION = re.compile(
    r"\b(?:jusqu|lorsqu|puisqu|qu|[ldnsjmtc])'(?=\w)", re.IGNORECASE
)
# English possessive / contractions: "Mistral's" -> "Mistral".
_POSSESSIVE = re.compile(r"(?<=\w)'(?:s|re|ve|ll|d|m|t)\b", re.IGNORECASE)

# A number: thousands grouped by spaces ("20 000"), or digits with an optional
# decimal part ("3,4", "3.4"). English text also uses "," for thousands
# ("20,000"), recognised only when exactly three digits follow each comma.
_SPACE_GROUPED = r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)"
_EN_COMMA_GROUPED = r"\d{1,3}(?:,\d{3})+(?![\d.,]\d)"
_DECIMAL = r"\d+(?:[.,]\d+)?"
_TOKEN = {
    lang: re.compile(
        rf"(?P<num>(?:{groups}|{_DECIMAL})(?:[.,]\d+)?)(?!\w)|(?P<word>[^\W_]+)"
    )
    for lang, groups in (
        ("fr", _SPACE_GROUPED),
        ("en", f"{_EN_COMMA_GROUPED}|{_SPACE_GROUPED}"),
    )
}
# Punctuation after which a capitalised word may just be a sentence start.
_SENTENCE_BREAK = re.compile(r"[.!?…:;\n\"«»“”(\[•–—]")


def canonical_number(surface: str, lang: str = "fr") -> str:
    """Canonical spelling of a number token: no grouping, ``.`` as decimal
    separator, no trailing decimal zeros.

    >>> canonical_number("20 000"), canonical_number("3,4"), canonical_number("3.40")
    ('20000', '3.4', '3.4')
    >>> canonical_number("20,000", "en"), canonical_number("20,000", "fr")
    ('20000', '20')
    """
    s = re.sub(r"[ \u00a0\u202f]", "", surface)
    if lang == "en" and re.fullmatch(_EN_COMMA_GROUPED, s):
        s = s.replace(",", "")
    s = s.replace(",", ".")
    if "." in s:
        whole, _, frac = s.partition(".")
        frac = frac.rstrip("0")
        s = f"{whole}.{frac}" if frac else whole
    s = s.lstrip("0") or "0"
    if s.startswith("."):
        s = "0" + s
    return s


def _is_name(surface: str, sentence_initial: bool) -> bool:
    if any(c.isdigit() for c in surface) or any(c.isupper() for c in surface[1:]):
        return True  # "OpenAI", "GPT", "IA", "4o"-style tokens
    return surface[:1].isupper() and not sentence_initial


def analyze(text: str, lang: str) -> list[Term]:
    """Analyse ``text`` as language ``lang`` into content terms.

    Folds case and accents, drops French elisions and English possessives,
    keeps numbers whole, removes stop words and single letters, and stems the
    remaining words. Number terms are never stemmed.

    >>> [t.text for t in analyze("L'alerte d'Anthropic : 3,4 milliards.", "fr")]
    ['alert', 'anthropic', '3.4', 'milliard']
    >>> [(t.text, t.kind) for t in analyze("Microsoft's 20 000 users", "en")]
    [('microsoft', 'word'), ('20000', 'number'), ('user', 'word')]
    >>> [(t.surface, t.kind) for t in analyze("Selon Meta et OpenAI", "fr")]
    [('Meta', 'name'), ('OpenAI', 'name')]
    """
    _check_lang(lang)
    text = _normalize_chars(text)
    text = _POSSESSIVE.sub("", _ELISION.sub(" ", text))
    terms: list[Term] = []
    previous_end = 0
    for m in _TOKEN[lang].finditer(text):
        gap = text[previous_end : m.start()]
        initial = previous_end == 0 or bool(_SENTENCE_BREAK.search(gap))
        previous_end = m.end()
        surface = m.group(0)
        if m.group("num") is not None:
            terms.append(Term(canonical_number(surface, lang), surface, "number"))
            continue
        term = _word_term(surface, lang)
        if term is None:
            continue
        kind = "name" if _is_name(surface, initial) else "word"
        terms.append(Term(term, surface, kind))
    return terms


@lru_cache(maxsize=200_000)
def _word_term(surface: str, lang: str) -> str | None:
    """Index term of one word, or None for a stop word or a lone letter.

    Cached because indexing analyses the same few thousand words millions of times.
    """
    folded = fold(surface)
    if folded in _STOP[lang] or (len(folded) < 2 and not folded.isdigit()):
        return None
    return folded if folded.isdigit() else stem(surface, lang)


def tokenize(text: str, lang: str) -> list[str]:
    """Folded, stemmed content terms of ``text`` in language ``lang``.

    >>> tokenize("L'alerte que lance un récent rapport du New York Times", "fr")
    ['alert', 'lanc', 'recent', 'rapport', 'new', 'york', 'tim']
    >>> tokenize("Which investor led Mistral's Series B? 20,000 or 3.4", "en")
    ['investor', 'led', 'mistral', 'seri', '20000', '3.4']
    """
    return [t.text for t in analyze(text, lang)]
