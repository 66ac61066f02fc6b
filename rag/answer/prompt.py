"""Prompt construction: pure functions from (question, passages) to chat messages.

The system message and worked examples are identical for every question (a fact
asked for gets the short phrase that answers it, other questions sentences), so
llama.cpp reuses its KV cache for that prefix and only the passages, the question
and a style line are processed per answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from rag.answer.news import article_label, gloss_passage
from rag.records import Passage
from rag.text.analysis import LANGUAGES
from rag.text.numbers import AMOUNT, say_amount, scale_exponent

ABSTAIN_TOKEN = "NOT_IN_ARTICLES"


def is_abstain_token(raw: str) -> bool:
    """Whether the model's output says it abstains (the token, spaced or in any case).

    >>> is_abstain_token("not in articles"), is_abstain_token("OpenAI [1].")
    (True, False)
    """
    return ABSTAIN_TOKEN in raw.upper().replace(" ", "_")


def may_be_abstain_token(raw: str) -> bool:
    """Whether the text streamed so far is (the start of) the abstain token,
    which must not flash on screen before the verified answer replaces it.

    >>> may_be_abstain_token("NOT_IN"), may_be_abstain_token("NOT_IN_ARTICLES"), may_be_abstain_token("OpenAI")
    (True, True, False)
    """
    text = raw.strip().upper().replace(" ", "_")
    return bool(text) and (ABSTAIN_TOKEN.startswith(text) or text.startswith(ABSTAIN_TOKEN))

LANGUAGE_INSTRUCTION = {
    "fr": "Réponds en français.",
    "en": "Answer in English.",
}


SYSTEM_PROMPT = f"""You answer questions about news articles using ONLY the numbered passages in the user's message, never your own knowledge.
- When the question asks for a fact (a name, a figure, a date, a place), reply with the short phrase that answers it, taken from the passage that states it, followed by that passage's number in square brackets: [1]. Do not write a full sentence.
- When the question asks why or how, or what the articles say, answer in one to three short sentences, each ending with the number of the passage that says it: [1].
- Write in the language the user asks for, even when the passages are in another language; keep names and figures unchanged.
- Only if no passage contains the answer, reply exactly: {ABSTAIN_TOKEN}"""

# Worked exchanges shown before every question (fixed, so they stay in the KV cache).
# Facts get the short phrase alone. A small model asked for a sentence tends to restate
# the question and fill the gap with the words that follow its terms in the passage
# ("Jim Nantz a commenté le match avec Tracy Wolfson", where the passage says "Jim Nantz
# et Phil Simms"); asked for the phrase, it reads the passage as an extractive reader
# does. Measured in docs/measurements.md (session 8).
EXAMPLE_USER = """Passages:
[1] Le marché des puces ralentit depuis deux ans.
[2] La start-up Acme a levé 30 millions d'euros en mars 2023. … Le tour de table a été mené par le fonds Sequoia.
Question: How much did Acme raise, and who led the round?
Answer in English."""
EXAMPLE_ANSWER = "30 million euros, in March 2023 [2]; the Sequoia fund led the round [2]."
EXAMPLE2_USER = """Passages:
[1] Les data centers consomment beaucoup d'électricité. … Leur refroidissement exige aussi de grandes quantités d'eau.
[2] Le cours de l'action a doublé en un an.
Question: Pourquoi les data centers coûtent-ils cher à exploiter ?
Réponds en français."""
EXAMPLE2_ANSWER = "Parce qu'ils consomment beaucoup d'électricité et que leur refroidissement exige de grandes quantités d'eau [1]."
EXAMPLE3_USER = """Passages:
[1] Le conseil d'administration s'est réuni mardi.
[2] La directrice financière, Marie Dupont, a quitté l'entreprise en 2021. Elle avait été nommée par le fondateur Paul Martin.
Question: Qui était la directrice financière ?
Réponds en français."""
EXAMPLE3_ANSWER = "Marie Dupont [2]."


WORKED_EXAMPLES = ((EXAMPLE_USER, EXAMPLE_ANSWER), (EXAMPLE2_USER, EXAMPLE2_ANSWER), (EXAMPLE3_USER, EXAMPLE3_ANSWER))


def _prefix() -> list[dict[str, str]]:
    """System message and worked examples: identical for every request."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for user, answer in WORKED_EXAMPLES:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return messages


# Questions whose answer is an explanation, a manner or a yes/no, not one fact.
_NOT_A_FACT = re.compile(
    r"\b(?:pourquoi|why|explique\w*|explain\w*|d[ée]cri\w*|describe\w*|en\s+quoi|how\s+come)\b"
    r"|\bcomment\b(?!\s+s['’]?\s*(?:appel|nomm))"
    r"|\bhow\b(?!\s+(?:many|much|long|old|far|big|large|tall|high|often|fast|deep|wide))"
    r"|^\W*(?:est-ce\s+que|(?:is|are|was|were|do|does|did|can|could|will|would|has|have|had|should)\s)",
    re.IGNORECASE,
)


def asks_for_fact(question: str) -> bool:
    """Whether the question asks for one fact (a name, figure, date or short phrase), which
    gets a short answer, rather than reasons, a manner, a yes/no or an overview.

    >>> [asks_for_fact(q) for q in ("Qui commentait le match ?", "How many games did they lose?",
    ...  "Comment s'appelait le hall ?", "bilan victoires/défaites 2015 ?", "Pourquoi Mistral a-t-elle levé ?",
    ...  "How did the Panthers win?", "Did OpenAI lose money?", "Que disent les articles sur Mistral AI ?")]
    [True, True, True, True, False, False, False, False]
    """
    return not is_overview(question) and not _NOT_A_FACT.search(question)


# Retries (rag.answer.pipeline): an answer that echoes the question or states a figure the
# passages lack gets one more try, with one of these lines added to the question.
# The English example used to be dev-08's own answer ("20 000 milliards = 20 trillion"):
# a hint must not carry an evaluation set's answer (issue 14), so it shows another amount.
FIGURES_HINT = {
    "fr": "Recopie les chiffres exactement comme les passages les écrivent.",
    "en": "Copy every figure exactly as the passages write it (e.g. 1 500 milliards = 1.5 trillion).",
}
RETRY_HINT = {
    "fr": "Ne répète pas la question : donne la réponse tirée des passages, avec les numéros [n].",
    "en": "Do not repeat the question: state the answer found in the passages, with [n] numbers.",
}
# A "why" question echoed back is retried with the answer's first words: told only not to
# repeat it, the 1.5B model echoed "Pourquoi la start-up Mistral a-t-elle fini par collaborer
# avec les géants ?" again, though its passage states the reason.
WHY_HINT = {
    "fr": "Ne répète pas la question : réponds en commençant par « Parce que », avec les raisons que donnent "
          "les passages et leurs numéros [n].",
    "en": "Do not repeat the question: answer starting with \"Because\", with the reasons the passages give "
          "and their [n] numbers.",
}
_WHY = re.compile(r"\b(?:pourquoi|why|how\s+come)\b", re.IGNORECASE)


def asks_why(question: str) -> bool:
    """Whether the question asks for reasons ("Pourquoi … ?", "Why … ?").

    >>> asks_why("Pourquoi Mistral a-t-elle collaboré ?"), asks_why("Why is AI costly?"), asks_why("Qui ?")
    (True, True, False)
    """
    return bool(_WHY.search(question))


REWRITE_INSTRUCTION = (
    "Rewrite the last message as one standalone question that can be understood without "
    "the conversation. Keep its language. Reply with the question only."
)


def gloss_amounts(text: str, source: str, target: str) -> str:
    """Add the target language's reading after each scaled amount of a passage.

    Small models translate "20 000 milliards" into "20 billion"; spelling out
    the amount in the answer's language avoids it. Only the prompt changes:
    citations still point into the original passage.

    >>> gloss_amounts("jusqu'à 20 000 milliards de dollars et 3,4 milliards", "fr", "en")
    "jusqu'à 20 000 milliards (= 20 trillion) de dollars et 3,4 milliards (= 3.4 billion)"
    >>> gloss_amounts("a 5 billion loss", "en", "fr")
    'a 5 billion (= 5 milliards) loss'
    >>> gloss_amounts("5 millions", "fr", "fr")
    '5 millions'
    """
    if source == target or source not in LANGUAGES or target not in LANGUAGES:
        return text

    def repl(m: re.Match[str]) -> str:
        number = re.sub(r"[ \u00a0\u202f]", "", m.group(1)).replace(",", ".")
        try:
            value = Decimal(number).scaleb(scale_exponent(m.group(2), source))  # type: ignore[arg-type]
        except (InvalidOperation, TypeError):
            return m.group(0)
        said = say_amount(value, target)
        return f"{m.group(0)} (= {said})" if said else m.group(0)

    return AMOUNT.sub(repl, text)


def format_passages(passages: Sequence[Passage], texts: Sequence[str] | None = None,
                    language: str | None = None, *, news: bool = True) -> str:
    """Numbered passage block; ``texts`` may replace each passage's text (trimmed evidence).

    With ``language``, amounts in passages of another language are glossed (:func:`gloss_amounts`).
    Each passage is headed by its article's outlet and date, or "date inconnue"/"date inferred: …"
    (:func:`rag.answer.news.article_label`), and its relative time phrases are resolved from
    that date (:func:`rag.answer.news.gloss_passage`); ``news=False`` leaves both out.

    >>> from rag.records import Passage
    >>> p = Passage(rank=1, doc_id="a.txt", chunk_id="a.txt:0-5", start=0, end=5, score=1.0,
    ...             text="Hello", title="T", date="2024-01")
    >>> format_passages([p])
    '[1] « T » (article de janvier 2024) Hello'

    The first passage of each article is also headed by its title (:func:`short_title`), the
    others by the number of that first passage: an
    encyclopedia page's or a biography's passages say "il", "l'université", "le pays",
    and only the title names what they are about ("La « perle de l'Afrique » devient un
    modèle", in the article "Ouganda").
    """
    lines = []
    first_of: dict[str, tuple[int, str | None]] = {}  # doc -> its first passage's number and label
    for i, p in enumerate(passages, 1):
        text = (texts[i - 1] if texts is not None else p.text).replace("\n", " ").strip()
        if language:
            text = gloss_amounts(text, p.language, language)
        # The article's date heads the passage and relative time ("l'an prochain") gets its
        # absolute period from it; citations still quote the article's own words.
        label = None
        if news:
            text = gloss_passage(text, p)
            label = article_label(p, language or p.language, text)
        # The title once per article; its later passages point back to the first, and repeat
        # its outlet and date only when they read differently (an inferred date is shown only
        # beside a relative time phrase).
        head = ""
        if p.doc_id in first_of:
            n, first_label = first_of[p.doc_id]
            head = SAME_ARTICLE.get(language or p.language, SAME_ARTICLE["en"]).format(n=n) + " "
            if label == first_label:
                label = None
        elif p.title.strip():
            first_of[p.doc_id] = (i, label)
            head = f"« {short_title(p.title)} » "
        lines.append(f"[{i}] {head}({label}) {text}" if label else f"[{i}] {head}{text}")
    return "\n".join(lines)


SAME_ARTICLE = {"fr": "(même article que le passage {n})", "en": "(same article as passage {n})"}


def short_title(title: str, max_chars: int = 48) -> str:
    """An article's title for the prompt: its first line, cut at a word within ``max_chars``
    (a news headline can run to a paragraph; every token costs prompt time). 48 and not 80:
    the subject comes first in a headline, and on eval/dev.jsonl the cut saves about 11 of the
    ~250 tokens each question adds to the cached prefix (docs/measurements.md, session 10).

    >>> short_title("Université de Notre-Dame (2)")
    'Université de Notre-Dame (2)'
    >>> short_title("OpenAI est une ruine. Il a besoin de plus d'investissement, sinon il lui sera impossible de suivre Google.")
    'OpenAI est une ruine. Il a besoin de plus…'
    """
    line = " ".join(title.split())
    if len(line) <= max_chars:
        return line
    return line[:max_chars].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# A request for what the articles say about a subject, not for one fact. Such a
# question names no fact for the model to find, so it needs room for several
# cited sentences (and the pipeline gives it more evidence).
_OVERVIEW = re.compile(
    r"^\W*(?:(?:et\s+)?que\s+(?:disent|dit|racontent|rapportent|savons|sait-on)|qu['’]est-ce\s+que\s+(?:les|l['’])\s*articles?"
    r"|r[ée]sum\w*|fais\s+(?:le|un)\s+point|parle[sz]?[- ]moi|synth[èe]se"
    r"|what\s+(?:do|does|did)\s+the\s+(?:articles?|texts?|sources?|press)\s+(?:say|report|tell)"
    r"|summari[sz]e|give\s+(?:me\s+)?an?\s+(?:overview|summary)|tell\s+me\s+about|overview)\b",
    re.IGNORECASE,
)
OVERVIEW_INSTRUCTION = {
    "fr": "Réponds en trois à cinq phrases courtes qui donnent les faits principaux, chacune avec le numéro de son passage.",
    "en": "Answer in three to five short sentences giving the main facts, each with the number of its passage.",
}


SENTENCES_INSTRUCTION = {
    "fr": "Réponds en une à trois phrases courtes, chacune avec le numéro de son passage.",
    "en": "Answer in one to three short sentences, each with the number of its passage.",
}


def is_overview(question: str) -> bool:
    """Whether the question asks what the articles say about a subject rather than one fact.

    >>> [is_overview(q) for q in ("Que disent les articles sur Mistral AI ?", "What do the articles say about Mistral AI?",
    ...                           "Résume l'article sur OpenAI", "Combien Mistral a-t-elle levé ?", "Who said what?")]
    [True, True, True, False, False]
    """
    return bool(_OVERVIEW.search(question))


_ARTICLE_WORDS = re.compile(r"\b(?:articles?|textes?|texts?|sources?|press[e]?)\b", re.IGNORECASE)


def overview_query(question: str) -> str:
    """An overview question without its request ("Que disent les articles sur", "Summarize
    the article on"): what it asks about, to score the articles' sentences against. Scored
    with the request, "What do the articles say about Anthropic?" ranked "This article aims to
    provide accurate and relevant information." among Anthropic's facts, for its "article".

    >>> overview_query("Que disent les articles sur Microsoft ?"), overview_query("Summarize the article on Victoria.")
    ('les sur Microsoft ?', 'the on Victoria.')
    >>> overview_query("Résume.")  # nothing left: the question itself
    'Résume.'
    """
    rest = _request_removed(question)
    return rest if any(ch.isalnum() for ch in rest) else question


def _request_removed(question: str) -> str:
    return " ".join(_ARTICLE_WORDS.sub(" ", _OVERVIEW.sub(" ", question, count=1)).split())


def overview_subject(question: str, lang: str) -> set[str]:
    """Stems of what an overview question asks about, once the request ("Que disent les
    articles sur", "What do the articles say about") is removed: its names when it has
    any, else its words with their other-language stems (empty: everything).

    >>> sorted(overview_subject("What do the articles say about Mistral AI?", "en"))
    ['ai', 'mistral']
    >>> {"situat", "financi"} <= overview_subject("Que disent les articles sur la situation financière ?", "fr")
    True
    """
    from rag.text.analysis import analyze
    from rag.text.lexicon import translate_stems

    terms = analyze(_request_removed(question), lang)
    names = {t.text for t in terms if t.kind == "name"}
    words = {t.text for t in terms if t.kind == "word"}
    return names or (words | set(translate_stems(sorted(words), lang)))


def names_subject(text: str, subject: set[str]) -> bool:
    """Whether ``text`` (French or English) has a stem of ``subject`` (always, when it is empty).

    A name spelt with another ending in the other language counts when one stem of five
    letters or more begins the other ("Californie" -> "californ", "California" ->
    "california"): the French question "Que dit l'article sur la Californie du Sud ?"
    found no sentence naming its subject in the English article and abstained.

    >>> names_subject("Southern California has ten counties.", {"californ", "sud"})
    True
    >>> names_subject("Les Normands conquièrent la Sicile.", {"normandy"}), names_subject("Le sud.", {"sudan"})
    (True, False)
    """
    from rag.text.analysis import tokenize

    if not subject:
        return True
    stems = set(tokenize(text, "fr")) | set(tokenize(text, "en"))
    if subject & stems:
        return True
    return any(len(a) >= 5 and len(b) >= 5 and (a.startswith(b) or b.startswith(a))
               for a in subject for b in stems)


def build_messages(question: str, passages: Sequence[Passage], language: str,
                   texts: Sequence[str] | None = None, *, news: bool = True,
                   short: bool = True) -> list[dict[str, str]]:
    """Chat messages for one grounded answer (``news``: see :func:`format_passages`).

    A question that :func:`asks_for_fact` is answered, as the system message says, by
    the short phrase; with ``short`` False, or any other question, the message asks for
    sentences (overviews for three to five).

    >>> msgs = build_messages("Qui ?", [], "fr")
    >>> msgs[0]["content"] == SYSTEM_PROMPT, msgs[-1]["content"].endswith("Réponds en français.")
    (True, True)
    >>> build_messages("Qui ?", [], "fr", short=False)[-1]["content"].endswith(SENTENCES_INSTRUCTION["fr"])
    True
    """
    user = (
        f"Passages:\n{format_passages(passages, texts, language, news=news)}\n"
        f"Question: {question.strip()}\n"
        f"{LANGUAGE_INSTRUCTION.get(language, LANGUAGE_INSTRUCTION['en'])}"
    )
    if is_overview(question):
        user += " " + OVERVIEW_INSTRUCTION.get(language, OVERVIEW_INSTRUCTION["en"])
    elif not (short and asks_for_fact(question)):
        user += " " + SENTENCES_INSTRUCTION.get(language, SENTENCES_INSTRUCTION["en"])
    return [*_prefix(), {"role": "user", "content": user}]


TRANSLATE_INSTRUCTION = {
    "fr": "Traduis en français ces phrases des articles, une à une et fidèlement : garde chaque nom et chaque "
          "nombre, garde chaque [n] à la fin de sa phrase, n'ajoute rien.",
    "en": "Translate these sentences of the articles into English, one by one and faithfully: keep every name "
          "and every number, keep each [n] at the end of its sentence, add nothing.",
}


def build_translation_messages(text: str, language: str) -> list[dict[str, str]]:
    """Messages asking the LLM to translate quoted sentences (with their markers) into ``language``.

    Same system message and examples as answers, so llama.cpp reuses its cached prefix.

    >>> build_translation_messages("Il pleut [1].", "en")[-1]["content"].endswith("Il pleut [1].")
    True
    """
    user = f"{TRANSLATE_INSTRUCTION.get(language, TRANSLATE_INSTRUCTION['en'])}\n\n{text.strip()}"
    return [*_prefix(), {"role": "user", "content": user}]


def build_rewrite_messages(history: Sequence[tuple[str, str]], question: str) -> list[dict[str, str]]:
    """Messages asking the LLM to turn a follow-up into a standalone question.

    ``history`` holds (question, answer) pairs, oldest first; only the last two are used.
    """
    turns = []
    for q, a in list(history)[-2:]:
        turns.append(f"User: {q}\nAssistant: {a[:300]}")
    convo = "\n".join(turns)
    user = f"{REWRITE_INSTRUCTION}\nConversation:\n{convo}\n\nLast message: {question.strip()}\nStandalone question:"
    # Same system message and examples as answers: llama.cpp keeps that prefix cached.
    return [*_prefix(), {"role": "user", "content": user}]


def baseline_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """The naive prompt used as the benchmark baseline: whole chunks, plain instructions."""
    context = "\n\n".join(f"[{i}] {p.text}" for i, p in enumerate(passages, 1))
    return [
        {"role": "system", "content": "Answer the question using the passages below. Cite passages as [n]."},
        {"role": "user", "content": f"{context}\n\nQuestion: {question}"},
    ]
