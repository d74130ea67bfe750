"""Corpus: a snapshot of what is committed (document records, the lexicon's matching versions, term
statistics). Taken after every ingest or removal; questions read one snapshot throughout.

Opening one reads the document records only (not the passages): the passages' terms are in the
lexicon (`index.lexicon`), read per question for the question's own terms.
"""
from __future__ import annotations

import math

from core.records import Chunk, DocumentInfo
from index.lexicon import Lexicon
from rag.retrieve.lexical import Bm25
from text.terms import terms


class Corpus:
    def __init__(self, documents: list[DocumentInfo], lexicon: Lexicon, held: dict):
        self.documents = {d.source: d for d in documents}
        self.lexicon = lexicon
        held = {h.doc_id: h for h in held.values()
                if h.source in self.documents and self.documents[h.source].content_hash == h.doc_hash}
        self.chunk_count = sum(d.chunks for d in documents)
        self.family = {s: self._root(s) for s in self.documents}
        self.weights = self.family_weights()
        self.largest_family = round(1 / min(self.weights.values())) if self.weights else 1
        self._family_ids = {i: self.weights[h.source] for i, h in held.items() if self.weights[h.source] < 1}
        self.bm25 = Bm25(lexicon, {i: (h.source, self.documents[h.source].date) for i, h in held.items()},
                         sum(h.chunks * self.weights[h.source] for h in held.values()),
                         sum(h.tokens * self.weights[h.source] for h in held.values()), self._family_ids)
        self._weighted = sum(d.chunks * self.weights[s] for s, d in self.documents.items())
        self.max_idf = math.log((self._weighted + 1) / 0.5)
        self._idf: dict[str, float] = {}

    @classmethod
    def load(cls, store, lexicon: Lexicon) -> "Corpus":
        """The committed snapshot of `store`, after bringing `lexicon` in step with it."""
        documents = store.documents()
        return cls(documents, lexicon, lexicon.sync(store, documents))

    def idf(self, term: str) -> float:
        """IDF over committed passages, near-duplicate families counted once; a term no passage holds gets
        the maximum (see `text.terms.idf_table`, which this computes from the lexicon's counts)."""
        if term not in self._idf:
            self.prime([term])
        return self._idf[term]

    def known(self, term: str) -> bool:
        """Whether any committed passage holds the term."""
        return self.idf(term) < self.max_idf

    def prime(self, term_list) -> None:
        """Look up the IDF of many terms at once (one query instead of one per term)."""
        new = {t for t in term_list if t not in self._idf}
        if not new:
            return
        df = {t: float(n) for t, n in self.lexicon.frequencies(new).items()}
        for term, per_doc in self.lexicon.family_frequencies(df, list(self._family_ids)).items():
            df[term] -= sum(n * (1 - self._family_ids[d]) for d, n in per_doc.items())
        for term in new:
            self._idf[term] = math.log((self._weighted + 1) / (df[term] + 0.5)) if df.get(term, 0) > 0 else self.max_idf

    def prime_text(self, texts: list[str]) -> None:
        self.prime({t for text in texts for t in terms(text)})

    def family_weights(self) -> dict[str, float]:
        """Each document's weight in the term statistics: 1 / the size of its near-duplicate family, so 60
        copies of an article do not make its words common (and the answer does not change with the copies)."""
        sizes: dict[str, int] = {}
        for f in self.family.values():
            sizes[f] = sizes.get(f, 0) + 1
        return {s: 1.0 / sizes[f] for s, f in self.family.items()}

    def _root(self, source: str) -> str:
        """The first document of a near-duplicate chain (a copy of a copy counts with the original)."""
        seen = {source}
        while (doc := self.documents.get(source)) and doc.duplicate_of and doc.duplicate_of not in seen:
            source = doc.duplicate_of
            seen.add(source)
        return source

    def duplicates(self, a: str, b: str) -> bool:
        """Whether two documents are of one family of near-duplicates (one rewrites the other, or both rewrite
        a third: a copy of a copy)."""
        return a in self.family and self.family.get(b) == self.family[a]

    def committed(self, chunk: Chunk) -> bool:
        doc = self.documents.get(chunk.source)
        return doc is not None and doc.content_hash == chunk.doc_hash
