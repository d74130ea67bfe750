"""Helpers for tests that drive the real `rag ui` process over HTTP: start it, log in, upload, read statuses."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port

RAG = Path(sys.executable).parent / "rag"
HIDDEN_VARIABLES = ("OPENAI_API_KEY", "RAG_LLM_BASE_URL", "RAG_CHROMA_HOST", "RAG_MODE", "RAG_UI_USER",
                    "RAG_UI_PASSWORD", "RAG_UI_HOST", "RAG_UI_PORT", "RAG_UI_UPLOAD_MB", "RAG_UI_CONCURRENCY")


def ui_env() -> dict[str, str]:
    """This environment, offline, without any variable that would change how `rag` answers or serves."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    for var in HIDDEN_VARIABLES:
        env.pop(var, None)
    return env


def wait_for_http(url: str, server: subprocess.Popen, log: Path, timeout: float = 180, name: str = "`rag ui`") -> None:
    """Wait until `url` answers 200; fail with the tail of the server's `log` if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"{name} exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{name} did not answer on {url} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def ui_log(index: Path, url: str) -> Path:
    """The file the output of the `rag ui` serving `url` goes to."""
    return index.parent / f"ui-{urllib.parse.urlsplit(url).port}.log"


@contextlib.contextmanager
def running_ui(index: Path, host: str | None = "127.0.0.1", **env):
    """`rag ui` on a free port over `index` (`--host` unless None; extra RAG_* variables in `env`);
    yields its URL on 127.0.0.1, stops it after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = ui_log(index, url)
    command = [str(RAG), "ui", "--port", str(port), "--index-dir", str(index)] + (["--host", host] if host else [])
    with open(log, "w") as out:
        server = subprocess.Popen(command, env=ui_env() | env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def opener():
    """A browser-like HTTP session: it keeps the cookies the login sets."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor())


def response(session, url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    """(status, body) of one request; error statuses are returned, not raised."""
    try:
        with session.open(urllib.request.Request(url, data=data, headers=headers or {}), timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def status(session, url: str, data: bytes | None = None, headers: dict | None = None) -> int:
    return response(session, url, data, headers)[0]


def login(session, url: str, user: str, password: str) -> int:
    return status(session, url + "login", urllib.parse.urlencode({"username": user, "password": password}).encode())


def multipart(name: str, payload: bytes) -> tuple[bytes, dict]:
    body = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + name.encode() + b"\"\r\n"
            b"Content-Type: text/plain\r\n\r\n" + payload + b"\r\n--b--\r\n")
    return body, {"Content-Type": "multipart/form-data; boundary=b"}
