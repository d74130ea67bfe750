"""The learned offline answerer: its shipped weights and their record, retraining end to end, follow-ups,
stability under near-copies, and the same evidence gate in LLM mode."""
from __future__ import annotations

import json

import pytest

from fake_openai import FakeOpenAI
from rag import Assistant
from rag.evidence.model import ARTEFACT, load


def test_shipped_weights_record_data_split_seed_and_validation_figures():
    record = json.loads(ARTEFACT.read_text())["training"]
    splits = record["articles"]
    assert set(splits) == {"train", "validation", "test"}
    assert not set(splits["train"]) & (set(splits["validation"]) | set(splits["test"])), "an article in two splits"
    assert record["seed"] == 13 and record["data"].startswith("squad-v2")
    assert "validation" in record["threshold_chosen_on"]
    validation = record["figures"]["validation"]
    assert 0 < validation["threshold"] < 1 and validation["sentence_acc_at_1"] > 0.5
    assert load().threshold == validation["threshold"]
    assert ARTEFACT.stat().st_size < 200_000           # weights are a small JSON, not a model dump
    gate = json.loads(ARTEFACT.read_text())["read_gate"]    # `rag train --read-gate N`, on validation questions
    assert 0 < gate["threshold"] < 1 and load().read_threshold == gate["threshold"]
    assert "validation" in gate["training"]["fitted_on"] and gate["training"]["test_with_read_gate"]["questions"]


def test_a_new_feature_is_one_named_function_and_old_weights_refuse_it_by_name(monkeypatch):
    """A newcomer adds a sentence feature by writing one function: every row gains its column, under its
    name, and the shipped weights (trained without it) refuse to load, naming it, until `rag train` is run."""
    from core.errors import RagError
    from rag.evidence import features
    from rag.evidence.model import AnswererModel

    monkeypatch.setattr(features.SENTENCE, "names", list(features.SENTENCE.names))
    monkeypatch.setattr(features.SENTENCE, "functions", list(features.SENTENCE.functions))
    features.SENTENCE.add("question_mark", lambda s: float("?" in s.cand.text))
    q = features.analyse("Who won?", "Who won?", lambda t: 1.0, 9.0)
    cands = [features.Candidate(None, 0, 0, 0, t) for t in ("Ann won?", "Bob lost.")]
    for c in cands:
        c.chunk = type("C", (), {"text": c.text, "title": ""})()
    pool = features.Pool.of(q, cands)
    rows = [features.SENTENCE.values(features.Sentence(q, c, pool, lambda t: 1.0, 9.0)) for c in cands]
    assert [r["question_mark"] for r in rows] == [1.0, 0.0] and list(rows[0])[-1] == "question_mark"
    with pytest.raises(RagError, match="'question_mark' in the code and absent in the weights.*rag train"):
        AnswererModel.from_dict(json.loads(ARTEFACT.read_text()))


def test_answers_carry_a_confidence_and_the_refusal_keeps_the_withheld_answer(sample):
    answered = sample.ask("How long is the border between Iran and Azerbaijan?")
    assert not answered.abstained and "765" in answered.text and answered.confidence >= load().threshold
    refused = sample.ask("What is the population of Canada?")
    assert refused.abstained and refused.confidence < load().threshold and refused.withheld


def test_the_threshold_setting_moves_the_operating_point(sample):
    eager = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, abstain_threshold=0.0)
    strict = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, abstain_threshold=1.0)
    question = "What is the population of Canada?"
    assert not eager.ask(question).abstained
    assert strict.ask("How long is the border between Iran and Azerbaijan?").abstained


def test_follow_up_carries_the_conversation_only_when_it_leans_on_it(sample):
    history = []
    for question in ("Which Israeli president visited Baku?", "When was that?"):
        answer = sample.chat(question, history)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    assert answer.standalone_question != "When was that?"          # carried the earlier turn
    last = sample.chat("What is the population of Azerbaijan?", history)
    assert last.standalone_question == "What is the population of Azerbaijan?"
    assert not last.abstained and "10 million" in last.text


def test_a_follow_up_carries_the_answer_it_points_at_not_every_name_of_its_quote():
    """'When was that?' after 'Herzog — <a sentence naming Tehran, Baku, Israel>' is about Herzog's visit: the
    earlier question's names and the short answer are carried, not the quote's other names (which made the same
    sentence look like a full match for the follow-up, and a 'when' question was answered with no date)."""
    from rag.conversation import standalone

    history = [{"role": "user", "content": "Which Israeli president visited Baku?"},
               {"role": "assistant", "content": "Herzog — Following President Herzog's visit to Azerbaijan, Tehran "
                                                "warns the rulers of Baku against ties with Israel. [1]"}]
    assert standalone("When was that?", history) == "When was that? (Israeli; Baku; Herzog)"
    history[1]["content"] = "March 29, 2023 — 3- Azerbaijan opens its embassy in Tel Aviv on March 29, 2023: [1]"
    assert standalone("Who spoke there then?", history) == "Who spoke there then? (Israeli; Baku; March 29, 2023)"
    history[1]["content"] = "Aqil Aslanov was arrested in Baku [1]. He fled [2]."      # no short answer first
    assert standalone("When was he arrested?", history) == "When was he arrested? (Israeli; Baku; Aqil Aslanov)"


def test_sixty_near_copies_of_each_article_do_not_change_the_answer(tmp_path, corpus_dir, embedder):
    from eval.robustness import near_copy

    folder = tmp_path / "copies"
    folder.mkdir()
    for path in sorted(corpus_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        (folder / path.name).write_text(text, encoding="utf-8")
        for k in range(1, 61):
            (folder / f"copy{k:02d}_{path.name}").write_text(near_copy(text, k), encoding="utf-8")
    assistant = Assistant(tmp_path / "index", embedder=embedder)
    assert not assistant.ingest([folder]).failed
    answer = assistant.ask("How long is the border between Iran and Azerbaijan?")
    assert not answer.abstained and "765" in answer.text


def test_numbered_copies_of_each_article_do_not_change_the_answer(tmp_path, corpus_dir, embedder):
    """Issue 29: the sample corpus plus copies of each article in which each line's first "Azerbaijan" reads
    "Azerbaijan (k)". At 20 copies the copies of one passage filled every place of the top five (each differs
    from the others by a number, which kept it from collapsing) and the question was refused; at 60 the same.
    Copies 21-60 are made of the answer's article only (the one whose copies crowd the top five): copies of the
    other four would only add 160 documents to encode."""
    folder = tmp_path / "versions"
    folder.mkdir()
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(corpus_dir.glob("*.txt"))}
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    assistant = Assistant(tmp_path / "index", embedder=embedder)
    for upto in (20, 60):
        for name, text in texts.items() if upto == 20 else [(n, t) for n, t in texts.items() if "765" in t]:
            for k in range(1 if upto == 20 else 21, upto + 1):
                lines = [line.replace("Azerbaijan", f"Azerbaijan ({k})", 1) for line in text.split("\n")]
                (folder / f"v{k:02d}_{name}").write_text("\n".join(lines), encoding="utf-8")
        assert not assistant.ingest([folder]).failed
        answer = assistant.ask("How long is the border between Iran and Azerbaijan?")
        assert not answer.abstained and "765" in answer.short_answer, (upto, answer.text)
        assert not answer.conflicts and "765" in answer.citations[0].quote


@pytest.fixture
def llm_server():
    with FakeOpenAI() as fake:
        yield fake


def test_llm_mode_refuses_without_calling_the_llm_when_no_passage_is_evidence(llm_server, sample, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    gated = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder,
                      llm_base_url=llm_server.url, mode="llm")
    answer = gated.ask("What is the population of Canada?")
    assert answer.abstained and answer.mode == "llm" and "not asked" in answer.notice
    assert not llm_server.requests
    open_gate = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder,
                          llm_base_url=llm_server.url, mode="llm", evidence_gate=False)
    open_gate.ask("What is the population of Canada?")
    assert len(llm_server.requests) == 1


def test_llm_mode_is_sent_only_passages_that_pass_the_evidence_threshold(llm_server, sample, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    gated = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder,
                      llm_base_url=llm_server.url, mode="llm")
    gated.ask("How long is the border between Iran and Azerbaijan?")
    sent = llm_server.requests[-1]["body"]["messages"][1]["content"]
    assert "765" in sent and 1 <= sent.count("<passage number=") < sample.settings.retrieval.top_k


def test_retraining_on_a_small_sample_writes_weights_the_answerer_uses(tmp_path, corpus_dir, embedder):
    from core.settings import Settings
    from learn.train import train

    out = tmp_path / "answerer.json"
    record = train(Settings(index_dir=tmp_path / "index"), out, limit=40, sizes=(2, 1, 1), say=lambda *a: None)
    assert set(record["figures"]) == {"train", "validation", "test"} and out.exists()
    assert record["figures"]["test"]["questions"] > 0 and len(record["test_curve"]) == 21
    assistant = Assistant(tmp_path / "sample", embedder=embedder, model_path=out, abstain_threshold=0.0)
    assistant.ingest([corpus_dir])
    answer = assistant.ask("How long is the border between Iran and Azerbaijan?")
    assert answer.citations and answer.confidence is not None
