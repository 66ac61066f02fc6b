"""Overview questions ("Que disent les articles sur X ?", "Résume l'article sur …"):
which articles they read, and answers made of the articles' own sentences.

The 1.5B model's summaries keep few of the facts their evidence holds and add some of
their own ("the first African American coach in college football history" for Knute
Rockne). An overview is answered instead with the evidence sentences the selector chose
by maximal marginal relevance (:meth:`rag.answer.evidence.EvidenceSelector.overview_sentences`):
quoted as written in the articles' language, translated by the model in the other, and
checked like any answer (:class:`rag.answer.pipeline.AnswerPipeline`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.evidence import EvidenceSelector, states_something
from rag.answer.prompt import names_subject, overview_subject
from rag.records import Passage

# The model's summary was rejected and the articles' sentences naming the subject are shown instead.
OVERVIEW_NOTICE = {
    "fr": "Le résumé du modèle n'a pas pu être vérifié : voici les phrases des articles sur ce sujet, citées telles quelles.",
    "en": "The model's summary could not be checked: here are the articles' own sentences on the subject, quoted as written.",
}
QUOTED_OVERVIEW_NOTICE = {
    "fr": "Résumé fait des phrases des articles sur ce sujet, citées telles quelles.",
    "en": "A summary made of the articles' own sentences on the subject, quoted as written.",
}
TRANSLATED_OVERVIEW_NOTICE = {
    "fr": "Résumé fait des phrases des articles sur ce sujet, traduites par le modèle et vérifiées.",
    "en": "A summary made of the articles' own sentences on the subject, translated by the model and checked.",
}
# Characters of the articles' sentences in a quoted overview (four or five sentences).
QUOTED_OVERVIEW_CHARS = 900


_ONE_ARTICLE = re.compile(r"\b(?:l['’]\s*article|cet\s+article|the\s+(?:article|story)|this\s+(?:article|story))\b",
                          re.IGNORECASE)
_PART_NUMBER = re.compile(r"\s*[(\[]\s*\d+\s*[)\]]\s*$")


def asks_about_one_article(question: str) -> bool:
    """Whether an overview question asks about one article ("Résume l'article sur …").

    >>> asks_about_one_article("Résume l'article sur le pari de la Silicon Valley."), asks_about_one_article(
    ...     "Que disent les articles sur Mistral AI ?"), asks_about_one_article("Summarize the article on Victoria.")
    (True, False, True)
    """
    return bool(_ONE_ARTICLE.search(question))


def article_family(title: str) -> str:
    """A title without the part number a long article split into files carries.

    >>> article_family("University of Notre Dame (3)"), article_family("OpenAI est une ruine.")
    ('university of notre dame', 'openai est une ruine.')
    """
    return _PART_NUMBER.sub("", title).strip().casefold()


def one_article(passages: Sequence[Passage]) -> tuple[list[Passage], list[Passage]]:
    """The passages of the first passage's article (with its other numbered parts), and the rest.

    "Résume l'article sur …" asks about the article the question finds first, not every
    article retrieved: an independent reader found sentences of other articles in such
    summaries. Overview tune set: facts in the evidence 46 -> 47 of 72, quoted 22 -> 23 of 40.
    """
    if not passages:
        return [], []
    family = article_family(passages[0].title or passages[0].doc_id)
    mine = [p for p in passages if article_family(p.title or p.doc_id) == family]
    return mine, [p for p in passages if article_family(p.title or p.doc_id) != family]


def overview_text(selector: EvidenceSelector, question: str, language: str, shown: Sequence[Passage],
                  chars: int = QUOTED_OVERVIEW_CHARS) -> str:
    """The overview's sentences among the ``shown`` passages, most relevant first, each
    followed by its passage's marker ("" when there is none)."""
    sentences = selector.overview_sentences(question, language, shown, budget=chars)
    return " ".join(quoted_sentence(shown[c.passage].text[c.start:c.end], c.passage + 1) for c in sentences)


def quoted_overview(question: str, lang: str, passages: Sequence[Passage], *, max_sentences: int = 4,
                    max_chars: int = 900) -> str:
    """An overview made of the retrieved passages' own sentences about the question's
    subject, each with its passage's marker ("" when no sentence names the subject).

    The 1.5B model's summaries of a subject are often vague and cite nothing ("The
    articles all mention Mistral AI, including its founding…"), so the checks reject
    them and the assistant would abstain although whole articles are about it.
    Quoted, the articles' sentences are exact text, each checked like any other
    answer sentence. News articles put what matters first (the lede), so each
    article's sentences come in document order, the articles in retrieval order,
    one sentence of each in turn. A sentence must name the subject (one of its names
    when it has any, else one of its words, in either language), so that an overview
    of something the articles do not cover still ends in an abstention.

    >>> from rag.records import Passage
    >>> ps = [Passage(1, "m", "m:40", 40, 80, 1.0, "Le marché est tendu. Mistral AI vise l'Europe."),
    ...       Passage(2, "m", "m:0", 0, 40, 0.9, "Mistral AI lève 600 millions d'euros.")]
    >>> quoted_overview("Que disent les articles sur Mistral AI ?", "fr", ps)
    "Mistral AI lève 600 millions d'euros [2]. Mistral AI vise l'Europe [1]."
    >>> quoted_overview("Que disent les articles sur Nvidia ?", "fr", ps)
    ''
    """
    from rag.text.sentences import sentence_spans

    subject = overview_subject(question, lang)
    found: dict[str, dict[int, tuple[int, str]]] = {}  # doc -> document offset -> (marker, sentence)
    for n, p in enumerate(passages, 1):
        mine = found.setdefault(p.doc_id, {})
        for s, e in sentence_spans(p.text):
            sentence = p.text[s:e].strip()
            if p.start + s not in mine and names_subject(sentence, subject) and states_something(sentence, p):
                mine[p.start + s] = (n, sentence)
    per_doc = [[mine[off] for off in sorted(mine)] for mine in found.values() if mine]
    picked: list[str] = []
    used = 0
    for depth in range(max(map(len, per_doc), default=0)):  # one sentence of each article in turn
        for mine in per_doc:
            if depth >= len(mine) or len(picked) >= max_sentences:
                continue
            n, body = mine[depth]
            if picked and used + len(body) > max_chars:
                continue
            picked.append(quoted_sentence(body, n))
            used += len(body)
    return " ".join(picked)


def quoted_sentence(body: str, marker: int) -> str:
    """A passage's sentence as an answer sentence citing it.

    >>> quoted_sentence("Mistral AI lève 600 millions d'euros.", 2), quoted_sentence("Et après ?", 1)
    ("Mistral AI lève 600 millions d'euros [2].", 'Et après [1]?')
    """
    body = body.strip()
    end = body[-1] if body[-1] in ".!?" else "."
    return f"{body.rstrip('.!?').rstrip()} [{marker}]{end}"
