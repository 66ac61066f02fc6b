"""The web chat's handlers and HTML helpers, with the fake embedder and LLM (no server)."""

from __future__ import annotations

import html
import re
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.prompt import ABSTAIN_TOKEN
from rag.records import Answer, Citation, Passage, Timings
from ui import format as fmt
from ui.app import GENERIC_ERROR, ChatUI, Session

QUESTION = "Combien OpenAI devrait-elle perdre cette année ?"
GOOD_FR = "Selon The Information, OpenAI perdra environ 5 milliards de dollars cette année [1]."
OPENAI_DOC = "004_f51b68045130b9a9.txt"


@pytest.fixture(autouse=True)
def _quiet_toasts():
    # Outside a request, gr.Warning becomes a Python warning: expected here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def make_ui(make_assistant, reply=GOOD_FR, **settings_kw) -> ChatUI:
    a = make_assistant(reply, **settings_kw)
    return ChatUI(a, a.settings)


def final(ui: ChatUI, question: str, session: Session | None = None, messages=None, **kw):
    """Run the chat handler to the end; returns (all updates, last update)."""
    updates = list(ui.respond(question, messages or [], session or Session(), **kw))
    assert updates, "the handler yielded nothing"
    return updates, updates[-1]


def cite_passage_containing(word: str, sentence: str):
    """A fake reply citing whichever numbered passage of the prompt contains ``word``."""
    def reply(messages):
        user = messages[-1]["content"]
        for m in re.finditer(r"^\[(\d+)\] ", user, re.MULTILINE):
            nxt = re.search(r"^\[\d+\] ", user[m.end():], re.MULTILINE)
            block = user[m.end(): m.end() + nxt.start()] if nxt else user[m.end():]
            if word in block:
                return f"{sentence} [{m.group(1)}]."
        return ABSTAIN_TOKEN
    return reply


# ---------- chat handler ----------

def test_answer_streams_then_links_markers_to_highlighted_quote(make_assistant):
    ui = make_ui(make_assistant)
    updates, (messages, panel, session, status, box) = final(ui, QUESTION)
    streamed = [u[0][-1]["content"] for u in updates[:-1]]
    assert any("cursor" in s for s in streamed), "tokens are shown while generating"
    assert [m["role"] for m in messages] == ["user", "assistant"]
    msg = messages[-1]["content"]
    assert "5 milliards" in msg and 'href="#src-1-1"' in msg and 'class="cite"' in msg
    assert "first token" in msg and "tokens/s" in msg and "5 passages" in msg
    marked = re.findall(r"<mark>(.*?)</mark>", panel, re.S)
    assert marked and "5 milliards" in html.unescape(marked[0])
    assert 'id="src-1-1"' in panel and OPENAI_DOC in panel
    quote = html.unescape(marked[0])
    assert quote in ui.assistant.document_text(OPENAI_DOC)
    assert session.history == [(QUESTION, ui.assistant.ask(QUESTION).answer)]
    assert status == "" and box == ""


def test_follow_up_uses_history_and_shows_understood_question(make_assistant):
    def reply(messages):
        if "Standalone question" in messages[-1]["content"]:
            return "Combien Anthropic devrait-elle dépenser en 2024 ?"
        return "Anthropic devrait dépenser environ 2,7 milliards de dollars en 2024 [1]."

    ui = make_ui(make_assistant, reply)
    _, (messages, _, session, _, _) = final(ui, "Combien Anthropic devrait-elle dépenser en 2024 ?")
    _, (messages, panel, session, _, _) = final(ui, "Et Anthropic ?", session, messages)
    assert len(messages) == 4 and len(session.history) == 2
    assert "Question understood as" in messages[-1]["content"]
    assert "Combien Anthropic devrait-elle dépenser en 2024 ?" in messages[-1]["content"]
    rewrite_prompts = [c for c in ui.assistant.llm.calls if "Standalone question" in c[-1]["content"]]
    assert rewrite_prompts, "the follow-up went through the rewriter with the history"
    assert 'id="src-2-1"' in panel and 'id="src-1-1"' in panel  # both turns' sources stay linkable


def test_abstention_shows_closest_passages(make_assistant):
    ui = make_ui(make_assistant, ABSTAIN_TOKEN)
    _, (messages, panel, *_rest) = final(ui, "Quelle est la capitale de l'Australie ?")
    assert "Les articles ne le disent pas" in messages[-1]["content"]
    assert "Closest passages" in panel and panel.count('class="source closest"') >= 1
    assert "<mark>" not in panel


def test_unsupported_sentence_and_unverified_citation_are_marked(make_assistant):
    reply = GOOD_FR + " La Lune est faite de fromage bleu selon la NASA [2]."
    ui = make_ui(make_assistant, reply)
    _, (messages, panel, *_rest) = final(ui, QUESTION)
    answer = ui.assistant.ask(QUESTION)
    assert answer.unsupported_sentences
    msg = messages[-1]["content"]
    assert 'class="unsupported"' in msg
    # The fabricated sentence keeps its marker as an unverified citation: both views say so.
    assert [c.supported for c in answer.citations] == [True, False]
    assert "unverified" in msg and "not verified" in panel


def test_controls_k_and_language_reach_the_library(make_assistant):
    ui = make_ui(make_assistant)
    _, (messages, *_rest) = final(ui, QUESTION, k=2, language="en")
    assert ui.assistant.llm.calls[0][-1]["content"].endswith("Answer in English.")
    assert re.search(r"[12] passages?</div>", messages[-1]["content"])


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_is_a_readable_message(make_assistant, question):
    ui = make_ui(make_assistant)
    _, (messages, panel, session, status, _) = final(ui, question)
    assert messages == [] and "question is empty" in status and 'role="alert"' in status
    assert "Traceback" not in status


def test_unexpected_failure_is_a_generic_message(make_assistant, caplog):
    def broken(messages):
        raise RuntimeError("llama.cpp exploded")

    ui = make_ui(make_assistant, broken)
    _, (messages, _, _, status, _) = final(ui, QUESTION)
    assert GENERIC_ERROR in html.unescape(status) and "exploded" not in status
    assert GENERIC_ERROR in html.unescape(messages[-1]["content"])
    assert "chat request failed" in caplog.text  # the details went to the log


@pytest.mark.parametrize("path, expected", [("", "Type the path"), ("/nowhere/model.gguf", "nowhere"),
                                            ("/etc/hostname", "not a .gguf")])
def test_bad_model_choice_is_a_readable_message(make_assistant, path, expected):
    ui = make_ui(make_assistant)
    _, (messages, _, _, status, _) = final(ui, QUESTION, preset="gguf", gguf_path=path)
    assert expected in status and "Traceback" not in status


def test_clear_resets_the_conversation(make_assistant):
    ui = make_ui(make_assistant)
    messages, panel, session, status, box = ui.clear()
    assert messages == [] and session.history == [] and "Sources appear here" in panel


def ask_about_zorglub(make_assistant, seeds_copy, markup: str):
    """The chat's final state for a question answered from an added article whose sentence holds ``markup``."""
    (seeds_copy / "999_zorglub.txt").write_text(
        f"Le budget de Zorglub\n\nLe budget de Zorglub atteint 7 milliards de dollars {markup} "
        "selon le rapport annuel publié hier.\n", encoding="utf-8")
    ui = make_ui(make_assistant, cite_passage_containing("Zorglub", "Le budget de Zorglub atteint 7 milliards de dollars"))
    return final(ui, "Quel est le budget de Zorglub ?")[1]


def test_script_in_a_passage_is_escaped(make_assistant, seeds_copy):
    messages, panel, *_rest = ask_about_zorglub(make_assistant, seeds_copy, "<script>alert('x')</script>")
    assert "999_zorglub.txt" in panel
    assert "<script>" not in panel and "&lt;script&gt;" in panel
    assert "<script>" not in messages[-1]["content"]


def test_sources_panel_shows_what_the_model_read(make_assistant, seeds_copy):
    _, panel, *_rest = ask_about_zorglub(make_assistant, seeds_copy, "<b>net</b>")
    folded = panel.split('<details class="rag-evidence">', 1)[1]
    assert folded.startswith("<summary>What the model read (")
    assert "Le budget de Zorglub atteint 7 milliards de dollars &lt;b&gt;net&lt;/b&gt;" in folded  # escaped


def test_user_question_html_is_escaped_in_sources_panel(make_assistant):
    ui = make_ui(make_assistant)
    _, (_, panel, *_rest) = final(ui, QUESTION + " <img src=x onerror=alert(1)>")
    assert "<img" not in panel and "&lt;img" in panel


# ---------- documents ----------

def table_rows(table_html: str) -> list[list[str]]:
    body = table_html.split("<tbody>", 1)[1]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body)]


def test_documents_table_lists_seeds(make_assistant):
    ui = make_ui(make_assistant)
    table, status = ui.refresh_documents()
    rows = table_rows(table)
    assert len(rows) == 5 and OPENAI_DOC in [r[2] for r in rows]
    assert all(int(r[3]) > 0 for r in rows)
    assert "5 articles" in status


def test_upload_good_txt_is_indexed_and_answerable(make_assistant, tmp_path):
    ui = make_ui(make_assistant, cite_passage_containing("Zorglub", "Zorglub a levé 42 millions d'euros"))
    up = tmp_path / "incoming" / "Article Zorglub.txt"
    up.parent.mkdir()
    up.write_text("Zorglub lève des fonds\n\nLa start-up Zorglub a levé 42 millions d'euros auprès de "
                  "plusieurs fonds européens, a annoncé la société mardi.\n", encoding="utf-8")
    table, message, cleared = ui.upload([str(up)])
    rows = table_rows(table)
    ids = [r[2] for r in rows]
    assert "uploads/Article_Zorglub.txt" in ids and len(rows) == 6 and cleared is None
    assert "indexed" in message
    _, (messages, panel, *_rest) = final(ui, "Combien Zorglub a-t-elle levé ?")
    assert "uploads/Article_Zorglub.txt" in panel and "42 millions" in panel


def test_upload_bad_files_give_readable_messages_and_lose_nothing(make_assistant, tmp_path):
    ui = make_ui(make_assistant)
    before, _ = ui.refresh_documents()
    binary = tmp_path / "binaire.txt"
    binary.write_bytes(bytes(range(256)) * 20)
    exe = tmp_path / "programme.exe"
    exe.write_bytes(b"MZ\x00\x00")
    table, message, _ = ui.upload([str(binary), str(exe)])
    assert table == before
    assert message.count('role="alert"') == 2 and "binaire.txt" in message and "programme.exe" in message
    assert "Traceback" not in message
    _, (messages, panel, *_rest) = final(ui, QUESTION)
    assert "5 milliards" in panel  # the index still answers


def test_upload_nothing_is_harmless(make_assistant):
    table, message, _ = make_ui(make_assistant).upload(None)
    assert len(table_rows(table)) == 5


# ---------- API function ----------

def test_ask_returns_answer_dict_or_error(make_assistant):
    ui = make_ui(make_assistant)
    d = ui.ask(QUESTION, 10)
    assert d["citations"][0]["doc_id"] == OPENAI_DOC and "5 milliards" in d["citations"][0]["quote"]
    for k in (0, -3, 50, "many"):  # refused, not silently changed to another k
        assert set(ui.ask(QUESTION, k)) == {"error"} and "k must be" in ui.ask(QUESTION, k)["error"]
    err = ui.ask("   ")
    assert set(err) == {"error"} and "empty" in err["error"]


# ---------- pure formatting ----------

def test_highlight_passage_marks_quote_and_escapes():
    out = fmt.highlight_passage("a <b> c & d", 10, 12, 15)
    assert out == "a <mark>&lt;b&gt;</mark> c &amp; d"
    assert fmt.highlight_passage("abc", 0, 5, 9) == "abc"  # out-of-range quote: text only


def test_markers_to_anchors_handles_groups_unknown_and_unverified():
    cites = [Citation(1, "d1", "T1", "c", 0, 1, "q"), Citation(2, "d2", "T<2>", "c", 0, 1, "q", supported=False)]
    out = fmt.markers_to_anchors("A [1, 2]. B [7].", 4, cites)
    assert 'href="#src-4-1"' in out and 'href="#src-4-2"' in out and "[7]" in out
    assert 'class="cite unverified"' in out and "[2?]" in out and "T<2>" not in out


def test_timing_line():
    t = Timings(retrieve_ms=5, ttft_ms=1200, total_ms=3200, completion_tokens=40, prompt_tokens=900)
    assert fmt.timing_line(t, 3) == "first token 1.2 s · 20.0 tokens/s · 3 passages"
    assert fmt.tokens_per_second(Timings()) is None


def test_sources_html_falls_back_to_quote_when_document_is_gone():
    c = Citation(1, "gone.txt", "T", "c", 10, 20, "la <citation>", passage_start=0, passage_end=50)
    a = Answer(question="q", answer="x [1].", language="fr", citations=[c],
               passages=[Passage(1, "gone.txt", "c", 0, 50, 0.9, "...")])

    def missing(doc_id):
        raise KeyError(doc_id)

    out = fmt.sources_html(a, 1, missing)
    assert "<mark>la &lt;citation&gt;</mark>" in out


@given(st.text(max_size=200), st.lists(st.text(max_size=40), max_size=3))
def test_answer_html_never_lets_markup_through(text, unsupported):
    out = fmt.answer_html(text, 1, [Citation(1, "d", "<t>", "c", 0, 1, "q")], unsupported)
    stripped = re.sub(r'<a class="cite[^"]*" href="#src-1-1" title="[^"<>]*">\[1\??\]</a>', "", out)
    stripped = re.sub(r'<span class="unsupported" title="[^"<>]*">|</span>', "", stripped)
    assert "<" not in stripped and ">" not in stripped


@given(st.text(max_size=120), st.integers(0, 130), st.integers(0, 130))
def test_highlight_passage_round_trips_text(text, a, b):
    out = fmt.highlight_passage(text, 0, min(a, b), max(a, b))
    assert html.unescape(out.replace("<mark>", "").replace("</mark>", "")) == text


def test_index_problem_is_a_readable_message_in_documents_tab(make_assistant, tmp_path):
    from rag.assistant import Assistant

    fake = make_assistant(GOOD_FR)
    settings = fake.settings.with_(index_dir=str(tmp_path / "no-index"), docs_dir=str(tmp_path / "nowhere"))
    a = Assistant(settings, embedder=fake.embedder, llm=fake.llm)
    table, status = ChatUI(a, settings).refresh_documents()
    assert table == "" and 'role="alert"' in status and "rag index" in status


def test_abstain_token_never_shows_while_streaming(make_assistant):
    ui = make_ui(make_assistant, ABSTAIN_TOKEN)
    updates, (messages, *_rest) = final(ui, "Quelle est la capitale de l'Australie ?")
    assert all(ABSTAIN_TOKEN not in u[0][-1]["content"] for u in updates)
    assert "tokens/s" not in messages[-1]["content"] and "answered in" in messages[-1]["content"]


def test_model_choice_is_locked_when_an_llm_server_answers(make_assistant):
    from ui.app import build_app

    def model_dropdown(settings):
        demo = build_app(make_assistant("x"), settings)
        return next(b for b in demo.blocks.values() if getattr(b, "label", None) == "Model")

    a = make_assistant("x")
    assert model_dropdown(a.settings).interactive is not False
    served = model_dropdown(a.settings.with_(llm_base_url="http://127.0.0.1:9/v1"))
    assert served.interactive is False and "http://127.0.0.1:9/v1" in served.info


def test_overviews_show_their_note_and_a_translation_says_it_is_translating(make_assistant):
    # In the articles' language: the articles' sentences at once, with the note saying so.
    ui = make_ui(make_assistant, reply="")
    _, (messages, panel, *_rest) = final(ui, "Que disent les articles sur Mistral AI ?")
    msg = html.unescape(messages[-1]["content"])
    assert "citées telles quelles" in msg and "Mistral AI" in msg and 'class="cite"' in messages[-1]["content"]
    # In the other language: the model translates them, and the chat says what it is doing.
    ui = make_ui(make_assistant, reply=lambda m: m[-1]["content"].split("\n\n", 1)[1])
    updates, (messages, *_rest) = final(ui, "What do the articles say about Mistral AI?")
    streamed = [u[0][-1]["content"] for u in updates[:-1]]
    assert any("Translating the articles" in s for s in streamed)
    assert "translated by the model and checked" in html.unescape(messages[-1]["content"])
