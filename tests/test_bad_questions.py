"""Bad questions: empty, 100 kB long, only punctuation, other scripts, control characters.

Through Assistant.ask and .stream, the `rag ask` command and the UI's answer handler, each gets an answer
or one clear message (the CLI: exit 1 and a single `error:` line), never a traceback.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import BadQuestion
from test_llm import QUESTION, check_quotes

RAG = Path(sys.executable).parent / "rag"
EMPTY = "the question is empty: type a question with at least one word"
FACT = "$200,000"
# name -> (question, what it gets: the EMPTY message, FACT in a cited answer, or "answer": any answer)
CASES = {
    "empty": ("", EMPTY),
    "blank": (" \t\n  ", EMPTY),
    "punctuation": ("?!.,;:()[]{}—…«»", EMPTY),
    "control only": ("\x01\x02\x1b\x7f", EMPTY),
    "100 kB": (((QUESTION + " ") * 1800)[:100_000], FACT),
    "arabic": ("كم من المال عُرض على أصلانوف لتنفيذ عملية الاغتيال؟", "answer"),
    "russian": ("Сколько денег предложили Асланову за убийство?", "answer"),
    "control characters": ("How much money\x07 was\x1b[31m Aslanov\x7f offered\x08 to carry out the hit?", FACT),
}
API_ONLY = {"nul": ("How much money was Aslanov\x00 offered to carry out the hit?", FACT)}  # argv cannot hold NUL
SURROGATE = "How much money was Aslanov \udcff offered?"  # what invalid UTF-8 in argv becomes


def check_outcome(answer, expected: str, assistant) -> None:
    """An Answer as expected: a cited one holding FACT, or any answer (a refusal or cited quotes)."""
    assert answer.text and (answer.abstained or answer.citations)
    check_quotes(assistant, answer)
    assert expected == "answer" or (FACT in answer.text and not answer.abstained)
    assert len(answer.question) <= 2000 and not any(ord(c) < 32 for c in answer.question)


@pytest.mark.parametrize("question, expected", list(CASES.values()) + list(API_ONLY.values()),
                         ids=list(CASES) + list(API_ONLY))
def test_python_api_answers_or_says_what_is_wrong(sample, question, expected):
    if expected == EMPTY:
        for call in (sample.ask, lambda q: list(sample.stream(q))):
            with pytest.raises(BadQuestion, match=f"^{EMPTY}$"):
                call(question)
        return
    check_outcome(sample.ask(question), expected, sample)
    *pieces, streamed = sample.stream(question)
    assert "".join(p.text for p in pieces).strip() == streamed.text and streamed.text == sample.ask(question).text


def test_python_api_question_with_a_lone_surrogate(sample):
    check_outcome(sample.ask(SURROGATE), FACT, sample)


@pytest.mark.timeout(120)
def test_follow_up_after_a_huge_turn_is_answered(sample):
    """The earlier turn is read only up to 2000 characters (a 100 kB run of digits took minutes)."""
    history = [{"role": "user", "content": "1," * 50_000}, {"role": "assistant", "content": "9," * 50_000}]
    answer = sample.ask("Where was he arrested?", history=history)
    assert answer.text and len(answer.standalone_question) < 4100
    check_quotes(sample, answer)


@pytest.fixture(scope="module")
def cli_runs(sample):
    """`rag ask --json` for every case (and invalid UTF-8 bytes), all started at once: name -> finished run."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "RAG_LLM_BASE_URL", "RAG_MODE")}
    questions = {name: question for name, (question, _) in CASES.items()} | {
        "invalid utf-8": SURROGATE.encode("utf-8", "surrogateescape")}
    runs = {name: subprocess.Popen([str(RAG).encode(), b"ask", q.encode() if isinstance(q, str) else q,
                                    b"--json", b"--index-dir", str(sample.settings.store.index_dir).encode()],
                                   env=env | {"HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE) for name, q in questions.items()}
    return {name: (run, *(part.decode() for part in run.communicate(timeout=600))) for name, run in runs.items()}


def check_cli(run, out: str, err: str, expected: str, sample) -> None:
    assert "Traceback" not in out + err, err[-3000:]
    if expected == EMPTY:
        assert (run.returncode, out, err.strip().splitlines()) == (1, "", [f"error: {EMPTY}"])
        return
    assert run.returncode == 0, err[-3000:]
    answer = json.loads(out)
    assert answer["text"] == sample.ask(answer["question"]).text
    assert expected == "answer" or FACT in answer["text"]


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_cli_exits_with_an_answer_or_one_error_line(cli_runs, sample, name):
    check_cli(*cli_runs[name], CASES[name][1], sample)


@pytest.mark.slow
def test_cli_question_with_invalid_utf8(cli_runs, sample):
    check_cli(*cli_runs["invalid utf-8"], FACT, sample)


@pytest.mark.parametrize("question, expected", list(CASES.values()) + list(API_ONLY.values()) + [
    pytest.param(SURROGATE, FACT)], ids=list(CASES) + list(API_ONLY) + ["surrogate"])
def test_ui_handler_shows_an_answer_or_the_message(sample, question, expected):
    pytest.importorskip("gradio")
    from test_ui_app import run_ask
    from ui import render
    from ui.app import Conversation, Handlers

    handlers = Handlers(sample, sample.settings)
    if not question.strip():                                          # an empty box: nothing happens
        skip = type(pytest.importorskip("gradio").skip())
        updates = list(handlers.ask(question, Conversation(), "offline", 6, [], "", ""))
        assert len(updates) == 1 and all(isinstance(u, skip) for u in updates[0])
        return
    _, chat, _, state = run_ask(handlers, question)
    if expected == EMPTY:
        assert chat[-1]["content"] == render.error_markdown(EMPTY) and state.turn == 0
        return
    answer = sample.ask(question)
    assert chat[-1]["content"] == render.answer_markdown(answer, 1)
    check_outcome(answer, expected, sample)
