"""Shared fixtures: the real bundled embedder (loaded once) and an index of the sample corpus."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from core.settings import find_shared

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
for var in ("OPENAI_API_KEY", "RAG_LLM_BASE_URL", "RAG_CHROMA_HOST", "RAG_MODE"):
    os.environ.pop(var, None)
# The extractive answerer's tests pin it without the local model's reader (`make model` installs one, and each read
# takes seconds); the reader's own tests turn it on (tests/test_reader.py).
os.environ["RAG_READER"] = "off"

REPO = Path(__file__).resolve().parents[1]
CORPUS = (find_shared() / "corpus").resolve()
ORIGINAL = "000_fa8bb00622d1fd93.txt"
REWRITE = "001_8aa7530ea92fc152.txt"


@pytest.fixture(scope="session")
def embedder():
    from index.embed import Embedder

    model = Embedder()
    model.encode(["warm up"])
    return model


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    assert CORPUS.is_dir(), f"the sample corpus is expected at {CORPUS}"
    return CORPUS


@pytest.fixture(scope="session")
def sample(tmp_path_factory, embedder, corpus_dir):
    """An Assistant with the sample corpus ingested once for the whole session (read-only use)."""
    from rag import Assistant

    assistant = Assistant(tmp_path_factory.mktemp("sample-index"), embedder=embedder)
    report = assistant.ingest([corpus_dir])
    assert not report.failed, report.failed
    return assistant


@pytest.fixture
def corpus_copy(tmp_path, corpus_dir) -> Path:
    """A writable copy of the sample corpus, for tests that edit or delete files."""
    target = tmp_path / "corpus"
    shutil.copytree(corpus_dir, target)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
