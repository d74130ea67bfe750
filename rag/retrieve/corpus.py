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
        weights = self.family_weights()
        self.idf, self.max_idf = idf_table([set(t) for t in self.terms], weights)
        self.largest_family = round(1 / min(weights)) if weights else 1
        self.bm25 = Bm25(self.chunks, self.terms)

    @classmethod
    def load(cls, store) -> "Corpus":
        return cls(store.all_chunks(), store.documents())

    def family_weights(self) -> list[float]:
        """Each chunk's weight in the term statistics: 1 / the size of its near-duplicate family, so 60 copies
        of an article do not make its words common (and the answer does not change with the copies)."""
        family = {s: self._root(s) for s in self.documents}
        sizes: dict[str, int] = {}
        for f in family.values():
            sizes[f] = sizes.get(f, 0) + 1
        return [1.0 / sizes[family.get(c.source, c.source)] for c in self.chunks]

    def _root(self, source: str) -> str:
        """The first document of a near-duplicate chain (a copy of a copy counts with the original)."""
        seen = {source}
        while (doc := self.documents.get(source)) and doc.duplicate_of and doc.duplicate_of not in seen:
            source = doc.duplicate_of
            seen.add(source)
        return source

    def duplicates(self, a: str, b: str) -> bool:
        """Whether one of two documents was recorded as a near-duplicate of the other."""
        da, db = self.documents.get(a), self.documents.get(b)
        return bool(da and da.duplicate_of == b or db and db.duplicate_of == a)

    def _committed(self, chunk: Chunk) -> bool:
        doc = self.documents.get(chunk.source)
        return doc is not None and doc.content_hash == chunk.doc_hash
