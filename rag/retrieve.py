"""Retrieve: dense (Chroma) + BM25 over the same committed chunks, fused by reciprocal rank.

`Corpus` is an immutable snapshot of what is committed (chunks, BM25 index,
IDF table, document records); `HybridRetriever` is a llama-index retriever
extended at `_retrieve`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from index.store import Store, date_number
from rag.extractive import idf_table
from rag.records import Chunk, DocumentInfo, ScoredChunk
from rag.text import terms

MAX_PENDING = 2000  # uncommitted chunks over-fetched by a dense search during an ingest


def rrf(rankings: list[list[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion of several ranked id lists.

    >>> rrf([["a", "b"], ["b", "c"]], k=1)
    [('b', 0.8333333333333333), ('a', 0.5), ('c', 0.3333333333333333)]
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class Filters:
    sources: tuple[str, ...] = ()
    since: str = ""
    until: str = ""

    def allows(self, chunk: Chunk) -> bool:
        if self.sources and chunk.source not in self.sources:
            return False
        if (self.since or self.until) and not chunk.date:
            return False
        return (not self.since or chunk.date >= self.since) and (not self.until or chunk.date <= self.until)

    def where(self) -> dict | None:
        clauses = []
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if self.since:
            clauses.append({"date_num": {"$gte": date_number(self.since)}})
        if self.until:
            clauses.append({"date_num": {"$lte": date_number(self.until)}})
        return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Corpus:
    """What is committed, indexed for lexical search. Rebuilt after every ingest or removal."""

    def __init__(self, chunks: list[Chunk], documents: list[DocumentInfo]):
        self.documents = {d.source: d for d in documents}
        self.chunks = [c for c in chunks if self._committed(c)]
        self.by_id = {c.id: c for c in self.chunks}
        self.terms = [terms(f"{c.title} {c.text}") for c in self.chunks]
        self.idf, self.max_idf = idf_table([set(t) for t in self.terms])
        self.bm25 = self._bm25()

    def duplicates(self, a: str, b: str) -> bool:
        """Whether one of two documents was recorded as a near-duplicate of the other."""
        da, db = self.documents.get(a), self.documents.get(b)
        return bool(da and da.duplicate_of == b or db and db.duplicate_of == a)

    def _committed(self, chunk: Chunk) -> bool:
        doc = self.documents.get(chunk.source)
        return doc is not None and doc.content_hash == chunk.doc_hash

    @classmethod
    def load(cls, store: Store) -> "Corpus":
        return cls(store.all_chunks(), store.documents())

    def _bm25(self):
        if not self.chunks:
            return None
        import bm25s

        model = bm25s.BM25()
        model.index([t or ["\x00"] for t in self.terms], show_progress=False)
        return model

    def lexical(self, query: str, n: int, filters: Filters) -> list[str]:
        q = [t for t in terms(query) if t in self.bm25.vocab_dict] if self.bm25 else []
        if not q:
            return []
        mask = None
        if filters != Filters():
            mask = np.array([1.0 if filters.allows(c) else 0.0 for c in self.chunks], dtype=np.float32)
        ids, scores = self.bm25.retrieve([q], k=min(n, len(self.chunks)), show_progress=False,
                                         weight_mask=mask, n_threads=1)
        return [self.chunks[i].id for i, s in zip(ids[0], scores[0]) if s > 0]


def collapse(ranked: list[tuple[ScoredChunk, list | None]], related=lambda a, b: False,
             threshold: float = 0.92, related_threshold: float = 0.8) -> list[ScoredChunk]:
    """Drop passages nearly identical to a better-ranked one of another document; for documents
    recorded as near-duplicates (a rewrite of the same article) a lower similarity suffices.

    >>> a = ScoredChunk(Chunk("1", "/a", "x", 0, 1, "h"), 0.9)
    >>> b = ScoredChunk(Chunk("2", "/b", "x", 0, 1, "h"), 0.8)
    >>> [s.chunk.id for s in collapse([(a, [1.0, 0.0]), (b, [0.85, 0.53])])]
    ['1', '2']
    >>> [s.chunk.id for s in collapse([(a, [1.0, 0.0]), (b, [0.85, 0.53])], related=lambda x, y: True)]
    ['1']
    """
    kept: list[tuple[ScoredChunk, list | None]] = []
    for item, vector in ranked:
        if vector is not None and any(_same_passage(item, vector, k, v, related, threshold, related_threshold)
                                      for k, v in kept):
            continue
        kept.append((item, vector))
    return [item for item, _ in kept]


def _same_passage(item, vector, other, other_vector, related, threshold, related_threshold) -> bool:
    if other_vector is None or item.chunk.source == other.chunk.source:
        return False
    limit = related_threshold if related(item.chunk.source, other.chunk.source) else threshold
    return float(np.dot(vector, other_vector)) >= limit


class HybridRetriever(BaseRetriever):
    def __init__(self, store: Store, corpus: Corpus, encode_query, top_k: int = 5, candidates: int = 20,
                 rrf_k: int = 60, filters: Filters = Filters()):
        super().__init__()
        self.store, self.corpus, self.encode_query = store, corpus, encode_query
        self.top_k, self.candidates, self.rrf_k, self.filters = top_k, candidates, rrf_k, filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [to_node(s) for s in self.search(query_bundle.query_str, query_bundle.embedding)]

    def search(self, query: str, vector: list[float] | None = None) -> list[ScoredChunk]:
        vector = vector or self.encode_query(query)
        dense = self._dense(vector)
        vectors = {s.chunk.id: v for s, v in dense}
        lexical = self.corpus.lexical(query, self.candidates, self.filters)
        fused = rrf([[s.chunk.id for s, _ in dense], lexical], self.rrf_k)[: self.top_k * 3]
        missing = [cid for cid, _ in fused if cid not in vectors]
        vectors.update(self.store.embeddings_of(missing) if missing else {})
        ranked = [(ScoredChunk(self.corpus.by_id[cid], score, _cosine(vector, vectors.get(cid))), vectors.get(cid))
                  for cid, score in fused]
        return collapse(ranked, self.corpus.duplicates)[: self.top_k]

    def _dense(self, vector: list[float]) -> list[tuple[ScoredChunk, list]]:
        """The nearest committed chunks of the snapshot. Chunks an ingest is writing (not in the snapshot)
        are fetched too and dropped, so they never push committed ones out of the candidates."""
        pending = min(MAX_PENDING, max(0, self.store.count() - len(self.corpus.chunks)))
        found = self.store.query(vector, self.candidates + pending, self.filters.where())
        return [(s, v) for s, v in found if s.chunk.id in self.corpus.by_id][: self.candidates]


def _cosine(a: list[float], b: list[float] | None) -> float:
    return float(np.dot(a, b)) if b is not None else 0.0


def to_node(scored: ScoredChunk) -> NodeWithScore:
    c = scored.chunk
    node = TextNode(id_=c.id, text=c.text, metadata={"source": c.source, "title": c.title, "date": c.date,
                                                     "start": c.start, "end": c.end})
    return NodeWithScore(node=node, score=scored.score)
