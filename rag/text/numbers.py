"""Amounts with scale words: one table for the judge (compare "20 trillion" with
"20 000 milliards") and the prompt (gloss an amount in the answer's language).

Pure functions; the scale words are folded surfaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from rag.text.analysis import LANGUAGES, fold

# Scale words that turn "5 milliards" into 5e9 so that "20 trillion" and
# "20 000 milliards" compare equal.
SCALES = {
    "thousand": 3, "thousands": 3, "mille": 3, "k": 3,
    "million": 6, "millions": 6, "m": 6, "mn": 6,
    "billion": 9, "billions": 9, "bn": 9, "milliard": 9, "milliards": 9, "md": 9, "mds": 9,
    "trillion": 12, "trillions": 12,
}
# In French "billion" means 10^12; only the French reading uses this.
FR_SCALES = {**SCALES, "billion": 12, "billions": 12}
# How an amount is said, largest scale first.
SCALE_NAMES = {"fr": ((9, "milliards"), (6, "millions")), "en": ((12, "trillion"), (9, "billion"), (6, "million"))}
# An amount with a scale word in running text: "20 000 milliards", "3,4 billion", "5 Md".
AMOUNT = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)[ \u00a0\u202f]*"
    r"(milliards?|millions?|billions?|trillions?|mds?|bn)\b",
    re.IGNORECASE,
)


def scale_exponent(word: str, lang: str) -> int | None:
    """The power of ten a scale word means in ``lang``; None for other words.

    >>> scale_exponent("Milliards", "fr"), scale_exponent("billion", "fr"), scale_exponent("billion", "en")
    (9, 12, 9)
    """
    return (FR_SCALES if lang == "fr" else SCALES).get(fold(word))


def scaled(number: str, scale_word: str, lang: str) -> str | None:
    """A canonical number times its scale word, as plain digits; None when the word is no scale.

    >>> scaled("20000", "milliards", "fr"), scaled("20", "trillion", "en"), scaled("3", "euros", "fr")
    ('20000000000000', '20000000000000', None)
    """
    exponent = scale_exponent(scale_word, lang)
    if exponent is None:
        return None
    try:
        value = Decimal(number).scaleb(exponent)
    except InvalidOperation:
        return None
    return format(value.normalize(), "f")


def say_amount(value: Decimal, language: str) -> str | None:
    """``value`` said with the largest scale word of ``language``; None below a million.

    >>> say_amount(Decimal("2E13"), "en"), say_amount(Decimal("3.4E9"), "fr"), say_amount(Decimal(5000), "en")
    ('20 trillion', '3,4 milliards', None)
    """
    if language not in LANGUAGES:
        return None
    for exponent, name in SCALE_NAMES[language]:
        if value >= Decimal(10) ** exponent:
            x = (value.scaleb(-exponent)).quantize(Decimal("0.01")).normalize()
            number = format(x, ",f") if language == "en" else format(x, ",f").replace(",", " ").replace(".", ",")
            return f"{number} {name}"
    return None


_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th|er|re|ère|ème|eme|nde|e|è)\b", re.IGNORECASE)


def plain_ordinals(text: str) -> str:
    """Ordinals written with digits as their number ("17th", "17e", "17ème" -> "17").

    French and English mark them differently, so a French "17ème" and the English
    article's "17th" shared nothing: the number check found no 17 in the quote.

    >>> plain_ordinals("the 17th president, le 17ème, le 1er janvier, 5e10, 3,4 km")
    'the 17 president, le 17, le 1 janvier, 5e10, 3,4 km'
    """
    return _ORDINAL.sub(r"\1", text)


_YEAR_RANGE = re.compile(r"\b((?:1[0-9]|20)[0-9]{2})\s*[–—-]\s*([0-9]{2})(?![0-9])")


def range_end_years(text: str) -> list[str]:
    """The full last year of ranges that abbreviate it ("1952–87" -> "1987", "2014-15" -> "2015").

    >>> range_end_years("président pendant 35 ans (1952–87), la saison 2014-15, 1990-05")
    ['1987', '2015']
    """
    out = []
    for m in _YEAR_RANGE.finditer(text):
        end = m.group(1)[:2] + m.group(2)
        if end > m.group(1):
            out.append(end)
    return out


_SPLIT_GROUP = re.compile(r"(?<![\d.,])(\d{1,3}), (\d{3})(?![\d])")


def rejoin_split_groups(text: str, sources: Sequence[str]) -> str:
    """"100, 000" back to "100,000" where a source writes the number whole.

    A small model copying "100,000" sometimes puts a space after the comma, which then
    reads as two numbers (100 and 000) that no passage states. The comma is closed only
    when a source holds the closed form (or "100 000", "100.000"), so a real list ("1, 234")
    is left alone.

    >>> rejoin_split_groups("100, 000 [1].", ["over 100,000 digiboxes"])
    '100,000 [1].'
    >>> rejoin_split_groups("100, 000 [1].", ["100 000 boîtiers"])
    '100,000 [1].'
    >>> rejoin_split_groups("En 1, 234 et 5.", ["nothing here"])
    'En 1, 234 et 5.'
    """
    def repl(m: re.Match[str]) -> str:
        head, tail = m.group(1), m.group(2)
        whole = re.compile(rf"(?<![\d.,]){head}[,. \u00a0\u202f]{tail}(?!\d)")
        return f"{head},{tail}" if any(whole.search(s) for s in sources) else m.group(0)

    return _SPLIT_GROUP.sub(repl, text)
