"""LLM mode bounded and quick to give up, against the local fake server over real HTTP: the request asks for
what an answer needs, a reply going nowhere is abandoned (its stream closed) and replaced by the offline answer
with a notice naming why, the wait for a first piece is bounded, and the shapes llama.cpp, Ollama and vLLM
stream in (role-only deltas, usage-only chunks, their model ids, no /v1/models) all give an answer."""
from __future__ import annotations

import time

import pytest

from core.records import Delta

from fake_openai import GOING_NOWHERE, FakeOpenAI
from rag import Assistant
from test_llm import QUESTION, check_quotes

PACE = 0.05          # seconds per streamed word: a whole rambling reply would take 5-20 s
GAVE_UP = {
    "ramble": 'it imitates the prompt ("Passage [2]:")',
    "uncited": "it cites no passage in its first 2 sentences",
    "loop": 'it imitates the prompt ("<|im_end|>")',
    "repeat": "it repeats itself",
    "invent": "it cites passages that do not exist ([12])",
}


def assistant_for(sample, url: str, **settings) -> Assistant:
    return Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, llm_base_url=url,
                     **{"llm_timeout": 2.0, "llm_retries": 1, **settings})


@pytest.fixture(scope="module")
def offline(sample):
    return sample.ask(QUESTION, mode="offline")


def wait_for(condition, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("behaviour", GAVE_UP)
def test_a_reply_going_nowhere_is_abandoned_and_the_offline_answer_given(behaviour, sample, offline):
    with FakeOpenAI(pace=PACE) as server:
        server.script = [behaviour]
        timed = [(event, time.monotonic()) for event in assistant_for(sample, server.url).stream(QUESTION)]
        assert wait_for(lambda: server.disconnects == 1)               # the request was abandoned, not drained
    (*pieces, answer), times = zip(*timed)
    took = times[-1] - times[0]                                        # from the reply's first piece
    whole = len(GOING_NOWHERE[behaviour].split()) * PACE
    assert took < min(whole / 3, 3.0), f"gave up {took:.1f} s into a {whole:.0f} s reply"
    assert answer.mode == "offline" and answer.text == offline.text and answer.citations == offline.citations
    assert answer.notice == f"LLM reply withdrawn ({GAVE_UP[behaviour]}): showing the offline answer"
    assert all(isinstance(p, Delta) and p.provisional for p in pieces)  # nothing streamed was final


def test_request_asks_for_an_answers_length_with_stop_sequences(sample):
    with FakeOpenAI() as server:
        answer = assistant_for(sample, server.url, llm_max_tokens=120).ask(QUESTION)
    body = server.requests[-1]["body"]
    assert answer.mode == "llm" and body["max_tokens"] == 120
    assert body["stop"] == ["Question:", "<passage", "Passages:", "<|im_start|>"]


def test_wait_for_the_first_piece_is_bounded_by_the_question_not_the_request_timeout(sample, offline):
    with FakeOpenAI(hang_seconds=6.0) as server:
        server.script = ["hang"]
        began = time.monotonic()
        answer = assistant_for(sample, server.url, llm_timeout=30.0, llm_retries=2,
                               llm_first_token_seconds=1.5).ask(QUESTION)
        took = time.monotonic() - began
    assert took < 4.0 and len(server.requests) == 1                   # no retry once the wait is used up
    assert answer.mode == "offline" and answer.text == offline.text and "Timeout" in answer.notice


# style -> (what GET /v1/models lists, the model an empty RAG_LLM_MODEL then asks for)
SERVERS = {
    "llamacpp": (["/models/gemma-3-270m-q4_k_m.gguf"], "/models/gemma-3-270m-q4_k_m.gguf"),
    "ollama": (["qwen2.5:0.5b"], "qwen2.5:0.5b"),
    "vllm": (["Qwen/Qwen2.5-0.5B-Instruct"], "Qwen/Qwen2.5-0.5B-Instruct"),
    "openai": (None, "default"),                                       # no /v1/models: a placeholder name
}


@pytest.mark.parametrize("style", SERVERS)
def test_each_servers_stream_gives_a_cited_answer_with_its_only_model(style, sample):
    listed, expected = SERVERS[style]
    with FakeOpenAI(style=style, models=listed) as server:
        stream = list(assistant_for(sample, server.url, llm_model="").stream(QUESTION))
    *pieces, answer = stream
    assert answer.mode == "llm" and not answer.notice and answer.text.endswith("[1]")
    assert "".join(p.text for p in pieces).strip() == answer.text and all(p.text for p in pieces)
    check_quotes(sample, answer)
    assert server.requests[0]["path"] == "/v1/models" and server.requests[-1]["body"]["model"] == expected


def test_a_server_with_several_models_and_none_chosen_says_so(sample, offline):
    with FakeOpenAI(style="ollama", models=["llama3.2:1b", "qwen2.5:0.5b"]) as server:
        answer = assistant_for(sample, server.url, llm_model="").ask(QUESTION)
    assert answer.mode == "offline" and answer.text == offline.text
    assert answer.notice == ("LLM unavailable (the server offers 2 models (llama3.2:1b, qwen2.5:0.5b): set "
                             "RAG_LLM_MODEL to one): showing the offline answer")
    assert [r["path"] for r in server.requests] == ["/v1/models"]     # no chat request for a model it guessed


def test_a_model_the_server_does_not_serve_is_named_in_the_notice(sample, offline):
    with FakeOpenAI(style="vllm", models=["Qwen/Qwen2.5-0.5B-Instruct"]) as server:
        answer = assistant_for(sample, server.url, llm_model="gpt-4o-mini").ask(QUESTION)
    assert answer.mode == "offline" and answer.text == offline.text
    assert answer.notice == "LLM unavailable (NotFoundError 404): showing the offline answer"
    assert len(server.requests) == 1                                   # a 404 is not retried
