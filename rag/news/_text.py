"""Text helpers shared by the news modules.

``fold`` follows the same rules as the library's own ``fold`` (lower case, no
accents, one apostrophe, ligatures spelled out); it is repeated here because
``rag.news`` is self-contained: it imports nothing from the rest of ``rag``
while that is being restructured.
"""

from __future__ import annotations

import re
import unicodedata

_CHARS = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'", "ʼ": "'", "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})


def fold(text: str) -> str:
    """Lower-case, strip accents, normalise apostrophes and ligatures.

    >>> fold("L’Œuvre de l‘été à Montréal")
    "l'oeuvre de l'ete a montreal"
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_CHARS).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Folded words, apostrophe elisions split off (``l'an`` gives ``l``, ``an``).

    >>> words("L’an prochain, Nébula-Robotique")
    ['l', 'an', 'prochain', 'nebula', 'robotique']
    """
    return re.findall(r"\w+", fold(text))


def fold_same_length(text: str) -> str:
    """:func:`fold` character by character, so offsets in the result are offsets in ``text``.

    A character whose folded form is not one character (``œ``) is only lower-cased.

    >>> fold_same_length("Œuvre d’été")
    "œuvre d'ete"
    """
    out = []
    for ch in text:
        f = fold(ch)
        out.append(f if len(f) == 1 else (ch.lower() if len(ch.lower()) == 1 else ch))
    return "".join(out)
