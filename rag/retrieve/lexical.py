"""Lexical: BM25 (bm25s) over the terms of the committed passages."""
from __future__ import annotations

import numpy as np

from core.records import Chunk, Filters
from text.terms import terms


class Bm25:
    """A BM25 index of passages given as term lists (in the order of `chunks`)."""

    def __init__(self, chunks: list[Chunk], chunk_terms: list[list[str]]):
        self.chunks = chunks
        self.model = self._index(chunk_terms) if chunks else None

    @staticmethod
    def _index(chunk_terms: list[list[str]]):
        import bm25s

        model = bm25s.BM25()
        model.index([t or ["\x00"] for t in chunk_terms], show_progress=False)
        return model

    def search(self, query: str, n: int, filters: Filters = Filters()) -> list[str]:
        """Ids of the passages sharing terms with `query`, best first, at most `n`, only those `filters` allow."""
        q = [t for t in terms(query) if t in self.model.vocab_dict] if self.model else []
        if not q:
            return []
        mask = None
        if filters != Filters():
            mask = np.array([1.0 if filters.allows(c) else 0.0 for c in self.chunks], dtype=np.float32)
        ids, scores = self.model.retrieve([q], k=min(n, len(self.chunks)), show_progress=False,
                                          weight_mask=mask, n_threads=1)
        return [self.chunks[i].id for i, s in zip(ids[0], scores[0]) if s > 0]
