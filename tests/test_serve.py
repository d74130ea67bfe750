"""`rag serve` over real HTTP: the real `openai` client against the served app on a free loopback port.

Plain and streamed completions cite the right file; a follow-up uses the conversation; a refusal is marked;
models are the answer modes; the legacy /v1/completions answers the `openai` client and llama-index's `OpenAILike`
with default settings; the key guards every route but /health; upload -> ask -> delete through /v1/documents,
with questions answered while the upload is indexing; 20 completions at once; an LLM-mode server relays the
LLM's answer with its citations validated; the UI and the OpenAPI page in the same app, the page naming no
outside host; `rag serve --no-ui` without gradio.
"""
from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
import uvicorn
from llama_index.llms.openai_like import OpenAILike

from conftest import free_port
from fake_openai import FakeOpenAI
from rag import Assistant
from rag.local import models
from serve.api import create_app
from test_answers import ANALYSIS, ANSWERABLE, JPOST

QUESTION, FACT = "How much money was Aslanov offered to carry out the hit?", "$200,000"
KEY = "k-test-SERVE-7731"
ZORBLAT = "Festival notes.\n\nThe Zorblat festival is held every year in the town of Quenby.\n"


@contextlib.contextmanager
def running(app):
    """The app under uvicorn on a free 127.0.0.1 port, in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_config=None,
                                           log_level="info"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


def client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=60)


def names(sources: list[dict]) -> set[str]:
    return {s["name"] for s in sources}


def quotes_are_verbatim(assistant, sources: list[dict]) -> bool:
    return all(assistant.document_text(s["source"])[s["start"]:s["end"]] == s["quote"] for s in sources)


@pytest.fixture(scope="module")
def served(sample):
    """The whole app (API and UI) over the session's sample index."""
    with running(create_app(sample, sample.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def api(served):
    return client(served)


def test_completion_has_the_fact_and_its_source(api, sample):
    reply = api.chat.completions.create(model="offline", messages=[{"role": "user", "content": QUESTION}])
    text, extra = reply.choices[0].message.content, reply.model_extra
    assert FACT in text and "[1]" in text and reply.model == "offline"
    assert extra["refused"] is False and names(extra["sources"]) & set(JPOST), extra["sources"]
    assert [s["n"] for s in extra["sources"]] == list(range(1, len(extra["sources"]) + 1))
    assert quotes_are_verbatim(sample, extra["sources"]) and extra["sources"][0]["page"] is None


def test_streamed_completion_ends_with_the_sources(api, sample):
    question, fact, files = ANSWERABLE[5]          # the border: 765 kilometers, the analysis article
    chunks = list(api.chat.completions.create(model="auto", stream=True,
                                              messages=[{"role": "user", "content": question}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    final = chunks[-1].model_extra
    assert len(chunks) > 5 and chunks[-1].choices[0].finish_reason == "stop"
    assert fact in text and text == final["text"] and names(final["sources"]) & set(files) == set(ANALYSIS)
    assert quotes_are_verbatim(sample, final["sources"]) and final["refused"] is False


def test_follow_up_uses_the_earlier_messages(api):
    first = "What stake in the Tamar gas field did SOCAR buy?"
    opening = api.chat.completions.create(model="offline", messages=[{"role": "user", "content": first}])
    turns = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": first},
             {"role": "assistant", "content": opening.choices[0].message.content},
             {"role": "user", "content": "Who bought it?"}]
    follow = api.chat.completions.create(model="offline", messages=turns)
    alone = api.chat.completions.create(model="offline", messages=turns[-1:])
    assert alone.model_extra["refused"] is True                      # "it" means nothing on its own
    assert follow.model_extra["refused"] is False and "SOCAR" in follow.choices[0].message.content
    assert names(follow.model_extra["sources"]) & set(JPOST)


def test_a_question_the_documents_do_not_answer_is_refused(api):
    reply = api.chat.completions.create(model="offline", messages=[
        {"role": "user", "content": "What is the population of Canada?"}])
    assert reply.model_extra["refused"] is True and reply.model_extra["sources"] == []
    assert "do not answer" in reply.choices[0].message.content


def test_models_are_the_answer_modes_and_an_unknown_one_is_named(api):
    local = ["local"] if models.find(None, models.cache_dir()) else []  # `make model` installed the local model
    assert [m.id for m in api.models.list()] == ["auto", "offline", *local]   # no LLM configured: no llm mode
    with pytest.raises(openai.NotFoundError) as raised:
        api.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    error = raised.value.body
    assert "'gpt-4o'" in error["message"] and error["param"] == "model" and error["code"] == "model_not_found"


def test_filters_restrict_the_answer_and_bad_values_are_named(api, served):
    reply = api.chat.completions.create(model="offline", messages=[{"role": "user", "content": "Why is Iran worried?"}],
                                        extra_body={"documents": ["004_78d31ce787c7425f.txt"]})
    assert names(reply.model_extra["sources"]) <= {"004_78d31ce787c7425f.txt"}
    for extra, param, named in [({"since": "3 Feb"}, "since", "'3 Feb'"), ({"documents": ["nope.txt"]},
                                                                         "documents", "'nope.txt'")]:
        with pytest.raises(openai.BadRequestError) as raised:
            api.chat.completions.create(model="offline", messages=[{"role": "user", "content": QUESTION}],
                                        extra_body=extra)
        assert raised.value.body["param"] == param and named in raised.value.body["message"]
    broken = httpx.post(served + "/v1/chat/completions", content=b"{not json", timeout=30,
                        headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]
    assert "Traceback" not in broken.text


def test_ask_returns_the_answer_as_rag_ask_json(served, sample):
    reply = httpx.post(served + "/v1/ask", json={"question": QUESTION}, timeout=60)
    assert reply.status_code == 200 and reply.json() == sample.ask(QUESTION).to_dict()


def test_ui_and_openapi_page_are_served_by_the_same_app(served):
    page = httpx.get(served + "/", timeout=30)
    assert page.status_code == 200 and "docqa: ask your documents" in page.text
    schema = httpx.get(served + "/openapi.json", timeout=30).json()
    assert {"/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/documents", "/v1/ask",
            "/health"} <= set(schema["paths"])
    assert httpx.get(served + "/docs", timeout=30).status_code == 200


def test_the_openapi_page_works_offline(served):
    """/docs names no outside host (Swagger UI's script and CSS come from the app), and what it names is there."""
    page = httpx.get(served + "/docs", timeout=30)
    hosts = set(re.findall(r"(?:https?:)?//([^/\s'\"<>]+)", page.text))
    assert page.status_code == 200 and hosts <= {served.split("//")[1]}, hosts
    assets = re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']([^\"']+)", page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        answer = httpx.get(served + asset if asset.startswith("/") else asset, timeout=30)
        assert answer.status_code == 200 and len(answer.content) > 100, asset
    assert "SwaggerUIBundle" in httpx.get(served + next(a for a in assets if a.endswith(".js")), timeout=30).text
    assert httpx.get(served + "/redoc", timeout=30).status_code != 200   # ReDoc would load its logo from a CDN


# --- the legacy Completions API

def test_legacy_completion_answers_the_prompt_with_its_sources(api, sample):
    reply = api.completions.create(model="offline", prompt=QUESTION)
    text, extra = reply.choices[0].text, reply.model_extra
    assert reply.object == "text_completion" and reply.model == "offline" and reply.id.startswith("cmpl-")
    assert FACT in text and "[1]" in text and reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == len(text.split())
    assert extra["refused"] is False and names(extra["sources"]) & set(JPOST) and extra["notice"] == ""
    assert quotes_are_verbatim(sample, extra["sources"])
    assert api.completions.create(model="auto", prompt=[QUESTION]).choices[0].text == text
    refused = api.completions.create(model="offline", prompt="What is the population of Canada?")
    assert refused.model_extra["refused"] is True and refused.model_extra["sources"] == []


def test_streamed_legacy_completion_ends_with_the_sources(api, sample):
    question, fact, files = ANSWERABLE[5]
    chunks = list(api.completions.create(model="offline", prompt=question, stream=True))
    text, final = "".join(c.choices[0].text for c in chunks), chunks[-1].model_extra
    assert len(chunks) > 3 and all(c.object == "text_completion" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop" and fact in text and text == final["text"]
    assert names(final["sources"]) & set(files) == set(ANALYSIS) and quotes_are_verbatim(sample, final["sources"])


def test_legacy_completion_errors_name_the_value(api):
    with pytest.raises(openai.BadRequestError) as raised:
        api.completions.create(model="offline", prompt=["Who?", "When?"])
    assert raised.value.body["param"] == "prompt" and "a list of 2" in raised.value.body["message"]
    with pytest.raises(openai.NotFoundError) as raised:
        api.completions.create(model="gpt-3.5-turbo-instruct", prompt=QUESTION)
    assert raised.value.body["code"] == "model_not_found" and "'gpt-3.5-turbo-instruct'" in raised.value.body["message"]
    with pytest.raises(openai.BadRequestError) as raised:
        api.completions.create(model="offline", prompt=QUESTION, extra_body={"until": "May"})
    assert raised.value.body["param"] == "until" and "'May'" in raised.value.body["message"]


def test_llama_index_openai_like_with_default_settings(served):
    """OpenAILike's defaults call /v1/completions; with is_chat_model=True, /v1/chat/completions."""
    for chat in (False, True):
        llm = OpenAILike(api_base=served + "/v1", api_key="unused", model="offline", is_chat_model=chat)
        reply = llm.complete(QUESTION)
        assert FACT in reply.text and "[1]" in reply.text, chat
        assert names(reply.raw.model_extra["sources"]) & set(JPOST), chat
    streamed = list(OpenAILike(api_base=served + "/v1", api_key="unused", model="offline").stream_complete(QUESTION))
    assert FACT in streamed[-1].text


def test_twenty_completions_at_once(api, sample):
    questions = [case[0] for case in ANSWERABLE if not hasattr(case, "values")] * 2
    questions = questions[:20]
    alone = {q: sample.ask(q).text for q in set(questions)}
    barrier = threading.Barrier(len(questions))

    def ask(question):
        barrier.wait()
        return api.chat.completions.create(model="offline", messages=[{"role": "user", "content": question}])

    with ThreadPoolExecutor(len(questions)) as pool:
        replies = list(pool.map(ask, questions))           # an error in any of them is raised here
    assert len(questions) == 20
    assert [r.choices[0].message.content for r in replies] == [alone[q] for q in questions]


# --- the key

def test_with_a_key_every_route_but_health_needs_it(sample, caplog):
    with caplog.at_level(logging.DEBUG), running(create_app(sample, sample.settings.replace(api_key=KEY))) as url:
        assert httpx.get(url + "/health").status_code == 200
        for path in ("/v1/models", "/v1/documents", "/docs", "/openapi.json", "/"):
            refused = httpx.get(url + path)
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key", path
        refused = httpx.post(url + "/v1/completions", json={"model": "offline", "prompt": QUESTION})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
        wrong = httpx.get(url + "/v1/models", headers={"Authorization": "Bearer k-wrong"})
        assert wrong.status_code == 401 and "k-wrong" not in wrong.text
        with pytest.raises(openai.AuthenticationError):
            client(url, "k-wrong").models.list()
        reply = client(url, KEY).chat.completions.create(model="offline",
                                                         messages=[{"role": "user", "content": QUESTION}])
        assert FACT in reply.choices[0].message.content
        assert FACT in client(url, KEY).completions.create(model="offline", prompt=QUESTION).choices[0].text
    assert caplog.records and KEY not in caplog.text


def test_with_a_key_the_ui_keeps_its_own_login(sample):
    settings = sample.settings.replace(api_key=KEY, ui_user="ann", ui_password="s3cret")
    with running(create_app(sample, settings)) as url:
        assert httpx.get(url + "/v1/models").status_code == 401
        page = httpx.get(url + "/", follow_redirects=True)
        assert page.status_code == 200 and "docqa: ask your documents" not in page.text   # gradio's login page
        assert httpx.get(url + "/config").status_code == 401                              # gradio's own check


# --- documents

@pytest.fixture
def writable(tmp_path, embedder):
    """An assistant over a fresh index holding one small document, with a 50 kB upload cap."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "zorblat.txt").write_text(ZORBLAT)
    assistant = Assistant(tmp_path / "index", embedder=embedder, ui_upload_mb=0.05)
    assert not assistant.ingest([notes]).failed
    return assistant


def test_upload_ask_delete_through_the_documents_api(writable, corpus_dir, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("Padding sentence number one. " * 2000)
    files = [("files", (p.name, p.read_bytes())) for p in (corpus_dir / JPOST[0], big)]
    files.append(("files", ("tool.exe", b"MZ\x90\x00")))
    with running(create_app(writable, writable.settings, ui=False)) as url:
        api = client(url)
        uploaded = httpx.post(url + "/v1/documents", files=files, timeout=120).json()["data"]
        assert [(r["name"], r["status"]) for r in uploaded] == [(JPOST[0], "indexed"), ("big.txt", "refused"),
                                                                ("tool.exe", "refused")]
        assert "upload limit" in uploaded[1]["reason"] and "unsupported file type '.exe'" in uploaded[2]["reason"]
        listed = httpx.get(url + "/v1/documents").json()["data"]
        assert {d["name"] for d in listed} == {"zorblat.txt", JPOST[0]} and all(d["chunks"] for d in listed)
        reply = api.chat.completions.create(model="offline", messages=[{"role": "user", "content": QUESTION}])
        assert FACT in reply.choices[0].message.content and names(reply.model_extra["sources"]) == {JPOST[0]}
        removed = httpx.delete(f"{url}/v1/documents/{JPOST[0]}")
        assert removed.status_code == 200 and not Path(removed.json()["source"]).exists()   # the upload's copy too
        after = api.chat.completions.create(model="offline", messages=[{"role": "user", "content": QUESTION}])
        assert JPOST[0] not in names(after.model_extra["sources"]) and FACT not in after.choices[0].message.content
        again = httpx.delete(f"{url}/v1/documents/{JPOST[0]}")
        assert again.status_code == 404 and JPOST[0] in again.json()["error"]["message"]


def test_questions_are_answered_while_an_upload_is_indexing(writable, corpus_dir):
    from index.embed import Embedder

    files = [("files", (p.name, p.read_bytes())) for p in sorted(corpus_dir.iterdir())]
    # an encoder that has not met the corpus (the session's remembers the vectors it made), so the upload encodes
    fresh = Assistant(settings=writable.settings, store=writable.store, embedder=Embedder())
    with running(create_app(fresh, fresh.settings.replace(ui_upload_mb=20.0), ui=False)) as url:
        api, answered = client(url), []
        with ThreadPoolExecutor(1) as pool:
            upload = pool.submit(httpx.post, url + "/v1/documents", files=files, timeout=300)
            time.sleep(0.2)
            while not upload.done():
                reply = api.chat.completions.create(model="offline", messages=[
                    {"role": "user", "content": "Where is the Zorblat festival held?"}])
                answered.append((upload.done(), reply.choices[0].message.content))
        assert upload.result().status_code == 200
        assert all(r["status"] == "indexed" for r in upload.result().json()["data"])
    during = [text for done, text in answered if not done]
    assert during and all("Quenby" in text for text in during), answered


# --- LLM mode behind the API

@pytest.fixture
def llm_served(sample, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-llm")
    with FakeOpenAI() as fake:
        assistant = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder,
                              llm_base_url=fake.url, llm_timeout=5.0, llm_retries=0)
        with running(create_app(assistant, assistant.settings, ui=False)) as url:
            yield client(url), fake, assistant


def test_llm_answer_is_relayed_with_validated_citations(llm_served):
    api, fake, assistant = llm_served
    local = ["local"] if "local" in assistant.available_modes() else []     # with the model `make model` installs
    assert [m.id for m in api.models.list()] == ["auto", "offline", "llm", *local]
    fake.script = ["cite9"]                               # the reply also cites a passage that does not exist
    reply = api.chat.completions.create(model="llm", messages=[{"role": "user", "content": QUESTION}])
    text, extra = reply.choices[0].message.content, reply.model_extra
    assert reply.model == "llm" and fake.requests, "the LLM answered"
    assert "[9]" not in text and "[1]" in text and len(extra["sources"]) == 1
    assert names(extra["sources"]) & set(JPOST) and quotes_are_verbatim(assistant, extra["sources"])
    streamed = list(api.chat.completions.create(model="llm", stream=True,
                                                messages=[{"role": "user", "content": QUESTION}]))
    raw = "".join(c.choices[0].delta.content or "" for c in streamed)
    final = streamed[-1].model_extra
    assert "[9]" in raw and "[9]" not in final["text"] and len(final["sources"]) == 1   # `text` is the checked one


class Broken:
    """An assistant with a bug in it: every question raises."""

    def available_modes(self):
        return ["offline"]

    def mode_for(self, requested=None):
        return "offline"

    def ask(self, question, **options):
        raise KeyError("no-such-chunk")

    def stream(self, question, **options):
        raise KeyError("no-such-chunk")
        yield


def test_errors_have_the_openai_shape_and_no_traceback(sample, caplog):
    with running(create_app(Broken(), sample.settings, ui=False)) as url:
        for stream in (False, True):
            with pytest.raises(openai.InternalServerError) as raised:
                client(url).chat.completions.create(model="offline", stream=stream,
                                                    messages=[{"role": "user", "content": QUESTION}])
            body = raised.value.body
            assert body["type"] == "server_error" and "KeyError" in body["message"], body
            assert "Traceback" not in raised.value.response.text
            with pytest.raises(openai.InternalServerError) as raised:
                client(url).completions.create(model="offline", stream=stream, prompt=QUESTION)
            assert "KeyError" in raised.value.body["message"]
        empty = httpx.post(url + "/v1/chat/completions", json={"model": "offline", "messages": []})
        assert empty.status_code == 400 and empty.json()["error"]["param"] == "messages"
        tokens = httpx.post(url + "/v1/completions", json={"model": "offline", "prompt": [[1, 2]]})
        assert tokens.status_code == 400 and tokens.json()["error"]["param"] == "prompt"
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)   # the details are in the log


def serve_env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {"HF_HUB_OFFLINE": "1"}


def test_the_rag_serve_command_serves_the_index(sample, tmp_path):
    """The command a user runs, as its own process: health, then a cited completion over the sample index."""
    import subprocess
    import sys

    port = free_port()
    rag = Path(sys.executable).with_name("rag")
    proc = subprocess.Popen([str(rag), "serve", "--port", str(port), "--index-dir", str(sample.settings.store.index_dir)],
                            env=serve_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "rag serve did not answer /health within 60 s"
            time.sleep(0.3)
        reply = client(url).chat.completions.create(model="offline", messages=[{"role": "user", "content": QUESTION}])
        assert FACT in reply.choices[0].message.content
        assert names(reply.model_extra["sources"]) & set(JPOST)
        assert "docqa: ask your documents" in httpx.get(url + "/", timeout=30).text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# `rag serve --no-ui ...` in a process of its own (the command's own code, as the `rag` script runs it), which
# says whether gradio is loaded once it answers /health.
NO_UI = """
import sys, threading, time, httpx
from cli import app

def probe(url):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                print("gradio loaded:", "gradio" in sys.modules, flush=True)
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    print("no /health within 120 s", flush=True)

threading.Thread(target=probe, args=(sys.argv[1],), daemon=True).start()
app(["serve", "--no-ui", *sys.argv[2:]], prog_name="rag")
"""


def test_rag_serve_no_ui_serves_the_api_without_gradio(sample):
    import subprocess
    import sys

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", NO_UI, url, "--port", str(port), "--index-dir",
                             str(sample.settings.store.index_dir)], env=serve_env(), cwd=Path(__file__).parent.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = next((line.strip() for line in iter(proc.stdout.readline, "")   # "" when the process ended
                     if line.startswith(("gradio loaded:", "no /health"))), "the process ended")
        assert said == "gradio loaded: False", (said, proc.stderr.read()[-2000:] if proc.poll() is not None else "")
        reply = client(url).completions.create(model="offline", prompt=QUESTION)
        assert FACT in reply.choices[0].text and names(reply.model_extra["sources"]) & set(JPOST)
        root = httpx.get(url + "/", timeout=30)
        assert root.status_code == 307 and root.headers["location"] == "/docs"   # no UI: the API's page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
