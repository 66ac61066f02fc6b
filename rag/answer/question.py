"""The question as typed: cleaned of what a terminal or a paste leaves in it, cut to the
size the prompt allows, and refused when it asks nothing or is in a language the checks
cannot read. Pure functions and the messages they lead to."""

from __future__ import annotations

import re
import unicodedata

from rag.errors import RagError

OTHER_LANGUAGE_MESSAGE = {  # no claim can be checked against a question the checks cannot read
    "fr": "Posez la question en français ou en anglais : elle semble écrite en {name}.",
    "en": "Please ask in French or English: this question seems to be in {name}.",
}
# The languages a question is most often asked in besides French and English, named in each.
LANGUAGE_NAMES = {
    "de": ("German", "allemand"), "es": ("Spanish", "espagnol"), "it": ("Italian", "italien"),
    "pt": ("Portuguese", "portugais"), "nl": ("Dutch", "néerlandais"), "ru": ("Russian", "russe"),
    "zh": ("Chinese", "chinois"), "ja": ("Japanese", "japonais"), "ko": ("Korean", "coréen"),
    "ar": ("Arabic", "arabe"), "pl": ("Polish", "polonais"), "tr": ("Turkish", "turc"),
    "uk": ("Ukrainian", "ukrainien"), "sv": ("Swedish", "suédois"),
}


def other_language_message(code: str, lang: str) -> str:
    """What a question in language ``code`` gets, in the answer language ``lang``.

    >>> other_language_message("de", "fr")
    'Posez la question en français ou en anglais : elle semble écrite en allemand.'
    >>> other_language_message("xx", "en")
    'Please ask in French or English: this question seems to be in another language (xx).'
    """
    names = LANGUAGE_NAMES.get(code)
    if names is not None:
        return OTHER_LANGUAGE_MESSAGE[lang].format(name=names[lang == "fr"])
    suffix = f" ({code})" if code else ""
    return {"fr": f"Posez la question en français ou en anglais : elle semble écrite dans une autre langue{suffix}.",
            "en": f"Please ask in French or English: this question seems to be in another language{suffix}."}[lang]


TRUNCATED_NOTICE = {
    "fr": "La question a été tronquée à {n} caractères.",
    "en": "The question was truncated to {n} characters.",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Whole terminal escape sequences, so their parameters ("[31m") do not stay behind in the
# question: OSC (ESC ] … ended by BEL or ESC \), CSI (ESC [ parameters, intermediates,
# final byte; also the 8-bit CSI \x9b), and two-character escapes (ESC and one of @-Z \ ] ^ _).
# The CSI and two-character parts are the usual ANSI-stripping regex (ECMA-48 byte
# ranges; see e.g. https://stackoverflow.com/a/14693789).
_ESCAPES = re.compile(r"""
    \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)    # OSC … BEL or ST
  | (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]     # CSI: parameters 0x30-0x3F, intermediates 0x20-0x2F, final 0x40-0x7E
  | \x1b[@-Z\\-_]                        # Fe: ESC and one byte 0x40-0x5F
""", re.VERBOSE)


def clean_question(question: str, max_chars: int) -> tuple[str, bool]:
    """Remove terminal escape sequences, control characters and extra spaces; truncate.
    Returns (text, truncated). A question with no letter or digit is empty.

    >>> clean_question("  Qui\\x00 est   là ?\\n", 100)
    ('Qui est là ?', False)
    >>> clean_question("Combien OpenAI\\x1b[31m devrait-elle perdre\\x1b[0m ?", 100)
    ('Combien OpenAI devrait-elle perdre ?', False)
    >>> clean_question("   ?  ", 100)
    Traceback (most recent call last):
    ...
    rag.errors.RagError: The question is empty: type a question about the articles.
    """
    if not isinstance(question, str):
        raise RagError("The question must be text.")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", _ESCAPES.sub("", question)))
    text = re.sub(r"\s+", " ", text).strip()
    if not any(ch.isalnum() for ch in text):  # "", "?", "…" ask nothing
        raise RagError("The question is empty: type a question about the articles.")
    if len(text) > max_chars:
        return text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars], True
    return text, False
