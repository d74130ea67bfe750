"""Answer: turn a question and the retrieved passages into an `Answer` with citations, or a refusal.

An answer mode is one class and one registry line. The class is built once
with the `Tools` it may use and streams `Delta` events, then the final `Answer`:

    @register("first-passage")
    class FirstPassage:
        needs_llm = False

        def __init__(self, tools: Tools):
            self.tools = tools

        def stream(self, question, history, retriever):
            passages = retriever.search(question)
            ...
            yield Answer(...)

`RAG_MODE` (settings.answer.mode) takes any registered name, or `auto`: the
LLM when one is configured, else `offline`. A mode that needs something more (the
`local` mode: an installed model) says whether it has it in a `ready(answer settings)`
static method; a mode that is not ready is not offered, and a question asked in it is
answered offline.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Protocol

from core.errors import SettingsError
from core.records import Delta, Event, Message
from core.registry import Registry
from core.settings import AnswerSettings, LLMSettings
from rag.evidence import Encode, Pieces

AUTO = "auto"
REFUSAL = "The documents do not answer this question."   # every mode refuses in these words


@dataclass(frozen=True)
class Tools:
    """What an answer mode may use: its settings, the encoder, and an LLM client passed in (a
    `rag.llm_client.LLMClient`; else LLM mode builds one from the llm settings)."""

    answer: AnswerSettings
    llm_settings: LLMSettings
    encode: Encode
    llm: object | None = None
    pieces: Pieces | None = None

    def encode_one(self, text: str) -> list[float]:
        return self.encode([text])[0]


class Answerer(Protocol):
    needs_llm: bool

    def stream(self, question: str, history: list[Message], retriever) -> Iterator[Event]:
        """`Delta` pieces as they are produced, then exactly one final `Answer`."""


ANSWERERS = Registry("RAG_MODE")
register = ANSWERERS.register   # class decorator: @register("name") makes an answer mode available (RAG_MODE, UI)


def modes() -> list[str]:
    """The values RAG_MODE accepts.

    >>> modes()
    ['auto', 'offline', 'llm', 'local']
    """
    return [AUTO, *ANSWERERS]


def ready(mode: str, llm_available: bool, answer: AnswerSettings) -> bool:
    """Whether a registered mode can answer now: one that needs an LLM only with one, one with a `ready`
    check (the local model installed) only when it passes."""
    check = getattr(ANSWERERS[mode], "ready", None)
    return (llm_available or not ANSWERERS[mode].needs_llm) and (check is None or check(answer))


def resolve(requested: str | None, configured: str, llm_available: bool, answer: AnswerSettings | None = None) -> str:
    """The mode a question is answered in: the requested one, else the configured one; `auto` is the LLM
    when one is available, and a mode that is not `ready` (no LLM, no local model) falls back to `offline`.

    >>> resolve(None, "auto", True), resolve(None, "auto", False), resolve("offline", "llm", True)
    ('llm', 'offline', 'offline')
    >>> resolve("poetry", "auto", False)
    Traceback (most recent call last):
    core.errors.SettingsError: answer mode must be one of auto, offline, llm, local; not 'poetry'
    """
    mode = requested or configured
    if mode not in modes():
        raise SettingsError(f"answer mode must be one of {', '.join(modes())}; not {mode!r}")
    if mode == AUTO:
        mode = "llm" if llm_available else "offline"
    return mode if ready(mode, llm_available, answer or AnswerSettings()) else "offline"


def words(text: str) -> Iterator[Delta]:
    """A finished text as word-by-word `Delta` events (the offline answer streams like a written one).

    >>> [d.text for d in words("It was $5 [1].")]
    ['It ', 'was ', '$5 ', '[1].']
    """
    for match in re.finditer(r"\S+\s*", text):
        yield Delta(match.group())


from rag.answer import extractive, llm, local  # noqa: E402,F401  (each registers its mode)
