"""The assistant as a llama-index query engine: `Assistant.as_query_engine()`.

`query("...")` returns a llama-index `Response` whose `response` is the answer text (with its [n] markers) and
whose `source_nodes` are the cited passages, in marker order, as `NodeWithScore` (the same node form as the
hybrid retriever's; metadata: n, source, title, date, start, end, quote). A refusal is a Response with the
refusal text, no source nodes and `metadata["refused"]` True.
"""
from __future__ import annotations

from typing import Any

from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore
from pydantic import Field

from core.errors import SettingsError
from core.records import Answer, Chunk, Citation, ScoredChunk
from rag.retrieve.llama import to_node

OPTIONS = ("sources", "since", "until", "top_k", "mode", "history")


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options of `Assistant.ask` a query engine may fix; an unknown one is an error naming it.

    >>> check_options({"top_k": 3})
    {'top_k': 3}
    >>> check_options({"topk": 3})
    Traceback (most recent call last):
    core.errors.SettingsError: unknown query engine option 'topk'; use sources, since, until, top_k, mode, history
    """
    unknown = [k for k in options if k not in OPTIONS]
    if unknown:
        raise SettingsError(f"unknown query engine option {unknown[0]!r}; use {', '.join(OPTIONS)}")
    return options


def cited_node(n: int, citation: Citation) -> NodeWithScore:
    """A cited passage as a llama-index node: its text is the quote, its metadata says where it is.

    >>> node = cited_node(1, Citation("/d/a.txt", "T", "Two.", 15, 19, 0.7, "2024-01-02", "c1"))
    >>> node.node.get_content(), node.score, node.node.metadata["quote"], node.node.metadata["n"]
    ('Two.', 0.7, 'Two.', 1)
    """
    chunk = Chunk(f"{citation.chunk_id}:{citation.start}-{citation.end}", citation.source, citation.quote,
                  citation.start, citation.end, "", citation.title, citation.date)
    node = to_node(ScoredChunk(chunk, citation.score))
    node.node.metadata.update(n=n, quote=citation.quote, chunk_id=citation.chunk_id, page=citation.page)
    node.node.excluded_llm_metadata_keys.append("quote")
    return node


def response_of(answer: Answer) -> Response:
    """An Answer as a llama-index Response.

    >>> r = response_of(Answer("Two [1].", [Citation("/d/a.txt", "T", "Two.", 15, 19, 0.7)], False, "q", "q"))
    >>> r.response, [n.node.metadata["source"] for n in r.source_nodes], r.metadata["refused"]
    ('Two [1].', ['/d/a.txt'], False)
    """
    nodes = [cited_node(n, c) for n, c in enumerate(answer.citations, 1)]
    return Response(response=answer.text, source_nodes=nodes,
                    metadata={"refused": answer.abstained, "notice": answer.notice, "mode": answer.mode,
                              "short_answer": answer.short_answer})


class AssistantQueryEngine(CustomQueryEngine):
    """Answers through `Assistant.ask` with the options given once (sources, dates, top_k, mode, history)."""

    assistant: Any
    options: dict = Field(default_factory=dict)

    def custom_query(self, query_str: str) -> Response:
        return response_of(self.assistant.ask(query_str, **self.options))
