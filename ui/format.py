"""Pure formatting for the web chat: answers, citations and timings as HTML.

No Gradio here: each function takes records from :mod:`rag.records` and returns
a string, so the page's HTML is unit-tested without a server. Every piece of
text that comes from an article, a model or a user is HTML-escaped; the only
tags in the output are the ones written below.
"""

import html
from collections.abc import Callable, Sequence

# The answer's HTML is shared with the notebook display.
from rag.display import (  # noqa: F401 -- re-exported for the page and its tests
    UNSUPPORTED_TITLE,
    UNVERIFIED_TITLE,
    answer_html,
    evidence_html,
    highlight_passage,
    markers_to_anchors,
    source_id,
)
from rag.records import Answer, Citation, Passage, Timings


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
    # One entry per story: reprints of the cited article are named under it, not repeated.
    copies = (f'<div class="src-copies">Same story also in: {", ".join(f"<code>{html.escape(d)}</code>" for d in c.copies)}</div>'
              if c.copies else "")
    date = f"{c.date} · {c.outlet}" if c.date and c.outlet else c.date or c.outlet
    return (f'<li id="{source_id(turn, c.marker)}" class="{cls}">'
            f'<div class="src-head"><span class="src-num">[{c.marker}]</span>{_header(c.title, date, c.doc_id)}{badge}</div>'
            f'<blockquote class="passage">{body}</blockquote>{copies}</li>')


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
        head = '<p class="closest-title">No passage answers this question. Closest passages:</p>'
    else:
        items = "".join(citation_html(c, turn, document_text) for c in answer.citations)
        head = ""
    return f'{head}<ol class="sources">{items}</ol>{evidence_html(answer.evidence, answer.passages)}'


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
    """The indexed articles as a table (title, date, doc_id, chunks, language, date source, outlet),
    newest first, undated last.

    >>> documents_html([{"doc_id": "a.txt", "title": "<A>", "date": None, "chunks": 3, "language": "fr"}]).count("<tr>")
    2
    """
    if not docs:
        return '<p class="empty">No article is indexed yet: add some below.</p>'
    newest_first = sorted(sorted(docs, key=lambda d: d["doc_id"]), key=lambda d: d.get("date") or "", reverse=True)
    rows = "".join(
        f'<tr><td class="doc-title">{html.escape(d["title"] or d["doc_id"])}</td><td>{html.escape(d.get("date") or "—")}</td>'
        f'<td><code>{html.escape(d["doc_id"])}</code></td><td class="num">{int(d["chunks"])}</td>'
        f'<td>{html.escape(d.get("language") or "")}</td>'
        f'<td>{html.escape(d.get("date_source") or "—")}{" (lower bound)" if d.get("date_inferred") else ""}</td>'
        f'<td>{html.escape(d.get("outlet") or "—")}</td></tr>'
        for d in newest_first
    )
    return ('<div class="doc-table-wrap"><table class="doc-table"><thead><tr><th>Title</th><th>Date</th>'
            f'<th>doc_id</th><th class="num">Chunks</th><th>Lang.</th><th>Date source</th><th>Outlet</th>'
            f'</tr></thead><tbody>{rows}</tbody></table></div>')
