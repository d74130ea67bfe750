"""Who may call the served API (pure): with RAG_API_KEY set, every route but /health needs
`Authorization: Bearer <key>`; the UI mounted at / keeps its own login (RAG_UI_USER/RAG_UI_PASSWORD), and
without one it is behind the key too, so a key never leaves the UI open."""
from __future__ import annotations

import hmac

OPEN = {"/health"}
API_PREFIXES = ("/v1/", "/docs", "/redoc", "/openapi.json")


def is_api(path: str) -> bool:
    """Whether a path is the API's (the rest is the UI's).

    >>> is_api("/v1/models"), is_api("/openapi.json"), is_api("/"), is_api("/gradio_api/upload")
    (True, True, False, False)
    """
    return path.startswith(API_PREFIXES)


def needs_key(path: str, key_set: bool, ui_login: bool) -> bool:
    """Whether a request to `path` must carry the key.

    >>> needs_key("/v1/models", False, False), needs_key("/health", True, False)
    (False, False)
    >>> needs_key("/v1/models", True, True), needs_key("/", True, True), needs_key("/", True, False)
    (True, False, True)
    """
    if not key_set or path in OPEN:
        return False
    return is_api(path) or not ui_login


def bearer_ok(header: str, key: str) -> bool:
    """Whether an Authorization header carries `key` (compared in constant time).

    >>> bearer_ok("Bearer k1", "k1"), bearer_ok("bearer k1", "k1"), bearer_ok("Bearer k2", "k1"), bearer_ok("", "k1")
    (True, True, False, False)
    """
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), key.encode())


def refusal(path: str, ui_login: bool) -> str:
    """The message of a 401 (it never repeats what was sent).

    >>> refusal("/v1/models", False)
    'this server needs an API key: send the header Authorization: Bearer <RAG_API_KEY>'
    """
    base = "this server needs an API key: send the header Authorization: Bearer <RAG_API_KEY>"
    if is_api(path) or ui_login:
        return base
    return base + " (set RAG_UI_USER and RAG_UI_PASSWORD to open the UI in a browser with its own login)"
