"""The chat UI in the browser. The only module that imports gradio.

It talks to the documents only through `rag.Assistant`; every string it shows
is built by `ui.render` (pure, escaped). Errors become one short message in
the page, never a traceback.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field, replace

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.errors import RagError  # noqa: E402
from rag.settings import Settings  # noqa: E402
from ui import forms, render, uploads  # noqa: E402

log = logging.getLogger("ui")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_PASSAGES = 20
SUPPORTED_HINT = ".txt, .md, .html, .pdf, .docx"

CSS = """
#sources { max-height: 78vh; overflow-y: auto; padding-right: 4px; }
#sources h4 { margin: 4px 0 6px; font-size: 0.95em; }
.sources-empty, .no-sources, .closest-note { color: var(--body-text-color-subdued); font-size: 0.9em; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
               margin: 0 0 10px; scroll-margin: 12px; }
.source-card.flash { animation: source-flash 1.6s ease-out; }
@keyframes source-flash { from { box-shadow: 0 0 0 3px #f0b429; } to { box-shadow: none; } }
.source-number { font-weight: 700; margin-right: 4px; }
.source-title { font-weight: 600; }
.source-meta { font-size: 0.8em; color: var(--body-text-color-subdued); margin: 2px 0 4px; }
.passage { font-size: 0.88em; line-height: 1.45; margin: 0; }
.passage mark { background: #ffe58a; color: #111; padding: 0 1px; border-radius: 2px; }
.refused .source-card { opacity: 0.75; }
details.earlier-turn { margin-top: 10px; }
details.earlier-turn summary { cursor: pointer; color: var(--body-text-color-subdued); }
#chat blockquote { border-left: 4px solid #c0392b; background: rgba(192, 57, 43, 0.08);
                   margin: 0; padding: 6px 10px; }
table.documents { width: 100%; border-collapse: collapse; font-size: 0.9em; }
table.documents th, table.documents td { border-bottom: 1px solid var(--border-color-primary);
                                         padding: 4px 6px; text-align: left; vertical-align: top; }
.ingest-failed, .ingest-refused, .status-error { color: #c0392b; }
"""

# Citation links scroll to their source card (opening an earlier turn's folded section) instead of
# navigating: the chat's markdown links would otherwise open a new tab.
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#src-"], a[href^="#near-"]');
    if (!link) return;
    const card = document.getElementById(link.getAttribute('href').slice(1));
    if (!card) return;
    event.preventDefault();
    event.stopPropagation();
    for (let d = card.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
    card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
    card.classList.remove('flash');
    void card.offsetWidth;
    card.classList.add('flash');
  }, true);
}
"""


@dataclass(frozen=True)
class Conversation:
    """One browser session's conversation: what the chat shows and what the assistant is given."""

    messages: list[dict] = field(default_factory=list)   # rendered, for the Chatbot
    history: list[dict] = field(default_factory=list)    # plain text turns, for Assistant.stream
    sections: list[str] = field(default_factory=list)    # sources HTML of each turn
    turn: int = 0


def user_message(error: BaseException) -> str:
    """The short text a person sees for an error; anything unexpected is logged with its traceback."""
    if isinstance(error, RagError):
        return str(error)
    log.error("unexpected error in the UI", exc_info=error)
    return f"something went wrong ({type(error).__name__}); the details are in the server log"


class Handlers:
    """The event handlers; each reaches the documents only through the Assistant."""

    def __init__(self, assistant, settings: Settings):
        self.assistant, self.settings = assistant, settings
        self.uploads = uploads.uploads_dir(settings.index_dir)

    # --- chat
    def ask(self, question: str, conversation: Conversation, mode: str, top_k, sources, since, until):
        """Stream the answer into the chat, then show its sources. Yields (question box, chat, sources, state)."""
        if not (question or "").strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        turn = conversation.turn + 1
        messages = conversation.messages + [{"role": "user", "content": render.user_markdown(question)},
                                            {"role": "assistant", "content": "…"}]
        yield "", messages, gr.skip(), gr.skip()
        try:
            first, last = forms.date_range(since, until)
            answer = None
            for piece in self.assistant.stream(question, history=conversation.history, sources=sources or None,
                                               since=first, until=last, top_k=forms.passages(top_k, self.settings.top_k),
                                               mode=mode or None):
                if isinstance(piece, str):
                    streamed = messages[-1]["content"].rstrip("…") if messages[-1]["content"] != "…" else ""
                    messages = messages[:-1] + [{"role": "assistant", "content": ""}]
                    messages[-1]["content"] = streamed  # placeholder replaced below
                    self._partial = getattr(self, "_partial", "")
                    yield from ()
                answer = piece
        except Exception as error:  # noqa: BLE001 - every failure becomes one line in the chat
            messages[-1] = {"role": "assistant", "content": render.error_markdown(user_message(error))}
            yield gr.skip(), messages, gr.skip(), conversation
            return
