"""The optional LLM judge: LLM mode only, through the real openai client, beside the LLM-free metrics."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO
from eval import command
from fake_openai import FakeOpenAI
from rag import Assistant
from core.errors import RagError

GOLD_LINES = [
    {"id": "j1", "question": "How much money was Aslanov offered to carry out the hit?", "answers": ["$200,000"],
     "sources": ["000_fa8bb00622d1fd93.txt"], "kind": "amount"},
    {"id": "j2", "question": "What is the population of Canada?", "answers": [], "sources": [],
     "kind": "unanswerable"},
]


def grader(body: dict) -> str:
    """Answers questions like the default fake (first sentence of passage 1) and judges like a strict grader."""
    from fake_openai import first_sentence_reply

    user = body["messages"][-1]["content"]
    if not user.startswith("Question:"):
        return first_sentence_reply(body)
    gold = re.search(r"Gold answers: (.*)", user).group(1).split(" | ")
    answer = re.search(r"<answer>\n(.*)\n</answer>", user, re.S).group(1)
    return "CORRECT" if any(g in answer for g in gold) else "INCORRECT"


@pytest.fixture
def gold_file(tmp_path) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in GOLD_LINES))
    return path


def test_judge_score_is_reported_beside_the_other_metrics(sample, corpus_dir, gold_file, tmp_path, monkeypatch):
    with FakeOpenAI() as server:
        server.script = [grader]
        monkeypatch.setenv("OPENAI_API_KEY", "sk-judge-test")
        # every item goes to the LLM (no evidence gate): the judge's mechanics are what is tested
        assistant = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder,
                              llm_base_url=server.url, llm_timeout=5.0, evidence_gate=False)
        result = command.run_gold(gold_file, corpus_dir, tmp_path / "out", assistant.settings,
                                  assistant=assistant, judge_repeats=2)
        judged = [r for r in server.requests if r["body"]["messages"][-1]["content"].startswith("Question:")]
    summary = result.summary
    assert len(judged) == 2 * len(GOLD_LINES)                      # two passes over both items, real HTTP
    assert summary["llm_judge_runs"] == 2 and summary["llm_judge_spread"] == 0.0
    assert summary["llm_judge_correct"] == pytest.approx(summary["accuracy"])   # agrees with containment here
    assert "accuracy" in summary and "answerable_f1" in summary                # beside, not instead
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["summary"]["llm_judge_correct"] == summary["llm_judge_correct"]
    assert all("llm_judge" in item for item in saved["items"])
    with FakeOpenAI() as again:                                    # the same run repeated: judgements cached
        again.script = [grader]
        repeated = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder,
                             llm_base_url=again.url, llm_timeout=5.0, evidence_gate=False)
        second = command.run_gold(gold_file, corpus_dir, tmp_path / "again", repeated.settings, assistant=repeated,
                                  judge_repeats=2)
        rejudged = [r for r in again.requests if r["body"]["messages"][-1]["content"].startswith("Question:")]
    assert second.summary["llm_judge_cached"] == 2 * len(GOLD_LINES) and not rejudged
    assert second.summary["llm_judge_correct"] == summary["llm_judge_correct"]


def test_judge_needs_llm_mode(sample, corpus_dir, gold_file, tmp_path):
    with pytest.raises(RagError, match="--judge needs LLM mode"):
        command.run_gold(gold_file, corpus_dir, tmp_path / "out", sample.settings, assistant=sample, judge_repeats=1)
    assert not (tmp_path / "out").exists()
