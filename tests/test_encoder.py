"""The encoder's two backends: ONNX Runtime (the default, no torch) and sentence-transformers (torch) give the
same vectors, and answering a question in a fresh process never imports torch."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from index.embed import Embedder

TEXTS = ["When did the State Security Service announce the arrest of the cell?",
         "Iran, which shares a common border of 765 kilometers with Azerbaijan, views the ties with apprehension.",
         "ok", "Ещё один текст, не на английском: 1 500 рублей."]


@pytest.fixture(scope="module")
def torch_embedder():
    return Embedder(backend="torch")


def test_onnx_and_torch_give_the_same_sentence_and_token_vectors(embedder, torch_embedder):
    assert embedder.backend == "onnx"
    onnx, torch = np.array(embedder.encode(TEXTS)), np.array(torch_embedder.encode(TEXTS))
    assert onnx.shape == (4, 384) and np.abs(onnx - torch).max() < 1e-5
    for a, b in zip(embedder.token_vectors(TEXTS), torch_embedder.token_vectors(TEXTS)):
        assert a.shape == b.shape and np.abs(a.astype(np.float32) - b.astype(np.float32)).max() < 1e-3
    assert embedder.token_count(TEXTS) == torch_embedder.token_count(TEXTS)


def test_a_question_in_a_fresh_process_imports_no_torch(sample):
    script = ("import json, sys\nfrom rag import Assistant\n"
              f"a = Assistant({str(sample.settings.store.index_dir)!r})\n"
              "answer = a.ask('How long is the border Iran shares with Azerbaijan?')\n"
              "print(json.dumps({'text': answer.text, 'torch': 'torch' in sys.modules,"
              " 'transformers': 'transformers' in sys.modules}))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert "765 kilometers" in result["text"] and not result["torch"] and not result["transformers"]


def test_an_unknown_backend_is_refused_by_name():
    from core.settings import Settings

    with pytest.raises(Exception, match="tensorflow"):
        Settings(encoder="tensorflow")
