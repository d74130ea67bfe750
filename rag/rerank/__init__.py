"""Rerank: reorder the fused candidates before they are cut to top_k (both answer modes see the result).

A reranker is one class with `rerank(question, passages) -> passages` and one
registry line; `RAG_RERANKER` (settings.retrieval.reranker) chooses it:

    @register("newest-first")
    class NewestFirst:
        def __init__(self, tools): ...
        def rerank(self, question, passages):
            return sorted(passages, key=lambda p: p.chunk.date, reverse=True)
"""
from __future__ import annotations

from typing import Protocol

from core.records import ScoredChunk
from core.registry import Registry


class Reranker(Protocol):
    def rerank(self, question: str, passages: list[ScoredChunk]) -> list[ScoredChunk]:
        """The same passages (or fewer), best first."""


RERANKERS = Registry("RAG_RERANKER")
register = RERANKERS.register   # class decorator: @register("name") makes a reranker available under a name


def make_reranker(name: str, tools=None) -> Reranker:
    """The reranker registered under `name`; SettingsError naming the choices otherwise.

    >>> type(make_reranker("none")).__name__
    'NoReranker'
    >>> make_reranker("magic")
    Traceback (most recent call last):
    core.errors.SettingsError: RAG_RERANKER must be one of none, similarity; not 'magic'
    """
    return RERANKERS.choose(name)(tools)


@register("none")
class NoReranker:
    """Keeps the fused order (the default: measured best on the sample suite and SQuAD so far)."""

    def __init__(self, tools=None):
        pass

    def rerank(self, question: str, passages: list[ScoredChunk]) -> list[ScoredChunk]:
        return passages


@register("similarity")
class SimilarityReranker:
    """Orders the fused candidates by their cosine with the question alone (dense evidence over lexical).

    >>> from core.records import Chunk
    >>> a, b = (ScoredChunk(Chunk(i, "/a", "x", 0, 1, "h"), 0.5, sim) for i, sim in (("a", 0.2), ("b", 0.9)))
    >>> [p.chunk.id for p in SimilarityReranker().rerank("q", [a, b])]
    ['b', 'a']
    """

    def __init__(self, tools=None):
        pass

    def rerank(self, question: str, passages: list[ScoredChunk]) -> list[ScoredChunk]:
        return sorted(passages, key=lambda p: -p.similarity)
