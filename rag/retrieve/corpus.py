"""Corpus: an immutable snapshot of what is committed (passages, their terms and IDF, a BM25 index,
document records). Rebuilt after every ingest or removal; questions read one snapshot throughout."""
from __future__ import annotations

from core.records import Chunk, DocumentInfo
from rag.retrieve.lexical import Bm25
from text.terms import idf_table, terms


class Corpus:
    def __init__(self, chunks: list[Chunk], documents: list[DocumentInfo]):
        self.documents = {d.source: d for d in documents}
        self.chunks = [c for c in chunks if self._committed(c)]
        self.by_id = {c.id: c for c in self.chunks}
        self.terms = [terms(f"{c.title} {c.text}") for c in self.chunks]
        self.idf, self.max_idf = idf_table([set(t) for t in self.terms])
        self.bm25 = Bm25(self.chunks, self.terms)

    @classmethod
    def load(cls, store) -> "Corpus":
        return cls(store.all_chunks(), store.documents())

    def duplicates(self, a: str, b: str) -> bool:
        """Whether one of two documents was recorded as a near-duplicate of the other."""
        da, db = self.documents.get(a), self.documents.get(b)
        return bool(da and da.duplicate_of == b or db and db.duplicate_of == a)

    def _committed(self, chunk: Chunk) -> bool:
        doc = self.documents.get(chunk.source)
        return doc is not None and doc.content_hash == chunk.doc_hash
