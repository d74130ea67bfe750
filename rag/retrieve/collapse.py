"""Collapse: one fact is not cited twice. A passage nearly identical to a better-ranked one of another
document is dropped; for documents recorded as near-duplicates a lower similarity suffices. A near-copy that
states one of the passage's sentences with other values (another date, number or name) is not the same fact:
it is kept, so that the answerer sees the disagreement."""
from __future__ import annotations

import numpy as np

from core.records import Chunk, ScoredChunk
from text.values import restated_otherwise

THRESHOLD = 0.92          # cosine above which passages of unrelated documents are the same passage
RELATED_THRESHOLD = 0.8   # ... of documents recorded as near-duplicates (a rewrite of the same article)


def collapse(ranked: list[tuple[ScoredChunk, list | None]], related=lambda a, b: False,
             threshold: float = THRESHOLD, related_threshold: float = RELATED_THRESHOLD) -> list[ScoredChunk]:
    """The passages (with their vectors, best first) without the near-copies of better ones.

    >>> a = ScoredChunk(Chunk("1", "/a", "x", 0, 1, "h"), 0.9)
    >>> b = ScoredChunk(Chunk("2", "/b", "x", 0, 1, "h"), 0.8)
    >>> [s.chunk.id for s in collapse([(a, [1.0, 0.0]), (b, [0.85, 0.53])])]
    ['1', '2']
    >>> [s.chunk.id for s in collapse([(a, [1.0, 0.0]), (b, [0.85, 0.53])], related=lambda x, y: True)]
    ['1']
    >>> c = ScoredChunk(Chunk("3", "/c", "The border is 765 km long.", 0, 26, "h"), 0.9)
    >>> d = ScoredChunk(Chunk("4", "/d", "The border is 098 km long.", 0, 26, "h"), 0.8)
    >>> [s.chunk.id for s in collapse([(c, [1.0, 0.0]), (d, [1.0, 0.0])])]
    ['3', '4']
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
    return float(np.dot(vector, other_vector)) >= limit and not restated_otherwise(item.chunk.text, other.chunk.text)
