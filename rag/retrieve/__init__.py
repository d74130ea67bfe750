"""Retrieve: find the passages a question may be answered from.

`Retriever` is the seam: anything with `search(query, vector=None) -> list[ScoredChunk]`
(best first). The one used is `HybridRetriever` (dense + BM25, fused by
reciprocal rank, reranked, near-duplicates collapsed); `as_llama_index()` wraps any
of them as a llama-index `BaseRetriever` (`rag.retrieve.llama`) for pipelines of your own.
"""
from __future__ import annotations

from typing import Protocol

from core.records import ScoredChunk


class Retriever(Protocol):
    def search(self, query: str, vector: list[float] | None = None) -> list[ScoredChunk]:
        """The passages for `query` (its vector given when already computed), best first."""


from rag.retrieve.corpus import Corpus  # noqa: E402
from rag.retrieve.hybrid import HybridRetriever  # noqa: E402

__all__ = ["Retriever", "Corpus", "HybridRetriever"]
