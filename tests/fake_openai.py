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


class FakeOpenAI:
    """`script` is a list of behaviours consumed one per request; the last one repeats.

    Behaviours: "cite" | "cite9" | "429" | "500" | "malformed" | "truncate" | "hang" | a callable(body) -> str.
    """

    def __init__(self, hang_seconds: float = 5.0):
        self.script: list = ["cite"]
        self.requests: list[dict] = []
        self.hang_seconds = hang_seconds
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

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                try:
                    fake.respond(self, body, fake.next_behaviour())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

        return Handler

    def respond(self, handler, body: dict, behaviour) -> None:
        if behaviour in ("429", "500"):
            return self._status(handler, int(behaviour))
        if behaviour == "hang":
            time.sleep(self.hang_seconds)
            return self._status(handler, 500)
        if behaviour == "malformed":
            return self._raw(handler, b"{not json", "application/json")
        text = behaviour(body) if callable(behaviour) else first_sentence_reply(body)
        if behaviour == "cite9":
            text = text.replace("[1]", "[1]") + " The documents also prove the moon is cheese [9]."
        if body.get("stream"):
            return self._stream(handler, text, truncate=behaviour == "truncate")
        return self._raw(handler, json.dumps(completion(text)).encode(), "application/json")

    @staticmethod
    def _status(handler, code: int) -> None:
        payload = json.dumps({"error": {"message": f"status {code}", "type": "server_error"}}).encode()
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

    @staticmethod
    def _stream(handler, text: str, truncate: bool) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        words = re.findall(r"\S+\s*", text)
        for i, word in enumerate(words):
            if truncate and i == len(words) // 2:
                handler.wfile.flush()
                return  # connection closes mid-answer: no finish_reason, no [DONE]
            handler.wfile.write(sse(chunk(word)))
        handler.wfile.write(sse(chunk("", finish="stop")))
        handler.wfile.write(b"data: [DONE]\n\n")
        handler.wfile.flush()


def completion(text: str) -> dict:
    return {"id": "cmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def chunk(delta: str, finish: str | None = None) -> dict:
    return {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": delta}, "finish_reason": finish}]}


def sse(payload: dict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()
