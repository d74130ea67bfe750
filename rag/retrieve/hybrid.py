"""Hybrid retrieval: dense + BM25 over the same committed passages, fused by reciprocal rank, reranked,
near-duplicates collapsed.

`HybridRetriever` is a llama-index `BaseRetriever`: `retrieve("question")` returns
`NodeWithScore`s (metadata: source, title, date, start, end), so it can be
handed to a user's own llama-index pipeline; the answerers call the same path
through `search`, which turns the nodes back into `ScoredChunk`s.
"""
from __future__ import annotations

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from core.records import Chunk, Filters, ScoredChunk
from rag.rerank import NoReranker, Reranker
from rag.retrieve.collapse import collapse, variants
from rag.retrieve.corpus import Corpus
from rag.retrieve.dense import dense
from rag.retrieve.fuse import rrf

RESTATING = 10      # passages searched for copies of the answer's sentence (a document and a few near-copies)

CHUNK_FIELDS = ("source", "start", "end", "doc_hash", "title", "date", "ordinal")
HIDDEN_FROM_MODELS = ["start", "end", "doc_hash", "ordinal", "similarity"]  # offsets mean nothing to an LLM


class HybridRetriever(BaseRetriever):
    def __init__(self, store, corpus: Corpus, encode_query, top_k: int = 5, candidates: int = 20,
                 rrf_k: int = 60, filters: Filters = Filters(), reranker: Reranker | None = None):
        super().__init__()
        self.store, self.corpus, self.encode_query = store, corpus, encode_query
        self.top_k, self.candidates, self.rrf_k, self.filters = top_k, candidates, rrf_k, filters
        self.reranker = reranker or NoReranker()

    def search(self, query: str, vector: list[float] | None = None) -> list[ScoredChunk]:
        """The passages for `query`, best first, through llama-index's `retrieve` (its callbacks see them)."""
        return [from_node(n) for n in self.retrieve(QueryBundle(query_str=query, embedding=vector))]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [to_node(s) for s in self.ranked(query_bundle.query_str, query_bundle.embedding)]

    def restating(self, sentence: str, limit: int = RESTATING) -> list[ScoredChunk]:
        """The passages that share most words with `sentence` (lexical search with the sentence itself), among
        those the filters allow: where copies of a sentence are, however the question ranked them."""
        ids = self.corpus.bm25.search(sentence, limit, self.filters)
        found = self.fetch(ids)
        return [ScoredChunk(found[cid][0], 0.0) for cid in ids if cid in found]

    def fetch(self, ids: list[str]) -> dict[str, tuple[Chunk, list[float]]]:
        """Committed passages of the snapshot with their vectors, by id, read from the store."""
        found = self.store.chunks_by_id(ids) if ids else {}
        return {cid: got for cid, got in found.items() if self.corpus.committed(got[0])}

    def depth(self) -> int:
        """How many times deeper to search than usual: as many as the largest family of near-copies, so that
        after the copies collapse into one passage there are still top_k different passages (capped)."""
        return max(1, min(getattr(self.corpus, "largest_family", 1), MAX_DEPTH))

    def ranked(self, query: str, vector: list[float] | None = None) -> list[ScoredChunk]:
        """Fuse the dense and lexical rankings, rerank the fused candidates, collapse near-copies, cut to top_k
        (keeping, beyond the cut, near-copies of the kept passages that state a value otherwise)."""
        vector = vector or self.encode_query(query)
        depth = self.depth()
        found = dense(self.store, self.corpus, vector, self.candidates * depth, self.filters)
        known = {s.chunk.id: (s.chunk, v) for s, v in found}
        lexical = self.corpus.bm25.search(query, self.candidates * depth, self.filters)
        fused = rrf([[s.chunk.id for s, _ in found], lexical], self.rrf_k)[: self.top_k * 3 * depth]
        known.update(self.fetch([cid for cid, _ in fused if cid not in known]))
        vectors = {cid: v for cid, (_, v) in known.items()}
        scored = [ScoredChunk(known[cid][0], score, _cosine(vector, vectors[cid])) for cid, score in fused if cid in known]
        reranked = self.reranker.rerank(query, scored)
        kept = collapse([(s, vectors.get(s.chunk.id)) for s in reranked], self.corpus.duplicates)
        top = kept[: self.top_k]
        chosen = top + variants(top, kept[self.top_k:], vectors, self.corpus.duplicates)
        self.corpus.prime_text([query] + [f"{s.chunk.title} {s.chunk.text}" for s in chosen])
        return chosen


MAX_DEPTH = 50


def _cosine(a: list[float], b: list[float] | None) -> float:
    return float(np.dot(a, b)) if b is not None else 0.0


def to_node(scored: ScoredChunk) -> NodeWithScore:
    """A passage as a llama-index node; `from_node` reverses it.

    >>> s = ScoredChunk(Chunk("c1", "/a.txt", "Text.", 4, 9, "h", "T", "2024-01-02", 3), 0.5, 0.8)
    >>> from_node(to_node(s)) == s
    True
    """
    c = scored.chunk
    metadata = {field: getattr(c, field) for field in CHUNK_FIELDS} | {"similarity": scored.similarity}
    node = TextNode(id_=c.id, text=c.text, metadata=metadata, excluded_llm_metadata_keys=HIDDEN_FROM_MODELS,
                    excluded_embed_metadata_keys=HIDDEN_FROM_MODELS)
    return NodeWithScore(node=node, score=scored.score)


def from_node(node: NodeWithScore) -> ScoredChunk:
    meta = node.node.metadata
    chunk = Chunk(node.node.node_id, text=node.node.get_content(), **{f: meta[f] for f in CHUNK_FIELDS})
    return ScoredChunk(chunk, float(node.score or 0.0), float(meta.get("similarity", 0.0)))
