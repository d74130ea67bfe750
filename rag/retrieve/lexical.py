"""Lexical: BM25 over the lexicon's postings of the question's own terms (no passage is read)."""
from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np

from core.records import Filters
from index.lexicon import Lexicon, gather
from text.terms import terms

K1, B = 1.5, 0.75   # Lucene's BM25 (as bm25s computed it before the lexicon was persistent)
POSTINGS_BUDGET = 50_000   # postings a search reads at most: its rarest terms first (a speed bound, see `rarest`)


def bm25(tf: np.ndarray, length: np.ndarray, df: int, passages: int, mean_length: float) -> np.ndarray:
    """Lucene BM25 weight of one term in passages with term counts `tf` and lengths `length`.

    >>> bm25(np.array([1, 2]), np.array([10, 10]), df=2, passages=10, mean_length=10.0).round(3).tolist()
    [0.593, 0.847]
    """
    idf = np.log(1 + (passages - df + 0.5) / (df + 0.5))
    return idf * tf / (tf + K1 * (1 - B + B * length / max(mean_length, 1e-9)))


def rarest(frequencies: dict[str, int], budget: int = POSTINGS_BUDGET) -> set[str]:
    """The terms a search reads: rarest first while their postings fit the budget, and at least one. The
    terms left out are the commonest, whose BM25 weight is the smallest; on an index where the question's
    terms hold fewer postings than the budget (every index under ~50k passages) nothing is left out.

    >>> sorted(rarest({"year": 900, "kestrel": 3, "water": 200}, budget=250))
    ['kestrel', 'water']
    >>> sorted(rarest({"year": 900, "month": 800}, budget=10))
    ['month']
    """
    chosen, spent = set(), 0
    for term in sorted(frequencies, key=lambda t: (frequencies[t], t)):
        if chosen and spent + frequencies[term] > budget:
            break
        chosen.add(term)
        spent += frequencies[term]
    return chosen


def top(keys: np.ndarray, scores: np.ndarray, n: int) -> list[int]:
    """The `n` keys with the highest summed scores, best first (ties: smaller key first).

    >>> top(np.array([5, 3, 5, 9]), np.array([1.0, 1.5, 1.0, 0.5]), 2)
    [5, 3]
    """
    unique, inverse = np.unique(keys, return_inverse=True)
    totals = np.bincount(inverse, weights=scores)
    order = np.lexsort((unique, -totals))[:n]
    return [int(unique[i]) for i in order if totals[i] > 0]


class Bm25:
    """BM25 over the passages of a snapshot: `documents` maps each committed document id of the lexicon to
    its (source, date); `passages` and `tokens` are their passage and term counts. A document of a family of
    near-duplicates counts as `weights[doc_id]` (1 / the family's size) of a document in the term statistics,
    its passages included, so that copies of an article do not make its words common."""

    def __init__(self, lexicon: Lexicon, documents: dict[int, tuple[str, str]], passages: float, tokens: float,
                 weights: dict[int, float] | None = None):
        self.lexicon, self.documents = lexicon, documents
        self.passages, self.mean_length = passages, tokens / max(passages, 1)
        shared = sorted((weights or {}).items())
        self._family_ids = np.array([i for i, _ in shared], dtype=np.int64)
        self._family_weights = np.array([w for _, w in shared], dtype=np.float64)

    def search(self, query: str, n: int, filters: Filters = Filters()) -> list[str]:
        """Ids of the passages sharing terms with `query`, best first, at most `n`, only those `filters` allow."""
        wanted = Counter(terms(query))
        if not wanted or not self.passages:
            return []
        kept = rarest(self.lexicon.frequencies(wanted))
        wanted = Counter({t: count for t, count in wanted.items() if t in kept})
        rows = self.lexicon.postings(wanted)
        allowed = self._allowed(filters)
        keys, scores = [], []
        for term, times in wanted.items():
            found = gather(rows.get(term, []), self.documents.__contains__)
            if len(found.ord):
                keep = allowed(found.doc_id)
                keys.append((found.doc_id[keep] << 32) | found.ord[keep].astype(np.int64))
                scores.append(times * bm25(found.tf[keep], found.length[keep], self.frequency(found.doc_id),
                                           self.passages, self.mean_length))
        if not keys:
            return []
        best = top(np.concatenate(keys), np.concatenate(scores), n)
        ids = self.lexicon.chunk_ids([(k >> 32, k & 0xFFFFFFFF) for k in best])
        return [ids[(k >> 32, k & 0xFFFFFFFF)] for k in best if (k >> 32, k & 0xFFFFFFFF) in ids]

    def frequency(self, doc_ids: np.ndarray) -> float:
        """The document frequency of a term held by passages of `doc_ids` (one per passage), a family of
        near-duplicates counted once.

        >>> Bm25(None, {}, 4.0, 40.0, {7: 0.5, 8: 0.5}).frequency(np.array([3, 7, 7, 8]))
        2.5
        """
        if not len(self._family_ids):
            return float(len(doc_ids))
        at = np.searchsorted(self._family_ids, doc_ids).clip(0, len(self._family_ids) - 1)
        return float(np.where(self._family_ids[at] == doc_ids, self._family_weights[at], 1.0).sum())

    def _allowed(self, filters: Filters) -> Callable[[np.ndarray], np.ndarray]:
        """A mask function over document ids: the documents `filters` allow (all when there are none)."""
        if filters == Filters():
            return lambda ids: np.ones(len(ids), dtype=bool)
        ok = np.array(sorted(d for d, (source, date) in self.documents.items()
                             if filters.allows_document(source, date)), dtype=np.int64)
        return lambda ids: np.isin(ids, ok)
