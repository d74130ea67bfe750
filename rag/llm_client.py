"""The one client of an OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp, LM Studio), on the `openai`
package: it lists the server's models and streams bounded chat replies.

A reply asks for at most RAG_LLM_MAX_TOKENS. Its first piece must come within RAG_LLM_FIRST_TOKEN_SECONDS of
the question's first request (a `Clock`): until then, rate limits, server errors, timeouts and dropped
connections are tried again (1 + RAG_LLM_RETRIES attempts, exponential backoff); after it, a failure is final
and the rest must come within RAG_LLM_ANSWER_SECONDS. Every failure is an `LLMFailed` naming why by error
class and HTTP status only (server messages may echo request data, the key included). A reply given up on has
its connection closed at once, so the server stops writing. An empty RAG_LLM_MODEL asks the server for its only
model. The key comes from OPENAI_API_KEY only (or is given: the local model's).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterator

from core.errors import LLMError
from core.settings import LLMSettings

log = logging.getLogger(__name__)
CUT_SHORT = ("length", "content_filter", "max_tokens")  # other finish_reasons (stop, eos, tool_calls) end a reply
PLACEHOLDER_MODEL = "default"   # asked for when RAG_LLM_MODEL is empty and the server lists no model
OPENAI_URL = "https://api.openai.com/v1"
REASONING = ("o1", "o3", "o4", "gpt-5", "gpt-6")   # OpenAI's reasoning models: temperature 1, max_completion_tokens
SYSTEM_ROLE_KEPT = ("o1-mini", "o1-preview")       # reasoning models whose system message is not a developer one


class LLMFailed(LLMError):
    """No usable reply: `reason` says why (a notice shows it); the message also says what to do."""


@dataclass
class Clock:
    """One question's time with the LLM: from its first request (`begin`), the reply's first piece within
    `first_seconds`, the rest within `answer_seconds` of it. A follow-up's rewrite and the answer share it.

    >>> clock = Clock(first_seconds=6.0, answer_seconds=3.0).begin(now=94.0)
    >>> clock.wait(97.5, timeout=30.0), clock.wait(101.0, timeout=30.0), clock.begin(now=99.0).first_by
    (2.5, 0.0, 100.0)
    >>> clock.over(99.5), clock.over(100.0)
    (False, True)
    """

    first_seconds: float
    answer_seconds: float
    first_by: float | None = None

    @classmethod
    def of(cls, settings: LLMSettings) -> "Clock":
        return cls(settings.first_token_seconds, settings.answer_seconds)

    def begin(self, now: float | None = None) -> "Clock":
        """Start the clock at the first request (later calls leave it running)."""
        if self.first_by is None:
            self.first_by = (time.monotonic() if now is None else now) + self.first_seconds
        return self

    def wait(self, now: float, timeout: float) -> float:
        """Seconds one attempt may wait for its first piece: the request timeout, within what is left."""
        return max(0.0, min(timeout, self.first_by - now))

    def over(self, at: float) -> bool:
        """Whether the wait for the first piece has ended by `at`."""
        return self.wait(at, 1.0) <= 0


def retryable(err: BaseException) -> bool:
    """Rate limits, server errors, timeouts and dropped connections (also while the reply's body is read,
    before its first piece) are worth another attempt; anything else (a bad key, an unknown model) is not.

    >>> import httpx, openai
    >>> request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    >>> retryable(openai.APITimeoutError(request)), retryable(httpx.ReadError("reset")), retryable(ValueError())
    (True, True, False)
    """
    import httpx
    import openai

    return isinstance(err, (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
                            openai.APIConnectionError, httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError))


def backoff(attempt: int) -> float:
    """Seconds to pause after failed attempt number `attempt`: from half a second, doubling, at most 4.

    >>> [backoff(n) for n in range(1, 6)]
    [0.5, 1.0, 2.0, 4.0, 4.0]
    """
    return min(4.0, 0.5 * 2 ** (attempt - 1))


def retry_after(err: BaseException, attempt: int, retries: int, clock: Clock, now: float) -> float | None:
    """The pause before another attempt at the first piece, or None when there is none: the error is final,
    the 1 + `retries` attempts are used up, or the clock's wait would be over before the next one begins.

    >>> import httpx, openai
    >>> late, clock = openai.APITimeoutError(httpx.Request("GET", "http://h")), Clock(6.0, 3.0).begin(now=0.0)
    >>> retry_after(late, 1, 2, clock, now=1.0), retry_after(late, 3, 2, clock, now=1.0)
    (0.5, None)
    >>> retry_after(late, 2, 2, clock, now=5.5), retry_after(KeyError("x"), 1, 2, clock, now=1.0)
    (None, None)
    """
    pause = backoff(attempt)
    if not retryable(err) or attempt > retries or clock.over(now + pause):
        return None
    return pause


def describe(err: BaseException) -> str:
    """Class name and HTTP status only: server messages may echo request data, the key included.

    >>> describe(KeyError("sk-secret")), describe(type("RateLimitError", (Exception,), {"status_code": 429})())
    ('KeyError', 'RateLimitError 429')
    """
    status = getattr(err, "status_code", None)
    return f"{type(err).__name__}{f' {status}' if status else ''}"


def only_model(ids: list[str]) -> str:
    """The one model a server offers (PLACEHOLDER_MODEL for none); LLMFailed naming them when several.

    >>> only_model(["qwen2.5:0.5b"]), only_model([])
    ('qwen2.5:0.5b', 'default')
    >>> only_model(["a", "b"])   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.llm_client.LLMFailed: the LLM failed (the server offers 2 models (a, b): set RAG_LLM_MODEL to one): ...
    """
    if len(ids) > 1:
        raise LLMFailed(f"the server offers {len(ids)} models ({', '.join(ids[:5])}): set RAG_LLM_MODEL to one")
    return ids[0] if ids else PLACEHOLDER_MODEL


def request_options(model: str, max_tokens: int, stop: list[str]) -> dict:
    """A chat request's settings besides its messages: greedy, capped at `max_tokens`, with the stop sequences
    given; OpenAI's reasoning models take neither temperature 0 nor max_tokens.

    >>> request_options("qwen2.5:0.5b", 200, ["Question:"])
    {'model': 'qwen2.5:0.5b', 'temperature': 0.0, 'max_tokens': 200, 'stop': ['Question:']}
    >>> request_options("o3-mini", 200, [])
    {'model': 'o3-mini', 'temperature': 1.0, 'max_completion_tokens': 200}
    """
    reasoning = model.startswith(REASONING)
    cap = "max_completion_tokens" if reasoning else "max_tokens"
    return {"model": model, "temperature": 1.0 if reasoning else 0.0, cap: max_tokens,
            **({"stop": stop} if stop else {})}


def chat_messages(messages: list[tuple[str, str]], model: str) -> list[dict]:
    """(role, content) messages as the request sends them; a reasoning model's system message is a developer one.

    >>> chat_messages([("system", "Rules."), ("user", "Who?")], "gpt-4o-mini")[0]
    {'role': 'system', 'content': 'Rules.'}
    >>> [m["role"] for m in chat_messages([("system", "Rules."), ("user", "Who?")], "o3-mini")]
    ['developer', 'user']
    """
    developer = model.startswith(REASONING) and not model.startswith(SYSTEM_ROLE_KEPT)
    return [{"role": "developer" if developer and role == "system" else role, "content": content}
            for role, content in messages]


def text_of(chunk) -> str | None:
    """A streamed chunk's text ('' for a role-only or usage-only chunk); None for a choice without a delta,
    which is skipped whole, its finish_reason included.

    >>> from types import SimpleNamespace as O
    >>> text_of(O(choices=[O(delta=O(content="Hi"))])), text_of(O(choices=[])), text_of(O(choices=[O(delta=None)]))
    ('Hi', '', None)
    """
    if len(chunk.choices) == 0:
        return ""
    delta = chunk.choices[0].delta
    return None if delta is None else delta.content or ""


def finish_reason(chunk) -> str:
    """The finish_reason of a streamed chunk's first choice that has one; '' while the reply goes on.

    >>> from types import SimpleNamespace as O
    >>> finish_reason(O(choices=[O(finish_reason=None), O(finish_reason="length")])), finish_reason(O(choices=[]))
    ('length', '')
    """
    return next((str(c.finish_reason) for c in chunk.choices if getattr(c, "finish_reason", None)), "")


def incomplete(reason: str) -> str:
    """Why a reply stream that ended with `reason` (its finish_reason) is no complete answer; '' if it is.

    >>> incomplete("stop"), incomplete("")
    ('', 'the reply stream ended before it was complete')
    >>> incomplete("length")
    'the reply was cut short (finish_reason length)'
    """
    if not reason:
        return "the reply stream ended before it was complete"
    return f"the reply was cut short (finish_reason {reason})" if reason in CUT_SHORT else ""


class LLMClient:
    """One OpenAI-compatible server through one `openai.OpenAI`: its models, and bounded streamed replies.
    `model` "" means the server's only one, asked for on the first request; None means RAG_LLM_MODEL."""

    def __init__(self, settings: LLMSettings, model: str | None = None, api_key: str = ""):
        import httpx
        import openai

        self.settings, self.url = settings, settings.base_url or OPENAI_URL
        self.model = settings.model if model is None else model
        # retries are ours (max_retries=0), so they do not multiply; each request's timeout is set when it is made
        self.openai = openai.OpenAI(base_url=self.url, api_key=api_key or settings.api_key or "not-needed",
                                    timeout=settings.timeout, max_retries=0,
                                    http_client=httpx.Client(timeout=settings.timeout))

    def listed(self) -> list[str]:
        """The model ids the server lists (GET /models); none when it has no such list (it may still answer)."""
        try:
            return [m.id for m in self.openai.models.list(timeout=min(self.settings.timeout,
                                                                      self.settings.first_token_seconds))]
        except Exception as err:  # noqa: BLE001 - a server without /models still answers chat requests
            log.info("the server lists no models (%s): asking for %r", describe(err), PLACEHOLDER_MODEL)
            return []

    def chosen_model(self) -> str:
        """The model the requests name: the one set, else the server's only one (kept once known)."""
        if not self.model:
            self.model = only_model(self.listed())
        return self.model

    def stream(self, messages: list[tuple[str, str]], clock: Clock | None = None, stop=()) -> Iterator[str]:
        """One reply, piece by piece, within the clock's times; LLMFailed naming why it failed. Closing the
        iterator abandons the reply (its connection closed at once)."""
        clock = (clock or Clock.of(self.settings)).begin()
        first, rest = self._first_piece(messages, clock, list(stop))
        if first is None:
            return
        deadline = time.monotonic() + clock.answer_seconds
        try:
            yield first
            for piece in rest:
                if time.monotonic() > deadline:
                    raise self.failed(f"no complete reply within {clock.answer_seconds:g} s of its first piece")
                yield piece
        except LLMFailed:
            raise
        except Exception as err:  # the openai and httpx error types; reported by class name only
            raise self.failed(describe(err)) from None
        finally:
            rest.close()

    def failed(self, reason: str) -> LLMFailed:
        return LLMFailed(reason, self.url)

    def _first_piece(self, messages: list[tuple[str, str]], clock: Clock, stop: list[str]):
        """(first piece or None, the rest of the reply), trying again what may pass while the clock allows."""
        attempt = 1
        while True:
            try:
                return self._attempt(messages, clock, stop)
            except LLMFailed:
                raise
            except Exception as err:
                pause = retry_after(err, attempt, self.settings.retries, clock, time.monotonic())
                if pause is None:
                    raise self.failed(describe(err)) from None
            time.sleep(pause)
            attempt += 1

    def _attempt(self, messages: list[tuple[str, str]], clock: Clock, stop: list[str]):
        wait = clock.wait(time.monotonic(), self.settings.timeout)
        if wait <= 0:
            raise self.failed(f"no reply within {clock.first_seconds:g} s")
        pieces = self._pieces(messages, wait, stop)
        return next(pieces, None), pieces

    def _pieces(self, messages: list[tuple[str, str]], wait: float, stop: list[str]) -> Iterator[str]:
        """One request's text pieces (empty ones skipped); LLMFailed when the stream ends without a
        finish_reason or with one that cuts the reply short."""
        model, reason = self.chosen_model(), ""
        options = request_options(model, self.settings.max_tokens, stop)
        stream = self.openai.chat.completions.create(messages=chat_messages(messages, model), stream=True,
                                                     timeout=wait, **options)
        with stream:    # closed however the reading ends: an abandoned reply stops the server writing
            for chunk in stream:
                text = text_of(chunk)
                reason = reason or ("" if text is None else finish_reason(chunk))
                if text:
                    yield text
        problem = incomplete(reason)
        if problem:
            raise self.failed(problem)
