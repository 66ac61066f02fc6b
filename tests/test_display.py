"""Rich display: answers render as HTML and Markdown with linked markers and highlighted quotes."""

from __future__ import annotations

from rag.display import answer_to_html, answer_to_markdown, conversation_markdown
from tests.fakes import first_passage_reply

QUESTION = "Combien OpenAI devrait-elle perdre cette année ?"


def test_answer_renders_with_linked_markers_and_highlighted_quote(make_assistant):
    assistant = make_assistant(first_passage_reply)
    assert "not loaded yet" in repr(assistant)
    answer = assistant.ask(QUESTION)
    assert "articles" in repr(assistant) and len(repr(assistant)) < 200
    html_ = answer._repr_html_()
    c = answer.citations[0]
    assert '<a class="cite" href="#src-' in html_ and "<mark>" in html_
    assert c.doc_id in html_ and c.title[:20] in html_
    md = answer._repr_markdown_()
    assert f"> **{c.quote}**" in md and c.doc_id in md
    assert all(len(repr(p)) < 160 and "\n" not in repr(p) for p in answer.passages)
    assert "## 1. " + QUESTION in conversation_markdown([answer])


def test_unsupported_and_abstained_answers(make_assistant):
    answer = make_assistant(first_passage_reply).ask(QUESTION)
    answer.unsupported_sentences = [answer.answer.split(" [", 1)[0] + "."]
    assert 'class="unsupported"' in answer_to_html(answer)
    assert "(unsupported)" in answer_to_markdown(answer)
    answer.abstained, answer.citations, answer.answer = True, [], "Les articles ne le disent pas."
    html_ = answer_to_html(answer)
    assert "Closest passages" in html_ and answer.passages[0].doc_id in html_
    assert "Closest passages" in answer_to_markdown(answer)
