"""The request bodies the served API reads (pydantic; no web framework here).

A chat request is OpenAI's, and so is a legacy completion request (`prompt` instead of `messages`); fields this
server does not use (temperature, max_tokens, ...) are accepted and ignored. Extension fields restrict the question like the Python API's filters: `documents` (paths or file
names), `since` and `until` (YYYY-MM-DD), `top_k`.

>>> ChatRequest(messages=[{"role": "user", "content": "Who?"}], temperature=0.2).model
'auto'
>>> CompletionRequest(prompt="Who?", max_tokens=16).stream
False
>>> AskRequest(question="Who?", documents=["a.txt"]).documents
['a.txt']
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field


class Filters(BaseModel):
    documents: Optional[list[str]] = Field(None, description="Answer only from these documents (paths or file names)")
    since: Optional[str] = Field(None, description="Only passages dated on or after this day (YYYY-MM-DD)")
    until: Optional[str] = Field(None, description="Only passages dated on or before this day (YYYY-MM-DD)")
    top_k: Optional[int] = Field(None, ge=1, le=50, description="Passages retrieved (default RAG_TOP_K)")


class Completing(Filters):
    """What both OpenAI completion requests hold besides the question."""

    model_config = ConfigDict(extra="allow")

    model: str = Field("auto", description="The answer mode (GET /v1/models lists them)")
    stream: bool = Field(False, description="Server-sent events, ending with `data: [DONE]`")


class ChatRequest(Completing):
    messages: list[dict[str, Any]] = Field(..., description="The conversation; the last message is the question")


class CompletionRequest(Completing):
    prompt: Any = Field(..., description="The question: a string, or a list of one string")


class AskRequest(Filters):
    question: str = Field(..., description="The question")
    mode: Optional[str] = Field(None, description="The answer mode (default RAG_MODE)")
    history: list[dict[str, Any]] = Field(default_factory=list, description="Earlier turns: {role, content}")
