"""Answers as HTML and Markdown: the rich display of notebooks and the pieces the web chat shares.

Pure functions over :mod:`rag.records`: the answer with its ``[n]`` markers
linked to the sources, each source with title, date and document and the quote
highlighted inside its passage; unsupported sentences marked; after an
abstention, the closest passages. Every piece of text that comes from an
article, a model or a user is HTML-escaped.

>>> from rag.records import Answer, Citation, Passage
>>> p = Passage(1, "a.txt", "a.txt:0-40", 0, 40, 0.9, "Zorglub a levé 12 M€. Le reste.", "Zorglub", "2024-03")
>>> c = Citation(1, "a.txt", "Zorglub", "a.txt:0-40", 0, 21, "Zorglub a levé 12 M€.", date="2024-03")
>>> html_ = answer_to_html(Answer("Combien ?", "Zorglub a levé 12 M€ [1].", "fr", citations=[c], passages=[p]))
>>> "<mark>Zorglub a levé 12 M€.</mark>" in html_, 'href="#src-' in html_
(True, True)
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Sequence

from rag.answer.markers import MARKER
from rag.records import Answer, Citation, Excerpt, Passage

UNSUPPORTED_TITLE = "No cited passage supports this sentence: check it before relying on it."
UNVERIFIED_TITLE = "Not verified: this passage may not support the sentence."
_LINKABLE = re.compile(r"([ \t]*)" + MARKER.pattern)  # a marker and the spaces before it
_FINAL_PUNCT = re.compile(r"\s*[.!?…]+[»\"”’)]*$")
# Each rendered answer gets its own anchor numbers: a notebook shows many on one page.
_render_ids = itertools.count(1)

# Inline, so the notebook output looks the same in Jupyter, VS Code and a saved HTML file.
STYLE = """<style>
.rag-answer { font-family: system-ui, sans-serif; line-height: 1.55; max-width: 56em; }
.rag-answer .rag-q { color: #667085; font-size: .9em; margin-bottom: .3em; }
.rag-answer .rag-text { font-size: 1.05em; margin: .2em 0 .6em; }
.rag-answer a.cite { text-decoration: none; font-weight: 600; font-size: .8em; vertical-align: super; }
.rag-answer a.cite.unverified { color: #b54708; }
.rag-answer .unsupported { text-decoration: underline wavy #d92d20; background: rgba(217,45,32,.06); }
.rag-answer .abstained { font-style: italic; }
.rag-answer ol.rag-sources { padding-left: 1.4em; margin: .3em 0; }
.rag-answer ol.rag-sources li { margin: .5em 0; }
.rag-answer .src-meta { color: #667085; font-size: .85em; }
.rag-answer blockquote { margin: .3em 0; padding: .3em .7em; border-left: 3px solid #d0d5dd; color: #475467;
                         font-size: .9em; white-space: pre-wrap; max-height: 14em; overflow-y: auto; }
.rag-answer mark { background: #fde68a; color: #1f2937; padding: 0 2px; border-radius: 3px; }
.rag-answer .rag-note { color: #b54708; font-size: .85em; }
</style>"""


def source_id(turn: int, marker: int) -> str:
    """The HTML id of a source entry: unique across the answers of one page.

    >>> source_id(2, 1)
    'src-2-1'
    """
    return f"src-{turn}-{marker}"


def highlight_passage(text: str, passage_start: int, start: int, end: int) -> str:
    """The passage ``text`` (which begins at document offset ``passage_start``) as
    HTML, with the quote at document offsets ``[start, end)`` inside ``<mark>``.

    >>> highlight_passage("Il perd <5> milliards. Fin.", 100, 100, 122)
    '<mark>Il perd &lt;5&gt; milliards.</mark> Fin.'
    """
    s = min(max(start - passage_start, 0), len(text))
    e = min(max(end - passage_start, s), len(text))
    if s == e:
        return html.escape(text)
    return f"{html.escape(text[:s])}<mark>{html.escape(text[s:e])}</mark>{html.escape(text[e:])}"


def markers_to_anchors(text_html: str, turn: int, citations: Sequence[Citation]) -> str:
    """Turn each ``[n]`` (or ``[1, 2]``) of already-escaped answer HTML into links to
    the source entries. Markers with no citation are left as they are.

    >>> c = Citation(marker=1, doc_id="d", title="T", chunk_id="c", start=0, end=1, quote="q")
    >>> markers_to_anchors("Vrai [1].", 3, [c])
    'Vrai\\u202f<a class="cite" href="#src-3-1" title="T">[1]</a>.'
    """
    by_marker = {c.marker: c for c in citations}

    def link(n: int) -> str:
        c = by_marker[n]
        if c.supported:
            return f'<a class="cite" href="#{source_id(turn, n)}" title="{html.escape(c.title)}">[{n}]</a>'
        return (f'<a class="cite unverified" href="#{source_id(turn, n)}" '
                f'title="{html.escape(UNVERIFIED_TITLE)}">[{n}?]</a>')

    def replace(m: re.Match[str]) -> str:
        numbers = [int(p) for p in re.split(r"[,;]", m.group(2))]
        if not all(n in by_marker for n in numbers):
            return m.group(0)
        # A narrow no-break space keeps the marker on its word's line.
        return ("\u202f" if m.group(1) else "") + "".join(link(n) for n in numbers)

    return _LINKABLE.sub(replace, text_html)


def _unsupported_spans(text: str, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Where the unsupported sentences sit in the answer text. The verified answer
    re-inserts markers before the final punctuation, so the sentence is searched
    without that punctuation."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for sentence in sentences:
        core = _FINAL_PUNCT.sub("", sentence).strip() or sentence.strip()
        if not core:
            continue
        i = text.find(core, pos)
        if i < 0:
            i = text.find(core)
        if i >= 0 and all(i >= e or i + len(core) <= s for s, e in spans):
            spans.append((i, i + len(core)))
            pos = i + len(core)
    return sorted(spans)


def answer_html(text: str, turn: int, citations: Sequence[Citation] = (),
                unsupported: Sequence[str] = ()) -> str:
    """The verified answer as HTML: escaped, markers linked to sources, unsupported
    sentences marked.

    >>> answer_html("A <b>. B.", 0, [], ["A <b>."]).split('">', 1)[1]
    'A &lt;b&gt;</span>. B.'
    """
    out: list[str] = []
    last = 0
    for s, e in _unsupported_spans(text, unsupported):
        out.append(html.escape(text[last:s]))
        out.append(f'<span class="unsupported" title="{html.escape(UNSUPPORTED_TITLE)}">{html.escape(text[s:e])}</span>')
        last = e
    out.append(html.escape(text[last:]))
    return markers_to_anchors("".join(out), turn, citations)


def quote_in_context(c: Citation, p: Passage, context: int = 300) -> str:
    """The passage around the quote (about ``context`` characters each side, cut at
    spaces), quote highlighted: a notebook cannot scroll a long passage to its quote.

    >>> p = Passage(1, "d", "d:0-30", 100, 130, 1.0, "Avant. " * 2 + "Il pleut. Après.")
    >>> c = Citation(1, "d", "T", "d:0-30", 114, 123, "Il pleut.")
    >>> quote_in_context(c, p, context=8)
    '… Avant. <mark>Il pleut.</mark> Après.'
    """
    s, e = c.start - p.start, c.end - p.start
    a = 0 if s <= context else p.text.find(" ", s - context) + 1
    b = len(p.text) if len(p.text) - e <= context else p.text.rfind(" ", e, e + context)
    b = b if b > e else len(p.text)
    body = highlight_passage(p.text[a:b], p.start + a, c.start, c.end)
    return ("… " if a > 0 else "") + body + (" …" if b < len(p.text) else "")


def cited_passage(c: Citation, passages: Sequence[Passage]) -> Passage | None:
    """The retrieved passage the citation quotes from (same document, span inside it)."""
    return next((p for p in passages if p.doc_id == c.doc_id and p.start <= c.start and c.end <= p.end), None)


def _meta(title: str, date: str | None, doc_id: str) -> str:
    bits = [html.escape(date)] if date else []
    bits.append(f"<code>{html.escape(doc_id)}</code>")
    return f'<b>{html.escape(title or doc_id)}</b> <span class="src-meta">{" · ".join(bits)}</span>'


def answer_to_html(answer: Answer) -> str:
    """A whole answer as one HTML block (what :meth:`Answer._repr_html_` shows)."""
    turn = next(_render_ids)
    parts = [STYLE, '<div class="rag-answer">', f'<div class="rag-q">{html.escape(answer.question)}</div>']
    if answer.standalone_question:
        parts.append(f'<div class="rag-q">understood as: <em>{html.escape(answer.standalone_question)}</em></div>')
    parts.extend(f'<div class="rag-note">{html.escape(n)}</div>' for n in answer.notices)
    body = answer_html(answer.answer, turn, answer.citations, answer.unsupported_sentences)
    if answer.abstained:
        parts.append(f'<div class="rag-text abstained">{body}</div>')
        if answer.passages:
            parts.append("<div>Closest passages:</div><ol class='rag-sources'>")
            parts.extend(f"<li>{_meta(p.title, p.date, p.doc_id)} <span class='src-meta'>score {p.score:.2f}</span>"
                         f"<blockquote>{html.escape(shorten(p.text, 500))}</blockquote></li>"
                         for p in closest_passages(answer.passages))
            parts.append("</ol>")
    else:
        parts.append(f'<div class="rag-text">{body}</div>')
        if answer.unsupported_sentences:
            parts.append('<div class="rag-note">Underlined sentences are not supported by the articles.</div>')
        parts.append("<ol class='rag-sources'>")
        for c in answer.citations:
            p = cited_passage(c, answer.passages)
            quote = quote_in_context(c, p) if p is not None else f"<mark>{html.escape(c.quote)}</mark>"
            flag = "" if c.supported else f' <span class="rag-note" title="{html.escape(UNVERIFIED_TITLE)}">not verified</span>'
            parts.append(f'<li id="{source_id(turn, c.marker)}" value="{c.marker}">{_meta(c.title, c.date, c.doc_id)}'
                         f' <span class="src-meta">[{c.start}:{c.end}]</span>{flag}<blockquote>{quote}</blockquote></li>')
        parts.append("</ol>")
    parts.append(evidence_html(answer.evidence, answer.passages))
    parts.append("</div>")
    return "".join(parts)


def evidence_html(evidence: Sequence[Excerpt], passages: Sequence[Passage]) -> str:
    """What the model was given to read, folded: its prompt's sentences under each passage number.

    >>> p = Passage(1, "a.txt", "a.txt:0-40", 0, 40, 0.9, "Zorglub a levé 12 M€. Le reste.", "Zorglub")
    >>> out = evidence_html([Excerpt(1, "a.txt", 0, 21, "Zorglub a levé 12 M€.")], [p])
    >>> out.startswith("<details") and "1 sentence" in out and "[1]" in out and "12 M€." in out
    True
    >>> evidence_html([], [p])
    ''
    """
    if not evidence:
        return ""
    items = []
    for n, group in itertools.groupby(evidence, key=lambda e: e.passage):
        title = passages[n - 1].title if 0 < n <= len(passages) else ""
        sentences = " … ".join(html.escape(e.text) for e in group)
        items.append(f'<li value="{n}"><span class="src-meta">[{n}] {html.escape(title)}</span>'
                     f'<blockquote>{sentences}</blockquote></li>')
    count = f"{len(evidence)} sentence{'s' if len(evidence) > 1 else ''}"
    return (f'<details class="rag-evidence"><summary>What the model read ({count})</summary>'
            f'<ol class="rag-sources">{"".join(items)}</ol></details>')


def shorten(text: str, n: int) -> str:
    """``text`` cut at a word boundary near ``n`` characters.

    >>> shorten("un deux trois", 8)
    'un deux …'
    """
    return text if len(text) <= n else text[:n].rsplit(" ", 1)[0] + " …"


def answer_to_markdown(answer: Answer) -> str:
    """A whole answer as Markdown: the text, then its sources with the quotes in bold."""
    lines = [f"**{answer.question}**", ""]
    if answer.standalone_question:
        lines += [f"*understood as: {answer.standalone_question}*", ""]
    text = answer.answer
    for s in answer.unsupported_sentences:  # marked, as in the HTML
        core = _FINAL_PUNCT.sub("", s).strip()
        if core and core in text:
            text = text.replace(core, f"~~{core}~~ (unsupported)", 1)
    lines += [f"*{text}*" if answer.abstained else text, ""]
    lines += [f"> note: {n}  " for n in answer.notices] + ([""] if answer.notices else [])
    if answer.abstained and answer.passages:
        lines += ["Closest passages:", ""]
        lines += [f"- {p.title or p.doc_id} ({p.date or 'undated'}, `{p.doc_id}`, score {p.score:.2f}): "
                  f"{shorten(p.text, 300)}" for p in closest_passages(answer.passages)]
    for c in answer.citations:
        flag = "" if c.supported else " — *not verified*"
        lines.append(f"{c.marker}. {c.title or c.doc_id} ({c.date or 'undated'}, `{c.doc_id}` "
                     f"[{c.start}:{c.end}]){flag}  \n   > **{c.quote}**")
    return "\n".join(lines).rstrip() + "\n"


def closest_passages(passages: Sequence[Passage], n: int = 3) -> list[Passage]:
    """The ``n`` passages shown after an abstention, best score first.

    >>> ps = [Passage(r, "a", "a:0", 0, 1, s, "") for r, s in ((1, 0.46), (2, 0.45), (3, 0.50), (4, 0.1))]
    >>> [p.score for p in closest_passages(ps)]
    [0.5, 0.46, 0.45]
    """
    return sorted(passages, key=lambda p: -p.score)[:n]


def passage_repr(p: Passage) -> str:
    """One line per passage, for lists of passages in a REPL.

    >>> passage_repr(Passage(1, "a.txt", "a.txt:0-9", 0, 9, 0.5, "Il pleut. Il vente.", "T", "2024"))
    "Passage(#1 a.txt [0:9] 2024 score=0.50 'Il pleut. Il vente.')"
    """
    date = f" {p.date}" if p.date else ""
    return f"Passage(#{p.rank} {p.doc_id} [{p.start}:{p.end}]{date} score={p.score:.2f} {shorten(p.text, 60)!r})"


def conversation_markdown(answers: Sequence[Answer]) -> str:
    """A conversation (its answers in order) as one Markdown document."""
    out = ["# Conversation", ""]
    for i, a in enumerate(answers, 1):
        out += [f"## {i}. {a.question}", "", answer_to_markdown(a).split("\n", 2)[2].rstrip(), ""]
    return "\n".join(out)
