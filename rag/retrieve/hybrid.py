"""Hybrid retrieval: dense + BM25 over the same committed passages, fused by reciprocal rank, reranked,
near-duplicates collapsed.

`HybridRetriever.search` is what the answerers call. For a llama-index pipeline of your own,
`retrieve("question")` (or `as_llama_index()`, a llama-index `BaseRetriever`) returns `NodeWithScore`s
with metadata source, title, date, start, end. llama-index is imported only then: importing it costs
0.9 s of a 2-second cold start, and a question from the shell does not need it.
"""
from __future__ import annotations

import numpy as np

from core.records import Chunk, Filters, ScoredChunk
from rag.rerank import NoReranker, Reranker
from rag.retrieve.collapse import collapse, variants
from rag.retrieve.corpus import Corpus
from rag.retrieve.dense import dense
from rag.retrieve.fuse import rrf
from text.questions import answer_type
from text.values import answer_values

RESTATING = 10      # passages searched for copies of the answer's sentence (a document and a few near-copies)



class HybridRetriever:
    def __init__(self, store, corpus: Corpus, encode_query, top_k: int = 5, candidates: int = 20,
                 rrf_k: int = 60, filters: Filters = Filters(), reranker: Reranker | None = None):
        self.store, self.corpus, self.encode_query = store, corpus, encode_query
        self.top_k, self.candidates, self.rrf_k, self.filters = top_k, candidates, rrf_k, filters
        self.reranker = reranker or NoReranker()

    def search(self, query: str, vector: list[float] | None = None) -> list[ScoredChunk]:
        """The passages for `query` (its vector given when already computed), best first."""
        return self.ranked(query, vector)

    def as_llama_index(self):
        """This retriever as a llama-index `BaseRetriever`, for pipelines of your own."""
        from rag.retrieve.llama import LlamaIndexRetriever

        return LlamaIndexRetriever(self)

    def retrieve(self, query):
        """llama-index's `retrieve`: `NodeWithScore`s for a question string or `QueryBundle`."""
        return self.as_llama_index().retrieve(query)

    def restating(self, sentence: str, limit: int = RESTATING) -> list[ScoredChunk]:
        """The passages that share most words with `sentence` but do not state it as it is (lexical search with
        the sentence itself), among those the filters allow: where copies of a sentence that change it are,
        however the question ranked them. Verbatim copies are passed over, as deep as the largest family of
        near-copies, so that sixty unchanged copies do not hide the one that changes a value."""
        ids = self.corpus.bm25.search(sentence, limit * (self.depth() + 1), self.filters)
        out: list[Chunk] = []
        for at in range(0, len(ids), limit):
            found = self.fetch(ids[at:at + limit])
            out += [found[cid][0] for cid in ids[at:at + limit] if cid in found and sentence not in found[cid][0].text]
            if len(out) >= limit:
                break
        return [ScoredChunk(chunk, 0.0) for chunk in out[:limit]]

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
        (keeping, beyond the cut, near-copies of the kept passages that state otherwise a value of the kind the
        question asks)."""
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
        top = collapse([(s, vectors.get(s.chunk.id)) for s in reranked], self.corpus.duplicates)[: self.top_k]
        kept = {s.chunk.id for s in top}
        chosen = top + variants(top, [s for s in reranked if s.chunk.id not in kept], vectors, self.corpus.duplicates,
                                answer_values(answer_type(query)))
        self.corpus.prime_text([query] + [f"{s.chunk.title} {s.chunk.text}" for s in chosen])
        return chosen


MAX_DEPTH = 50


def _cosine(a: list[float], b: list[float] | None) -> float:
    return float(np.dot(a, b)) if b is not None else 0.0
