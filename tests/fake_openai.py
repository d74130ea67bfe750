"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests: scripted, deterministic, real HTTP."""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def first_sentence_reply(body: dict) -> str:
    """A correct, cited reply built from the prompt: the first sentence of passage 1, then [1]."""
    user = body["messages"][-1]["content"]
    match = re.search(r'<passage number="1"[^>]*>\n(.*?)\n</passage>', user, re.S)
    sentence = re.split(r"(?<=[.!?])\s", match.group(1).strip())[0] if match else "Nothing."
    return f"{sentence.rstrip('.')}. [1]"


# Replies going nowhere, as small base models write them (the words are invented; what matters is the form).
GOING_NOWHERE = {
    "ramble": "Aslanov was a drug trafficker who lived abroad for many years. Passage [2]: The Iranian foreign "
              "ministry said that the arrest was a provocation. Question: Who recruited Aslanov? Answer: The "
              "passage says that he was recruited. " * 8,
    "uncited": "Aslanov was a drug trafficker. He lived abroad for many years. He was recruited by agents. "
               "He was arrested near a Jewish center. " * 8,
    "loop": "<|im_end|>\n<|im_start|>user\n" * 60,
    "repeat": "The money was offered to him [1] and the money was offered to him [1] and " * 20,
    "invent": "Aslanov was offered $200,000 [12]. He was recruited abroad [14]. He was arrested [15]. " * 8,
}
# How each server streams (llama.cpp, Ollama, vLLM, OpenAI): the first delta, the last one, a usage-only
# chunk (empty choices) after it, and whether a request naming a model it does not serve is refused (404).
STYLES = {
    "openai": {"first": {"role": "assistant", "content": ""}, "last": {}, "usage": True, "strict": False},
    "llamacpp": {"first": {"role": "assistant", "content": None}, "last": {}, "usage": False, "strict": False},
    "ollama": {"first": None, "last": {"role": "assistant", "content": ""}, "usage": False, "strict": True},
    "vllm": {"first": {"role": "assistant", "content": ""}, "last": {"content": ""}, "usage": True,
             "strict": True},
}


class FakeOpenAI:
    """`script` is a list of behaviours consumed one per request; the last one repeats.

    Replies: "cite" | "cite9" | a callable(body) -> str | one of GOING_NOWHERE (all streamed when asked to,
    a word every `pace` seconds). Failures: "429" | "500" | "401" (its message echoes the Authorization
    header, as real servers do) | "malformed" (200, body not JSON) | "html" (200, a proxy's HTML page) |
    "drop" (no response at all) | "hang" (nothing for hang_seconds, then 500) | streamed: "truncate" (cut
    mid-answer, no [DONE]) | "hangmid" (one word, then silence for hang_seconds) | "length" (half the answer,
    finish_reason "length") | "badchunks" (event payloads not JSON) | "empty" (finishes without a word) |
    "drip" (a word every drip_seconds, complete at the end).
    `style` is how the stream is shaped (STYLES); `models` what GET /v1/models lists (None: no such route).
    `disconnects` counts streams the client closed before their end.
    """

    def __init__(self, hang_seconds: float = 5.0, drip_seconds: float = 0.3, pace: float = 0.0,
                 style: str = "openai", models: list[str] | None = None):
        self.script: list = ["cite"]
        self.requests: list[dict] = []
        self.hang_seconds, self.drip_seconds, self.pace = hang_seconds, drip_seconds, pace
        self.style, self.models, self.disconnects = STYLES[style], models, 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def next_behaviour(self):
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": None})
                if self.path.rstrip("/") != "/v1/models" or fake.models is None:
                    return fake._status(self, 404)
                listed = {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "me"}
                                                     for m in fake.models]}
                fake._raw(self, json.dumps(listed).encode(), "application/json")

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                try:
                    if fake.style["strict"] and body.get("model") not in (fake.models or []):
                        return fake._status(self, 404)
                    fake.respond(self, body, fake.next_behaviour())
                except (BrokenPipeError, ConnectionResetError):
                    fake.disconnects += 1  # the client gave up (a timeout, an abandoned reply)

        return Handler

    def respond(self, handler, body: dict, behaviour) -> None:
        if behaviour in ("429", "500", "401"):
            return self._status(handler, int(behaviour), handler.headers.get("Authorization", ""))
        if behaviour == "drop":
            return None  # the connection closes without a status line
        if behaviour == "hang":
            time.sleep(self.hang_seconds)
            return self._status(handler, 500)
        if behaviour in ("malformed", "html"):
            payload = b"{not json" if behaviour == "malformed" else b"<html><body>502 Bad Gateway</body></html>"
            return self._raw(handler, payload, "application/json" if behaviour == "malformed" else "text/html")
        text = "" if behaviour == "empty" else behaviour(body) if callable(behaviour) else \
            GOING_NOWHERE.get(behaviour) or first_sentence_reply(body)
        if behaviour == "cite9":
            text += " The documents also prove the moon is cheese [9]."
        if body.get("stream"):
            return self._stream(handler, text, behaviour)
        return self._raw(handler, json.dumps(completion(text)).encode(), "application/json")

    @staticmethod
    def _status(handler, code: int, echoed: str = "") -> None:
        message = f"status {code}" + (f": incorrect API key provided: {echoed}" if code == 401 else "")
        payload = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _raw(handler, payload: bytes, kind: str) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _stream(self, handler, text: str, behaviour) -> None:
        """Server-sent events, one word each; the streamed failures stop, stall or garble on the way."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        words = re.findall(r"\S+\s*", text)
        shown = {"truncate": len(words) // 2, "length": len(words) // 2, "hangmid": 1}.get(behaviour, len(words))
        if self.style["first"] is not None:
            handler.wfile.write(sse(chunk(self.style["first"])))
        for word in words[:shown]:
            handler.wfile.write(b"data: {garbled\n\n" if behaviour == "badchunks" else sse(chunk(word)))
            handler.wfile.flush()
            time.sleep(self.drip_seconds if behaviour == "drip" else self.pace)
        if behaviour in ("truncate", "hangmid"):
            time.sleep(self.hang_seconds if behaviour == "hangmid" else 0)
            return  # the connection closes mid-answer: no finish_reason, no [DONE]
        handler.wfile.write(sse(chunk(self.style["last"], finish="length" if behaviour == "length" else "stop")))
        if self.style["usage"]:
            handler.wfile.write(sse(usage_chunk(len(words))))
        handler.wfile.write(b"data: [DONE]\n\n")


def completion(text: str) -> dict:
    return {"id": "cmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def chunk(delta: str | dict, finish: str | None = None) -> dict:
    """One streamed chunk: a piece of text, or a delta as a server shapes it (role only, empty...)."""
    shaped = {"role": "assistant", "content": delta} if isinstance(delta, str) else delta
    return {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake",
            "choices": [{"index": 0, "delta": shaped, "finish_reason": finish}]}


def usage_chunk(tokens: int) -> dict:
    """The usage-only chunk OpenAI and vLLM send last: no choices at all."""
    return {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake", "choices": [],
            "usage": {"prompt_tokens": 100, "completion_tokens": tokens, "total_tokens": 100 + tokens}}


def sse(payload: dict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()
