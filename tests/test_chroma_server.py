"""The same code against a real `chroma run` server on 127.0.0.1 gives the same answers."""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port
from rag import Assistant

pytestmark = pytest.mark.server
QUESTIONS = [
    "How much money was Aslanov offered to carry out the hit?",
    "When did Azerbaijan open its embassy in Tel Aviv?",
    "Where did Tehran open its first consulate?",
    "What price did SOCAR pay for the Tamar stake?",
]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path_factory.mktemp("chroma-server")),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_for(url: str, proc, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("chroma run exited early")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


def test_server_store_answers_like_the_embedded_store(chroma_server, tmp_path, embedder, sample, corpus_dir):
    remote = Assistant(tmp_path / "unused", embedder=embedder, chroma_host="127.0.0.1", chroma_port=chroma_server)
    report = remote.ingest([corpus_dir])
    assert len(report.added) == 5 and not (tmp_path / "unused" / "chroma.sqlite3").exists()
    assert remote.ingest([corpus_dir]).chunks_embedded == 0
    assert [d.to_dict() for d in remote.documents()] == [d.to_dict() for d in sample.documents()]
    for question in QUESTIONS:
        here, there = sample.ask(question), remote.ask(question)
        assert (there.text, there.abstained) == (here.text, here.abstained), question
        assert [(c.source, c.start, c.end) for c in there.citations] == \
            [(c.source, c.start, c.end) for c in here.citations]


def test_unreachable_server_is_a_clear_error(tmp_path):
    from core.errors import StoreError

    with pytest.raises(StoreError, match="127.0.0.1:9"):
        Assistant(tmp_path, chroma_host="127.0.0.1", chroma_port=9)
