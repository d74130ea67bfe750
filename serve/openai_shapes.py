"""The OpenAI Chat Completions shapes, and those of the legacy Completions API, as plain dicts: requests read,
responses, stream chunks, errors. The two APIs differ only in names and in where a choice holds its text
(`Dialect`); the rest is shared.

Pure (no web framework, no I/O). The answer's text keeps its [n] markers; the citations travel in the
extension field `sources` (on the response and on the final stream chunk), with `refused` and `notice`:

    "sources": [{"n": 1, "source": "/docs/a.txt", "name": "a.txt", "title": "...", "date": "2023-05-25",
                 "page": null, "quote": "...", "start": 120, "end": 245}],
    "refused": false, "notice": ""

The final stream chunk also carries `text`, the whole validated answer.

`page` is the 1-based page where the quote starts in a PDF (null for formats without pages, and for PDFs
indexed before pages were recorded); `start`/`end` are offsets into the document's cleaned text, where `quote`
is found verbatim.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.errors import BadQuestion
from core.records import Answer, Citation, Message

OWNER = "docqa"


@dataclass(frozen=True)
class Dialect:
    """One of the two OpenAI completion APIs: Chat Completions (`messages` in, a `message` or `delta` out) or the
    legacy Completions (`prompt` in, `text` out)."""

    route: str      # OpenAI's path for it
    asks: str       # the request field that holds the question
    prefix: str     # of a response id
    whole: str      # `object` of a finished response
    part: str       # `object` of a stream chunk
    chat: bool

    def choice(self, text: str, finish: str | None, streamed: bool, opening: bool = False) -> dict[str, Any]:
        """The one choice of a response or a chunk; `opening`: the chat stream's first chunk, naming the role.

        >>> CHAT.choice("Two", "stop", streamed=False)["message"], CHAT.choice("Two", None, streamed=True)["delta"]
        ({'role': 'assistant', 'content': 'Two'}, {'content': 'Two'})
        >>> TEXT.choice("Two", None, streamed=True)
        {'index': 0, 'text': 'Two', 'logprobs': None, 'finish_reason': None}
        """
        if not self.chat:
            return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
        said = {"role": "assistant", "content": text} if opening or not streamed else {"content": text} if text else {}
        return {"index": 0, ("delta" if streamed else "message"): said, "finish_reason": finish}


CHAT = Dialect("/v1/chat/completions", "messages", "chatcmpl-", "chat.completion", "chat.completion.chunk", chat=True)
TEXT = Dialect("/v1/completions", "prompt", "cmpl-", "text_completion", "text_completion", chat=False)


def question_field(path: str) -> str:
    """The request field a question came in, by the route it was sent to.

    >>> question_field("/v1/completions"), question_field("/v1/chat/completions"), question_field("/v1/ask")
    ('prompt', 'messages', 'question')
    """
    return next((d.asks for d in (CHAT, TEXT) if d.route == path), "question")


@dataclass(frozen=True)
class Conversation:
    """What a chat request asks: the last user message, and the turns before it (system messages dropped)."""

    question: str
    history: list[Message] = field(default_factory=list)


def text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts.

    >>> text_of("Hi"), text_of([{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}])
    ('Hi', 'a\\nb')
    >>> text_of(None)
    ''
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def conversation(messages: list[dict]) -> Conversation:
    """The question (the last message, which must be the user's) and the user/assistant turns before it.

    >>> c = conversation([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who?"},
    ...                   {"role": "assistant", "content": "Ann [1]."}, {"role": "user", "content": "When?"}])
    >>> c.question, [m["role"] for m in c.history]
    ('When?', ['user', 'assistant'])
    >>> conversation([{"role": "assistant", "content": "Hello"}])
    Traceback (most recent call last):
    core.errors.BadQuestion: the last message must be the user's question, not a 'assistant' message
    """
    if not messages:
        raise BadQuestion("messages is empty: send at least one user message")
    last = messages[-1]
    if last.get("role") != "user":
        raise BadQuestion(f"the last message must be the user's question, not a {last.get('role')!r} message")
    history = [{"role": m["role"], "content": text_of(m.get("content"))} for m in messages[:-1]
               if m.get("role") in ("user", "assistant")]
    return Conversation(text_of(last.get("content")), history)


def prompted(prompt: Any) -> Conversation:
    """The question of a legacy completion request: its `prompt`, a string or a list of one string.

    >>> prompted("Who?").question, prompted(["Who?"]).question
    ('Who?', 'Who?')
    >>> prompted(["Who?", "When?"])
    Traceback (most recent call last):
    core.errors.BadQuestion: prompt must be one question: a string or a list of one string, not a list of 2
    """
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if isinstance(prompt, str):
        return Conversation(prompt)
    got = f"a list of {len(prompt)}" if isinstance(prompt, list) else type(prompt).__name__
    raise BadQuestion(f"prompt must be one question: a string or a list of one string, not {got}")


def source(n: int, citation: Citation) -> dict[str, Any]:
    """One entry of the `sources` extension.

    >>> s = source(1, Citation("/d/a.txt", "T", "Two.", 15, 19, 0.7, "2024-01-02", "c"))
    >>> s["n"], s["name"], s["quote"], s["page"], (s["start"], s["end"])
    (1, 'a.txt', 'Two.', None, (15, 19))
    """
    return {"n": n, "source": citation.source, "name": citation.name, "title": citation.title,
            "date": citation.date, "page": citation.page, "quote": citation.quote, "start": citation.start,
            "end": citation.end}


def extension(answer: Answer) -> dict[str, Any]:
    """The fields this server adds to a completion: the numbered sources, whether it refused, any notice.

    >>> a = Answer("Two [1].", [Citation("/d/a.txt", "T", "Two.", 15, 19, 0.7)], False, "q", "q")
    >>> e = extension(a)
    >>> [s["n"] for s in e["sources"]], e["refused"], e["notice"]
    ([1], False, '')
    """
    return {"sources": [source(n, c) for n, c in enumerate(answer.citations, 1)], "refused": answer.abstained,
            "notice": answer.notice}


def completion(answer: Answer, ident: str, created: int, dialect: Dialect = CHAT) -> dict[str, Any]:
    """A finished answer as a `chat.completion` (or a `text_completion`); `model` is the answer mode used.

    >>> a = Answer("Two [1].", [Citation("/d/a.txt", "T", "Two.", 15, 19, 0.7)], False, "q", "q")
    >>> c = completion(a, "chatcmpl-1", 0)
    >>> c["object"], c["model"], c["choices"][0]["message"]["content"], c["sources"][0]["quote"]
    ('chat.completion', 'offline', 'Two [1].', 'Two.')
    >>> t = completion(a, "cmpl-1", 0, TEXT)
    >>> t["object"], t["choices"][0]["text"], t["choices"][0]["finish_reason"], t["refused"]
    ('text_completion', 'Two [1].', 'stop', False)
    """
    return {"id": ident, "object": dialect.whole, "created": created, "model": answer.mode,
            "choices": [dialect.choice(answer.text, "stop", streamed=False)], "usage": usage(answer),
            **extension(answer)}


def usage(answer: Answer) -> dict[str, int]:
    """Token counts, approximated by words (the answer modes do not count tokens).

    >>> usage(Answer("a b c", [], False, "one two", "one two"))
    {'prompt_tokens': 2, 'completion_tokens': 3, 'total_tokens': 5}
    """
    asked, said = len(answer.question.split()), len(answer.text.split())
    return {"prompt_tokens": asked, "completion_tokens": said, "total_tokens": asked + said}


def chunk(ident: str, created: int, model: str, content: str = "", finish: str | None = None, dialect: Dialect = CHAT,
          opening: bool = False, **extra: Any) -> dict[str, Any]:
    """A `chat.completion.chunk` (or a streamed `text_completion`) carrying the text `content`.

    >>> chunk("c1", 0, "offline", "Two ")["choices"][0]
    {'index': 0, 'delta': {'content': 'Two '}, 'finish_reason': None}
    >>> chunk("c1", 0, "offline", "Two ", dialect=TEXT)["object"]
    'text_completion'
    """
    return {"id": ident, "object": dialect.part, "created": created, "model": model,
            "choices": [dialect.choice(content, finish, streamed=True, opening=opening)], **extra}


def opening(ident: str, created: int, model: str, dialect: Dialect) -> list[dict[str, Any]]:
    """The chunks a stream starts with before any text: the chat stream names the role; the legacy one has none.

    >>> [c["choices"][0]["delta"] for c in opening("c1", 0, "offline", CHAT)], opening("c1", 0, "offline", TEXT)
    ([{'role': 'assistant', 'content': ''}], [])
    """
    return [chunk(ident, created, model, dialect=dialect, opening=True)] if dialect.chat else []


def final_chunk(answer: Answer, ident: str, created: int, dialect: Dialect = CHAT) -> dict[str, Any]:
    """The last chunk of a stream: no new text, `finish_reason` stop, the sources extension, and `text`: the
    whole answer, which replaces the streamed text where they differ (an LLM reply whose invalid markers were
    removed, or the offline answer after the LLM failed mid-reply).

    >>> a = Answer("Two [1].", [Citation("/d/a.txt", "T", "Two.", 15, 19, 0.7)], False, "q", "q")
    >>> f = final_chunk(a, "c1", 0)
    >>> f["choices"][0]["finish_reason"], f["sources"][0]["name"], f["refused"], f["text"]
    ('stop', 'a.txt', False, 'Two [1].')
    """
    return chunk(ident, created, answer.mode, "", "stop", dialect, **extension(answer), text=answer.text)


def event(payload: dict[str, Any] | str) -> str:
    """One server-sent event; a string payload is sent as it is (`[DONE]`).

    >>> event({"a": 1}), event("[DONE]")
    ('data: {"a": 1}\\n\\n', 'data: [DONE]\\n\\n')
    """
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)}\n\n"


def error(message: str, kind: str = "invalid_request_error", param: str | None = None,
          code: str | None = None) -> dict[str, Any]:
    """The OpenAI error shape.

    >>> error("model 'x' does not exist", param="model", code="model_not_found")["error"]["param"]
    'model'
    """
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def models(modes: list[str]) -> dict[str, Any]:
    """The `GET /v1/models` list: one model a usable answer mode.

    >>> [m["id"] for m in models(["auto", "offline"])["data"]]
    ['auto', 'offline']
    """
    return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": OWNER}
                                       for m in modes]}
