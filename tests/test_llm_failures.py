"""A failing LLM server: bounded requests, the offline answer with a notice, no traceback, never the key.

Every failure the local fake server can produce, through the Python API, the `rag ask` command and the
UI's answer handler. A reply cut short (no end, finish_reason "length", over its answer time) is never
shown as an answer: the offline answer replaces the pieces already streamed.
"""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from core.records import Delta

from fake_openai import FakeOpenAI
from rag import Assistant
from test_llm import QUESTION, check_quotes

SECRET = "sk-failing-llm-Zq8v3LEAKCHECK"
RETRIES = 2
TIMEOUT = 1.0
ANSWER_SECONDS = 2.0
RAG = Path(sys.executable).parent / "rag"
# behaviour -> (requests the server receives for one question, what the notice says)
FAILURES = {
    "429": (1 + RETRIES, "RateLimitError 429"),
    "drop": (1 + RETRIES, "APIConnectionError"),
    "401": (1, "AuthenticationError 401"),
    "html": (1, "the reply stream ended before it was complete"),
    "badchunks": (1, "JSONDecodeError"),
    "hangmid": (1, "ReadTimeout"),
    "length": (1, "the reply was cut short (finish_reason length)"),
    "empty": (1, "the reply was empty"),
    "drip": (1, f"no complete reply within {ANSWER_SECONDS:g} s of its first piece"),
}


@pytest.fixture
def server():
    with FakeOpenAI(hang_seconds=3.0, drip_seconds=0.5) as fake:
        yield fake


@pytest.fixture
def failing(server, sample, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder,
                     llm_base_url=server.url, llm_timeout=TIMEOUT, llm_retries=RETRIES,
                     llm_answer_seconds=ANSWER_SECONDS)


@pytest.fixture(scope="module")
def offline(sample):
    return sample.ask(QUESTION, mode="offline")


@pytest.fixture
def all_logs():
    """Every record of every logger, at DEBUG, with tracebacks, as text."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger()] + [logger for logger in logging.root.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        if logger is loggers[0] or not logger.propagate:
            logger.addHandler(handler)
    yield stream
    for logger, level in levels.items():
        logger.setLevel(level)
        logger.removeHandler(handler)


def notice(reason: str) -> str:
    return f"LLM unavailable ({reason}): showing the offline answer"


def assert_is_the_offline_answer(answer, offline, reason: str) -> None:
    assert answer.mode == "offline" and answer.text == offline.text and answer.citations == offline.citations
    assert answer.notice == notice(reason)


@pytest.mark.parametrize("behaviour", FAILURES)
def test_failure_gives_the_offline_answer_with_a_notice(behaviour, server, failing, offline, all_logs):
    server.script = [behaviour]
    answer = failing.ask(QUESTION)
    requests, reason = FAILURES[behaviour]
    assert len(server.requests) == requests <= 1 + RETRIES
    assert_is_the_offline_answer(answer, offline, reason)
    check_quotes(failing, answer)
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"   # the key was in play
    assert "/chat/completions" in all_logs.getvalue()                        # the client's logs were caught
    assert SECRET not in json.dumps(answer.to_dict()) + all_logs.getvalue()


def test_reply_cut_mid_stream_is_replaced_by_the_offline_answer(server, failing, offline):
    server.script = ["truncate"]
    *pieces, answer = failing.stream(QUESTION)
    assert pieces and all(isinstance(p, Delta) for p in pieces)                # partial text did stream in
    assert_is_the_offline_answer(answer, offline, "the reply stream ended before it was complete")
    assert "".join(p.text for p in pieces).strip() not in answer.text and len(server.requests) == 1


def test_failed_rewrite_of_a_follow_up_makes_no_second_request(server, failing, sample):
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "$200,000 [1]"}]
    server.script = ["500"]
    answer = failing.chat("Where was he arrested?", history)
    assert len(server.requests) == 1 + RETRIES                           # the rewrite's attempts only
    expected = sample.ask("Where was he arrested?", history=history, mode="offline")
    assert_is_the_offline_answer(answer, expected, "InternalServerError 500")
    assert "Aslanov" in answer.standalone_question                   # made standalone offline instead


def rag_ask(server_url: str, index_dir: Path, *options: str) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1", OPENAI_API_KEY=SECRET, RAG_LLM_BASE_URL=server_url,
               RAG_LLM_TIMEOUT=str(TIMEOUT), RAG_LLM_RETRIES=str(RETRIES))
    return subprocess.Popen([str(RAG), "ask", QUESTION, "--index-dir", str(index_dir), *options], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_cli_shows_the_offline_answer_without_traceback_or_key(sample, offline):
    with FakeOpenAI() as errors, FakeOpenAI() as cut:
        errors.script, cut.script = ["500"], ["truncate"]
        runs = [rag_ask(errors.url, sample.settings.store.index_dir, "--json"), rag_ask(cut.url, sample.settings.store.index_dir)]
        (as_json, json_err), (plain, plain_err) = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], json_err + plain_err
    assert (len(errors.requests), len(cut.requests)) == (1 + RETRIES, 1)
    everything = as_json + json_err + plain + plain_err
    assert "Traceback" not in everything and SECRET not in everything
    answer = json.loads(as_json)
    assert answer["mode"] == "offline" and answer["text"] == offline.text
    assert answer["notice"] == notice("InternalServerError 500")
    assert notice("the reply stream ended before it was complete") in " ".join(plain_err.split())
    assert " ".join(offline.text.split()) in " ".join(plain.split())


@pytest.mark.parametrize("behaviour, reason", [("429", "RateLimitError 429"),
                                               ("truncate", "the reply stream ended before it was complete")])
def test_ui_handler_shows_the_offline_answer_with_its_notice(behaviour, reason, server, failing, offline):
    pytest.importorskip("gradio")
    from test_ui_app import run_ask
    from ui import render
    from ui.app import Handlers

    server.script = [behaviour]
    updates, chat, sources, state = run_ask(Handlers(failing, failing.settings), QUESTION, mode="llm")
    assert chat[-1]["content"] == render.answer_markdown(replace(offline, notice=notice(reason)), 1)
    assert state.history[-1]["content"] == offline.text and 'id="src-1-1"' in sources
    shown = repr(updates)
    assert "Traceback" not in shown and "something went wrong" not in shown and SECRET not in shown
