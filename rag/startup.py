"""What `rag ui` and `rag serve` do before listening, with no web framework here (so `rag serve --no-ui`
never loads gradio): check the UI login, open the assistant, warn about a server open to the network, warm up.

>>> from core.settings import Settings
>>> credentials(Settings(ui_user="ann", ui_password="pw"))
('ann', 'pw')
"""
from __future__ import annotations

import sys
import time

from core.errors import RagError
from core.settings import Settings


def credentials(settings: Settings) -> tuple[str, str] | None:
    """The UI's basic-auth (user, password) when both are set; a half-set pair is an error, not an open UI."""
    user, password = settings.ui.user, settings.ui.password.get_secret_value()
    if bool(user) != bool(password):
        raise RagError("set both RAG_UI_USER and RAG_UI_PASSWORD for a password-protected UI, or neither")
    return (user, password) if user else None


def warm_up(assistant) -> float:
    """Answer a throwaway question before serving, so the first real one does not wait for the model; seconds."""
    began = time.perf_counter()
    try:
        for _ in assistant.stream("warm up", mode="offline"):  # loads the encoder and the snapshot
            pass
    except Exception:  # noqa: BLE001 - an empty index and the like only matter for real questions
        pass
    return time.perf_counter() - began


def ready(settings: Settings, assistant=None, open_to_network: str = "", ui: bool = True) -> tuple[object, float]:
    """Before listening: check the UI login when the UI is served (a half-set one fails before anything loads),
    open the assistant, warn when `open_to_network` says what is reachable without a login, and load the
    model; the assistant and the seconds loading took."""
    if ui:
        credentials(settings)
    if assistant is None:
        from rag.assistant import Assistant

        assistant = Assistant(settings=settings)
    if open_to_network:
        print(f"warning: {open_to_network}", file=sys.stderr)
    print("loading the embedding model and the index…", flush=True)
    return assistant, warm_up(assistant)
