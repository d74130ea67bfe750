"""The `local` answer mode: LLM mode (validated markers, bounded time, the offline answer on any failure)
answered by the local model that `make model` installs (or RAG_LOCAL_MODEL names): no key, no network.

The model is loaded in this process once, by the first question asked in this mode (never at import, never
when the mode is unused), and LLM mode's OpenAI client talks to its llama.cpp server on 127.0.0.1: one
client for remote and local models, so its deadlines, its watch on a reply and the closing of an abandoned
reply all hold here unchanged.
"""
from __future__ import annotations

import contextlib
import dataclasses

from core.records import Answer
from core.settings import AnswerSettings
from rag.answer import Tools, register
from rag.answer.llm import LLMAnswerer
from rag.llm_client import LLMClient, LLMFailed
from rag.local import llama, models


# A 1.5B model on two CPU cores reads ~50 prompt tokens a second and writes ~3 (measured 2026-12-07; far
# less on a busy machine): a question with a few passages waits ~10 s for the first piece, and four cited
# sentences take up to a minute. The local mode waits at least this long (longer RAG_LLM_* bounds hold).
PATIENCE = {"first_token_seconds": 30.0, "answer_seconds": 60.0}


@register("local")
class LocalAnswerer(LLMAnswerer):
    """LLM mode with the local model; offered only when one is installed (`rag model` says which)."""

    needs_llm = False

    @staticmethod
    def ready(answer: AnswerSettings) -> bool:
        """A local model is there to run (a `stat` or two: the model is not loaded)."""
        return models.find(answer.local_model, models.cache_dir()) is not None

    def __init__(self, tools: Tools):
        super().__init__(dataclasses.replace(tools, llm=None))   # an LLM passed in is the remote one, not ours
        self.settings = self.settings.model_copy(update={k: max(v, getattr(self.settings, k))
                                                         for k, v in PATIENCE.items()})
        self.failed = ""

    @property
    def llm(self) -> LLMClient:
        """The client of the local model's loopback server; the model is loaded on first use (LLMFailed, kept
        for this instance, when it cannot be)."""
        if self._llm is None:
            if self.failed:
                raise LLMFailed(self.failed)
            self._llm = self._start()
        return self._llm

    def _start(self):
        found = models.find(self.tools.answer.local_model, models.cache_dir())
        try:
            if found is None:
                raise llama.LocalModelFailed(f"no local model is installed: run `{models.INSTALL}`")
            model = llama.shared(found.path)
        except llama.LocalModelFailed as err:
            self.failed = str(err)
            raise LLMFailed(self.failed) from None
        self.settings = self.settings.model_copy(update={"base_url": model.url})
        return LLMClient(self.settings, found.path.name, api_key=model.key)

    def stream(self, question, history, retriever):
        """LLM mode's stream, its answers marked `local`; the model is loaded first, so loading is not counted
        in the question's time (a model that cannot be loaded gives the offline answer with a notice)."""
        with contextlib.suppress(LLMFailed):
            _ = self.llm
        for event in super().stream(question, history, retriever):
            if isinstance(event, Answer) and event.mode == "llm":
                event.mode = "local"        # written (or refused) by the local model, not by an LLM server
            yield event
