"""xllamacpp, the one module that runs a local GGUF model: llama.cpp in this process.

`LocalModel(Options(path))` loads the model (threads ≈ cores, a context for short prompts, one slot) and
also serves llama.cpp's OpenAI-compatible routes (/health, /v1/models, /v1/chat/completions) on
127.0.0.1 at `url`, guarded by a key made for this process (`key`). In-process it offers a whole reply
(`chat`), a reply's text pieces as they come (`stream`) and the log-probabilities of chosen next tokens
(`next_token_logprobs`, e.g. "Yes" against "No"). `shared(path)` loads a model once per process, on first
use. `python -m rag.local.llama --port N` serves one in a process of its own until it is killed.
"""
from __future__ import annotations

import argparse
import math
import os
import queue
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from core.errors import RagError

CONTEXT = 4096        # tokens: the rules, a few passages and a short reply
END = object()        # what the streaming thread puts on the queue when the reply is over
STOP_SECONDS = 30.0   # the longest wait for a reply cut short to stop (one more token: well under a second)


class LocalModelFailed(RagError):
    """The local model could not be loaded or could not answer; the message names the file or the error."""


@dataclass(frozen=True)
class Options:
    path: Path
    context: int = CONTEXT
    threads: int = 0       # threads writing the reply; 0: one fewer than the cores (see `params`)
    port: int = 0          # 0: a free loopback port
    key: str = ""          # the bearer key the routes require ('' : none)
    quiet: bool = True     # llama.cpp logs errors only


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def params(options: Options):
    """llama.cpp's CommonParams for `options`: greedy by default, loopback only, no web UI, no downloads.
    The prompt is read on every core; the reply is written on one fewer: writing syncs its threads at every
    token, and on a busy 2-core machine (2026-12-07, load 8) two threads wrote 0.3 tokens/s, one 3.2."""
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = str(options.path)
    p.n_ctx, p.n_parallel, p.port, p.offline = options.context, 1, options.port, True
    p.cpuparams.n_threads = options.threads or max(1, cores() - 1)
    p.cpuparams_batch.n_threads = cores()
    p.hostnames, p.ui, p.endpoint_slots, p.endpoint_metrics = ["127.0.0.1"], False, False, False
    p.api_keys = [options.key] if options.key else []
    p.sampling.temp = 0.0
    if options.quiet:
        p.verbosity = 0
    return p


class LocalModel:
    """One GGUF model loaded by llama.cpp in this process; its OpenAI routes at `url` (127.0.0.1)."""

    def __init__(self, options: Options):
        import xllamacpp

        if not Path(options.path).is_file():
            raise LocalModelFailed(f"the model file {options.path} does not exist: run `make model`")
        self.options = options
        began = time.monotonic()
        try:
            self.server = xllamacpp.Server(params(options))
        except Exception as err:  # noqa: BLE001 - llama.cpp's load errors arrive as RuntimeError/ValueError
            raise LocalModelFailed(f"llama.cpp could not load {options.path} ({type(err).__name__}: {err})") from None
        self.load_seconds = time.monotonic() - began

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL (…/v1) on 127.0.0.1."""
        return f"{self.server.listening_address}/v1"

    @property
    def key(self) -> str:
        return self.options.key

    def chat(self, messages: list[dict], **options) -> dict:
        """One whole chat completion (OpenAI's shape: choices[0].message.content, usage, timings)."""
        reply = self.server.handle_chat_completions({"messages": messages, **options})
        return _checked(reply)

    def stream(self, messages: list[dict], **options) -> Iterator[str]:
        """The reply's text pieces as llama.cpp writes them; closing the iterator stops the generation."""
        pieces: queue.Queue = queue.Queue()
        stop = threading.Event()

        def on_chunk(chunk) -> bool:
            pieces.put(chunk)
            return stop.is_set()           # True tells llama.cpp to stop

        def run() -> None:
            try:
                self.server.handle_chat_completions({"messages": messages, **options, "stream": True}, on_chunk)
            except Exception as err:  # noqa: BLE001 - passed to the reader below
                pieces.put(err)
            pieces.put(END)

        worker = threading.Thread(target=run, daemon=True, name="local-model-stream")
        worker.start()
        try:
            yield from _texts(pieces)
        finally:
            stop.set()
            # llama.cpp stops at its next piece; wait for it, or a process that exits meanwhile dies in llama.cpp
            # (a segmentation fault, measured: 4 exits in 5 after a reply cut short)
            worker.join(STOP_SECONDS)

    def next_token_logprobs(self, messages: list[dict], tokens: Sequence[str], top: int = 20) -> dict[str, float]:
        """The log-probability of each of `tokens` being the reply's first token (e.g. "Yes", "No"); a token
        outside the `top` most likely gets -inf. One prompt evaluation, one token generated."""
        reply = self.chat(messages, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=top)
        ranked = reply["choices"][0].get("logprobs", {}).get("content", [{}])[0].get("top_logprobs", [])
        found = {entry["token"]: entry["logprob"] for entry in ranked}
        return {token: found.get(token, -math.inf) for token in tokens}


def _texts(pieces: queue.Queue) -> Iterator[str]:
    """The text of each streamed chunk until the end; an error chunk or exception raises LocalModelFailed."""
    while (chunk := pieces.get()) is not END:
        if isinstance(chunk, Exception):
            raise LocalModelFailed(f"the local model failed ({type(chunk).__name__}: {chunk})")
        for choice in _checked(chunk).get("choices", []):
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text


def _checked(reply) -> dict:
    """A reply dict, or LocalModelFailed naming llama.cpp's error.

    >>> _checked({"choices": []})
    {'choices': []}
    >>> _checked({"code": 400, "message": "the request exceeds the context"})
    Traceback (most recent call last):
    rag.local.llama.LocalModelFailed: the local model refused the request: the request exceeds the context
    """
    if not isinstance(reply, dict) or "choices" not in reply:
        message = reply.get("message", reply) if isinstance(reply, dict) else reply
        raise LocalModelFailed(f"the local model refused the request: {message}")
    return reply


_SHARED: dict[Path, LocalModel] = {}
_LOADING = threading.Lock()


def shared(path: Path) -> LocalModel:
    """The model at `path`, loaded once per process (on first use), its routes guarded by a fresh key."""
    path = Path(path).resolve()
    with _LOADING:
        if path not in _SHARED:
            _SHARED[path] = LocalModel(Options(path, key=secrets.token_urlsafe(24)))
        return _SHARED[path]


def main(argv: list[str] | None = None) -> None:
    """Serve a model on a loopback port until killed (tests kill it mid-reply; also handy by hand)."""
    parser = argparse.ArgumentParser(prog="python -m rag.local.llama", description=main.__doc__)
    parser.add_argument("--model", type=Path, required=True, help="the GGUF file")
    parser.add_argument("--port", type=int, required=True, help="the port on 127.0.0.1")
    parser.add_argument("--context", type=int, default=CONTEXT)
    parser.add_argument("--threads", type=int, default=0, help="threads writing the reply (0: cores - 1)")
    args = parser.parse_args(argv)
    model = LocalModel(Options(args.model, args.context, args.threads, args.port, quiet=False))
    print(f"serving {args.model.name} at {model.url} (loaded in {model.load_seconds:.1f} s)", flush=True)
    threading.Event().wait()


if __name__ == "__main__":   # pragma: no cover - a process of its own
    sys.exit(main())
