"""Pure formatting for the web chat: answers, citations and timings as HTML.

No Gradio here: each function takes records from :mod:`rag.records` and returns
a string, so the page's HTML is unit-tested without a server. Every piece of
text that comes from an article, a model or a user is HTML-escaped; the only
tags in the output are the ones written below.
"""

import html
import re
from collections.abc import Callable, Sequence

from rag.answer.markers import MARKER
from rag.records import Answer, Citation, Passage, Timings

UNSUPPORTED_TITLE = "No cited passage supports this sentence: check it before relying on it."
UNVERIFIED_TITLE = "Not verified: this passage may not support the sentence."
_LINKABLE = re.compile(r"([ \t]*)" + MARKER.pattern)  # a marker and the spaces before it
_FINAL_PUNCT = re.compile(r"\s*[.!?…]+[»\"”’)]*$")


def source_id(turn: int, marker: int) -> str:
    """The HTML id of a source entry: unique across the answers of one chat.

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


def tokens_per_second(t: Timings) -> float | None:
    """Generation speed: completion tokens over the time after the first token.

    >>> tokens_per_second(Timings(ttft_ms=500, total_ms=2500, completion_tokens=40))
    20.0
    """
    gen_s = (t.total_ms - t.ttft_ms) / 1000
    if t.completion_tokens <= 0 or t.ttft_ms <= 0 or gen_s <= 0:
        return None
    return round(t.completion_tokens / gen_s, 1)


def timing_line(t: Timings, n_passages: int) -> str:
    """One discreet line under an answer.

    >>> timing_line(Timings(ttft_ms=800, total_ms=2800, completion_tokens=42), 5)
    'first token 0.8 s · 21.0 tokens/s · 5 passages'
    >>> timing_line(Timings(total_ms=120), 1)
    'answered in 0.1 s · 1 passage'
    """
    parts = []
    if t.ttft_ms > 0:
        parts.append(f"first token {t.ttft_ms / 1000:.1f} s")
        tps = tokens_per_second(t)
        if tps is not None:
            parts.append(f"{tps:.1f} tokens/s")
    else:
        parts.append(f"answered in {t.total_ms / 1000:.1f} s")
    parts.append(f"{n_passages} passage{'s' if n_passages != 1 else ''}")
    return " · ".join(parts)


def message_html(answer: Answer, turn: int) -> str:
    """The assistant's chat message for a finished answer."""
    parts = []
    if answer.standalone_question:
        parts.append(f'<div class="understood">Question understood as: <em>{html.escape(answer.standalone_question)}</em></div>')
    for notice in answer.notices:
        parts.append(f'<div class="notice">{html.escape(notice)}</div>')
    body = answer_html(answer.answer, turn, answer.citations, answer.unsupported_sentences)
    if answer.abstained:
        body = f'<span class="abstained">{body}</span>'
        if answer.passages:
            body += ' <span class="hint">See the closest passages in the sources panel.</span>'
    elif answer.unsupported_sentences:
        body += ' <span class="hint">Underlined sentences are not supported by the articles.</span>'
    parts.append(f'<div class="answer">{body}</div>')
    # After an abstention the generated tokens were thrown away: no speed to report.
    timings = Timings(total_ms=answer.timings.total_ms) if answer.abstained else answer.timings
    parts.append(f'<div class="meta">{html.escape(timing_line(timings, len(answer.passages)))}</div>')
    return "".join(parts)


def streaming_html(raw: str, status: str = "") -> str:
    """The message while tokens arrive: the raw text (markers not yet checked)."""
    if not raw:
        return f'<span class="pending">{html.escape(status or "…")}</span>'
    return f'<div class="answer streaming">{html.escape(raw)}<span class="cursor">▍</span></div>'


def _header(title: str, date: str | None, doc_id: str) -> str:
    bits = [f'<span class="src-title">{html.escape(title or doc_id)}</span>']
    meta = [html.escape(date)] if date else []
    meta.append(f"<code>{html.escape(doc_id)}</code>")
    bits.append(f'<span class="src-meta">{" · ".join(meta)}</span>')
    return "".join(bits)


def citation_html(c: Citation, turn: int, document_text: Callable[[str], str]) -> str:
    """One source entry: title, date, doc_id, then the passage with the quote marked."""
    try:
        text = document_text(c.doc_id)
    except (KeyError, LookupError):  # the document left the index since: show the quote alone
        text = ""
    if text and c.passage_end > c.passage_start:
        body = highlight_passage(text[c.passage_start:c.passage_end], c.passage_start, c.start, c.end)
    else:
        body = f"<mark>{html.escape(c.quote)}</mark>"
    badge = "" if c.supported else f'<span class="badge warn" title="{html.escape(UNVERIFIED_TITLE)}">not verified</span>'
    cls = "source" if c.supported else "source unverified"
    return (f'<li id="{source_id(turn, c.marker)}" class="{cls}">'
            f'<div class="src-head"><span class="src-num">[{c.marker}]</span>{_header(c.title, c.date, c.doc_id)}{badge}</div>'
            f'<blockquote class="passage">{body}</blockquote></li>')


def passage_html(p: Passage, max_chars: int = 700) -> str:
    """A retrieved passage (closest passages after an abstention), shortened."""
    text = p.text if len(p.text) <= max_chars else p.text[:max_chars].rsplit(" ", 1)[0] + " …"
    return (f'<li class="source closest"><div class="src-head"><span class="src-num">{p.rank}</span>'
            f'{_header(p.title, p.date, p.doc_id)}<span class="badge">score {p.score:.2f}</span></div>'
            f'<blockquote class="passage">{html.escape(text)}</blockquote></li>')


def sources_html(answer: Answer, turn: int, document_text: Callable[[str], str]) -> str:
    """The sources of one answer: cited passages, or the closest ones after an abstention."""
    if answer.abstained or not answer.citations:
        if not answer.passages:
            return '<p class="empty">No passage was retrieved.</p>'
        items = "".join(passage_html(p) for p in answer.passages)
        return f'<p class="closest-title">No passage answers this question. Closest passages:</p><ol class="sources">{items}</ol>'
    items = "".join(citation_html(c, turn, document_text) for c in answer.citations)
    return f'<ol class="sources">{items}</ol>'


def sources_panel(sections: Sequence[tuple[int, str, str]]) -> str:
    """All answers' sources, newest first and open; older ones folded.
    ``sections`` holds ``(turn, question, sources_html)``."""
    if not sections:
        return ('<div class="sources-panel"><p class="empty">Sources appear here: each <b>[n]</b> in an answer '
                'links to the passage that supports it, with the quote highlighted.</p></div>')
    parts = []
    for i, (turn, question, body) in enumerate(reversed(sections)):
        open_ = " open" if i == 0 else ""
        parts.append(f'<details class="turn" id="turn-{turn}"{open_}><summary>{html.escape(question)}</summary>{body}</details>')
    return f'<div class="sources-panel">{"".join(parts)}</div>'


def error_html(message: str) -> str:
    """An error shown inline in the page."""
    return f'<div class="error" role="alert">{html.escape(message)}</div>'


def status_html(message: str) -> str:
    return f'<div class="status">{html.escape(message)}</div>' if message else ""


def documents_html(docs: Sequence[dict]) -> str:
    """The indexed articles as a table (title, date, doc_id, chunks, language).

    >>> documents_html([{"doc_id": "a.txt", "title": "<A>", "date": None, "chunks": 3, "language": "fr"}]).count("<tr>")
    2
    """
    if not docs:
        return '<p class="empty">No article is indexed yet: add some below.</p>'
    rows = "".join(
        f'<tr><td class="doc-title">{html.escape(d["title"] or d["doc_id"])}</td><td>{html.escape(d.get("date") or "—")}</td>'
        f'<td><code>{html.escape(d["doc_id"])}</code></td><td class="num">{int(d["chunks"])}</td>'
        f'<td>{html.escape(d.get("language") or "")}</td></tr>'
        for d in sorted(docs, key=lambda d: d["doc_id"])
    )
    return ('<div class="doc-table-wrap"><table class="doc-table"><thead><tr><th>Title</th><th>Date</th>'
            f'<th>doc_id</th><th class="num">Chunks</th><th>Lang.</th></tr></thead><tbody>{rows}</tbody></table></div>')
