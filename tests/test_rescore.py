"""The retrieval's sentence rescoring (FusionWeights.rescore): the chunk with the one sentence
that holds the question's rarer terms beats a chunk of the same story that only shares its
common words."""

from __future__ import annotations

from dataclasses import replace

from tests.conftest import fake_assistant

# Three chunks of one article (each paragraph is longer than half a chunk). The question's
# common words (stade, match, Denver, saison) fill the first and second paragraphs; only the
# third says who fell ill, in one sentence among others about something else.
ARTICLE = """Saison des Broncos

Le stade de Denver a accueilli le match de la saison. Le stade était plein pour le match de Denver, et la saison \
du stade de Denver a battu des records. Le match de la saison au stade de Denver a réuni les supporters de Denver \
dans le stade. Denver a gagné le match, et le stade a fêté la saison.

Le match suivant au stade de Denver a clos la saison. Denver a préparé le stade pour le match, et la saison a \
continué au stade de Denver après le match. Les supporters ont quitté le stade de Denver à la fin de la saison, \
après un dernier match.

Les joueurs ont pris l'avion pour l'Ohio en novembre. L'entraîneur Gary Kubiak est tombé malade pendant le \
voyage, victime d'une migraine sévère. Les billets se sont vendus en une heure. Le car a attendu devant l'hôtel, \
puis la pluie a cessé et la ville a retrouvé son calme avant le départ.
"""

QUESTION = "Quel entraîneur de Denver est tombé malade pendant la saison au stade ?"


def _first_chunk(tmp_path, fake_embedder, rescore: float) -> str:
    docs = tmp_path / f"docs-{rescore}"
    docs.mkdir()
    (docs / "broncos.txt").write_text(ARTICLE, encoding="utf-8")
    assistant = fake_assistant(docs, tmp_path / f"index-{rescore}", fake_embedder, chunk_size=400, chunk_overlap=0)
    retriever = assistant.retriever
    retriever.weights = replace(retriever.weights, rescore=rescore)
    first = retriever.ranked_chunks(QUESTION, "fr")[0][0]
    return retriever.data.chunks[first].text


def test_the_sentence_holding_the_rare_terms_lifts_its_chunk_to_the_top(tmp_path, fake_embedder):
    assert "Kubiak" not in _first_chunk(tmp_path, fake_embedder, 0.0)  # the common words win without it
    assert "Kubiak" in _first_chunk(tmp_path, fake_embedder, 0.3)


def test_a_question_word_counts_in_a_foreign_sentence_through_its_counterpart():
    from rag.answer.evidence import lexical_scores

    sentences = ["L'entraîneur est tombé malade pendant le voyage.", "L'entraîneur a gagné le match du voyage."]
    question = "Which coach fell ill during the trip?"  # "ill"/"malade" is in no word list

    def counterparts(words, others):
        meaning = {"ill": "malade", "coach": "entraîneur", "trip": "voyage"}
        return [o for o in others if o in {meaning.get(w.lower()) for w in words}]

    plain = lexical_scores(question, "en", ["fr", "fr"], sentences)
    aligned = lexical_scores(question, "en", ["fr", "fr"], sentences, counterparts)
    assert plain[0] == plain[1]  # nothing tells them apart without the counterparts
    assert aligned[0] > aligned[1]
    # Same language: counterparts are not consulted.
    same = lexical_scores("Quel entraîneur est tombé malade ?", "fr", ["fr", "fr"], sentences,
                          lambda words, others: 1 / 0)
    assert same[0] > same[1]


def test_a_question_word_weighs_once_however_many_translations_it_has():
    # "lose" has six French forms in the word list, "year" three. Counted as terms of their own,
    # they let a sentence piling up forms of the same two words ("pertes", "déficit", "annuel",
    # "an") outscore the one that states what is asked ("ChatGPT perdra … cette année").
    from rag.answer.evidence import lexical_scores

    question = "How much will ChatGPT lose this year?"
    sentences = ["Cette année, ChatGPT perdra 5 milliards.", "Des pertes et un déficit annuel depuis un an.",
                 "Les pertes de Meta se creusent."]
    scores = lexical_scores(question, "en", ["fr"] * 3, sentences)
    assert scores[0] > scores[1] > scores[2]
    assert round(float(scores[0]), 2) == 1.0  # every word of the question is there, in one form or another


def test_a_capitalised_question_word_is_matched_through_its_counterpart_too():
    # English capitalises titles and places ("Secretary of State", "London"); they were
    # taken for names and matched only as written, so "Penn State" outscored
    # "secrétaire d'État" and the sentence naming the Secretary of State never reached the prompt.
    from rag.answer.evidence import lexical_scores

    sentences = ["Parmi les anciens élèves figure l'ancienne secrétaire d'État Condoleezza Rice.",
                 "L'équipe a été battue par Penn State en demi-finale."]

    def counterparts(words, others):
        meaning = {"Secretary": "secrétaire", "State": "État", "attended": "élèves"}
        return [o for o in others if o in {meaning.get(w) for w in words}]

    scores = lexical_scores("Which Secretary of State attended Notre Dame?", "en", ["fr", "fr"], sentences,
                            counterparts)
    assert scores[0] > scores[1]


def test_a_weak_second_sentence_of_the_first_passage_does_not_take_the_room_of_a_strong_one():
    from rag.answer.evidence import Candidate, pick

    first_best = Candidate(0, 0, 300, 1.0)
    first_weak = Candidate(0, 301, 500, 0.2)  # 200 characters, a fifth of the best score
    other_strong = Candidate(1, 0, 450, 0.9)  # the sentence that states the fact, in passage 2
    chosen = pick([first_best, first_weak, other_strong], budget=800, min_per_top=2, min_ratio=0.7)
    assert other_strong in chosen and first_weak not in chosen
    # With room left, the first passage still gives its second sentence.
    roomy = pick([first_best, first_weak, other_strong], budget=1000, min_per_top=2, min_ratio=0.7)
    assert set(roomy) == {first_best, first_weak, other_strong}
