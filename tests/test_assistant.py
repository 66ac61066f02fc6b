from __future__ import annotations

import socket

import pytest

from rag.answer.followup import looks_like_follow_up
from rag.answer.pipeline import clean_question
from rag.answer.prompt import ABSTAIN_TOKEN
from rag.errors import RagError

GOOD_FR = "Selon The Information, OpenAI perdra environ 5 milliards de dollars cette année [1]."


def first_passage_citing(reply_text):
    def reply(messages):
        return reply_text
    return reply


def test_ask_builds_index_and_cites_exact_quote(make_assistant):
    a = make_assistant(first_passage_citing(GOOD_FR))
    ans = a.ask("Combien OpenAI devrait-elle perdre cette année ?")
    assert not ans.abstained and ans.language == "fr"
    assert "5 milliards" in ans.answer
    (c,) = ans.citations
    assert c.doc_id == "004_f51b68045130b9a9.txt" and c.supported
    assert a.document_text(c.doc_id)[c.start:c.end] == c.quote and "5 milliards" in c.quote
    d = ans.to_dict()
    assert set(d) >= {"question", "answer", "language", "abstained", "citations", "passages",
                      "unsupported_sentences", "timings"}
    assert set(d["citations"][0]) >= {"marker", "doc_id", "title", "chunk_id", "start", "end", "quote", "supported"}
    assert set(d["timings"]) >= {"retrieve_ms", "ttft_ms", "total_ms", "prompt_tokens", "completion_tokens"}


def test_prompt_states_language_and_numbers_passages(make_assistant):
    a = make_assistant(GOOD_FR)
    a.ask("How much money is OpenAI expected to lose this year?")
    user = a.llm.calls[-1][-1]["content"]
    assert user.startswith("Passages:\n[1] ") and user.endswith("Answer in English.")


def test_an_answer_shows_the_sentences_the_model_read(make_assistant):
    a = make_assistant(GOOD_FR)
    question = "Combien OpenAI devrait-elle perdre cette année ?"
    ans = a.ask(question)
    user = a.llm.calls[-1][-1]["content"]
    assert ans.evidence and ans.evidence == a.evidence(question)  # the same without generating
    for e in ans.evidence:
        assert a.document_text(e.doc_id)[e.start:e.end] == e.text  # exact offsets
        passage = ans.passages[e.passage - 1]  # numbered as in the prompt's markers
        assert passage.doc_id == e.doc_id and passage.start <= e.start < e.end <= passage.end
        # The prompt may gloss dates and amounts ("cette année (2024)"); the excerpt is the article's words.
        assert " ".join(e.text.split()[:4]) in user.split(f"[{e.passage}] ", 1)[1].split("\n[")[0]
    assert len(ans.evidence) < sum(len(p.text.split(". ")) for p in ans.passages)  # chosen, not every sentence
    assert ans.to_dict()["evidence"][0]["text"] == ans.evidence[0].text


@pytest.mark.parametrize("reply", [ABSTAIN_TOKEN, "", "[1][2]", "La capitale est Canberra [1]."])
def test_abstains_when_nothing_supported(make_assistant, reply):
    a = make_assistant(reply)
    ans = a.ask("Quelle est la capitale de l'Australie ?")
    assert ans.abstained and ans.citations == []
    assert ans.answer.startswith("Les articles ne le disent pas")
    assert ans.passages  # closest passages are shown


def test_stream_yields_tokens_then_answer(make_assistant):
    a = make_assistant(GOOD_FR)
    s = a.stream("Combien OpenAI perdra-t-elle cette année ?")
    text = "".join(s)
    assert text.strip() == GOOD_FR and s.answer is not None and not s.answer.abstained


def test_follow_up_is_rewritten_with_history(make_assistant):
    def reply(messages):
        if "Standalone question" in messages[-1]["content"]:
            return "Combien Anthropic devrait-elle dépenser en 2024 ?"
        return "Anthropic devrait dépenser environ 2,7 milliards de dollars en 2024 [1]."

    a = make_assistant(reply)
    convo = a.conversation()
    convo.ask("Combien OpenAI devrait-elle dépenser ?")
    ans = convo.ask("Et Anthropic ?")
    # A bare new name is swapped into the previous question without the LLM.
    assert ans.standalone_question == "Combien Anthropic devrait-elle dépenser ?"
    assert len(convo.history) == 2
    calls = len(a.llm.calls)
    ans = convo.ask("Pourquoi dépense-t-elle autant ?")
    # Other follow-ups are rewritten by the LLM from the last exchange.
    assert "Standalone question" in a.llm.calls[calls][-1]["content"]
    assert ans.standalone_question == "Combien Anthropic devrait-elle dépenser en 2024 ?"


def test_a_question_naming_its_subject_is_not_rewritten_after_another(make_assistant):
    """A complete question in a conversation goes through as asked: no LLM rewrite."""
    a = make_assistant("Anthropic devrait dépenser environ 2,7 milliards de dollars en 2024 [1].")
    convo = a.conversation()
    convo.ask("Combien Anthropic devrait-elle dépenser en 2024 ?")
    for question in ("Combien OpenAI a-t-elle levé ?", "How much money has OpenAI raised so far?",
                     "Combien coûte le robot Atlas ?"):
        calls = len(a.llm.calls)
        ans = convo.ask(question)
        assert ans.standalone_question is None
        assert not any("Standalone question" in c[-1]["content"] for c in a.llm.calls[calls:])


@pytest.mark.parametrize("rewrite", ["OpenAI a levé environ 1,5 milliards de dollars [2].", "NOT_IN_ARTICLES",
                                     "Why did it raise so much?"])
def test_a_rewrite_that_answers_or_changes_language_is_not_used(make_assistant, rewrite):
    def reply(messages):
        if "Standalone question" in messages[-1]["content"]:
            return rewrite
        return "Anthropic devrait dépenser environ 2,7 milliards de dollars en 2024 [1]."

    convo = make_assistant(reply).conversation()
    convo.ask("Combien Anthropic devrait-elle dépenser en 2024 ?")
    ans = convo.ask("Pourquoi dépense-t-elle autant ?")
    assert ans.standalone_question is None  # searched as asked, not as the model's answer


@pytest.mark.parametrize("q", ["", "   ", "\x00\x01"])
def test_empty_questions_are_refused(make_assistant, q):
    with pytest.raises(RagError, match="empty"):
        make_assistant(GOOD_FR).ask(q)


def test_long_question_truncated_with_notice(make_assistant):
    a = make_assistant(GOOD_FR)
    ans = a.ask("Combien OpenAI va-t-elle perdre cette année ? " * 3000)
    assert ans.notices and "tronquée" in ans.notices[0]
    assert len(a.llm.calls[-1][-1]["content"]) < 20000


def test_helpers():
    assert clean_question("a\tb\x07c", 100) == ("a b c", False)
    assert looks_like_follow_up("What about Anthropic?")


def test_no_network_is_used(make_assistant, monkeypatch):
    def guard(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", guard)
    monkeypatch.setattr(socket, "create_connection", guard)
    ans = make_assistant(GOOD_FR).ask("Combien OpenAI perdra-t-elle cette année ?")
    assert not ans.abstained


def test_echoed_question_is_retried_and_left_out(make_assistant):
    question = "Pourquoi le développement de modèles comme ChatGPT coûte-t-il si cher ?"

    def reply(messages):
        if "Ne répète pas la question" in messages[-1]["content"]:
            return (question + " Le développement de modèles comme ChatGPT nécessite un matériel de pointe "
                    "et une quantité astronomique de données [1].")
        return question + " [1]"

    a = make_assistant(reply)
    ans = a.ask(question)
    assert len(a.llm.calls) == 2  # first answer only echoed the question: one retry
    assert not ans.abstained
    assert not ans.answer.startswith("Pourquoi") and "matériel de pointe" in ans.answer
    assert ans.unsupported_sentences == []


@pytest.mark.parametrize("question, first_words", [
    ("Pourquoi le développement de modèles comme ChatGPT coûte-t-il si cher ?", "« Parce que »"),
    ("Why is developing models like ChatGPT so expensive?", '"Because"'),
    ("Combien OpenAI devrait-elle perdre cette année ?", None),
])
def test_an_echoed_why_question_is_retried_with_the_answer_s_first_words(make_assistant, question, first_words):
    a = make_assistant(lambda messages: question)  # echoes every time
    a.ask(question)
    retry = a.llm.calls[1][-1]["content"]
    assert (first_words in retry) if first_words else ("Parce que" not in retry and "Because" not in retry)


def test_an_echo_is_stopped_after_a_few_words_and_never_shown(make_assistant):
    question = "Pourquoi le développement de modèles comme ChatGPT coûte-t-il si cher ?"
    good = "Il faut du matériel de pointe et une quantité astronomique de données [1]."
    produced: list[str] = []

    def reply(messages):
        return good if "Ne répète pas la question" in messages[-1]["content"] else question + " " + good

    a = make_assistant(reply)
    stream_chat = a.llm.stream_chat

    def counting(*args, **kwargs):
        for piece in stream_chat(*args, **kwargs):
            produced.append(piece)
            yield piece

    a.llm.stream_chat = counting
    events = list(a.events(question))
    shown = "".join(v for k, v in events if k == "token")
    assert ("status", "retrying") in events
    assert shown == good and "Pourquoi" not in shown
    # The echo cost 3 tokens, not the whole question and answer.
    assert len(produced) == 3 + len(good.split())
    answer = events[-1][1]
    assert answer.timings.completion_tokens == len(produced) and not answer.abstained


def test_an_answer_held_back_while_undecided_is_still_shown(make_assistant):
    a = make_assistant("Pourquoi OpenAI")  # ends before the echo check can decide
    events = list(a.events("Pourquoi OpenAI perd-elle de l'argent ?"))
    first = events[:events.index(("status", "retrying"))]
    assert "".join(v for k, v in first if k == "token") == "Pourquoi OpenAI"


def test_mistranslated_figure_is_retried(make_assistant):
    question = "Selon Juan Leon, combien l'IA et la crypto pourraient-elles ajouter au PIB mondial d'ici 2030 ?"

    def reply(messages):
        if "Recopie les chiffres" in messages[-1]["content"]:
            return ("Selon Juan Leon, l'IA et la crypto pourraient ajouter jusqu'à 20 000 milliards de dollars "
                    "au PIB mondial d'ici 2030 [1].")
        return "Selon Juan Leon, l'IA et la crypto pourraient ajouter 20 milliards de dollars au PIB mondial d'ici 2030 [1]."

    a = make_assistant(reply)
    ans = a.ask(question)
    assert len(a.llm.calls) == 2
    assert not ans.abstained and "20 000 milliards" in ans.answer
    # Both generations are timed: the LLM time covers them and fits inside the whole answer.
    assert 0 < ans.timings.llm_ms <= ans.timings.total_ms + 0.2 and ans.timings.completion_tokens > 20  # 0.1 ms rounding


def test_unsupported_answer_without_new_figures_is_not_retried(make_assistant):
    a = make_assistant("La capitale de l'Australie est Canberra [1].")
    ans = a.ask("Quelle est la capitale de l'Australie ?")
    assert ans.abstained and len(a.llm.calls) <= 1


def test_open_takes_a_settings_object_given_in_the_folders_place(tmp_path):
    from rag.assistant import Assistant
    from rag.settings import Settings

    assistant = Assistant.open(Settings(index_dir=str(tmp_path / "idx"), k=3))
    assert assistant.index_dir == tmp_path / "idx" and assistant.settings.k == 3
