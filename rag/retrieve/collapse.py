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


def variants(top: list[ScoredChunk], rest: list[ScoredChunk], vectors: dict[str, list], related=lambda a, b: False,
             threshold: float = THRESHOLD, related_threshold: float = RELATED_THRESHOLD) -> list[ScoredChunk]:
    """The passages of `rest` (those beyond the cut) that are near-copies of a passage in `top` stating one of
    its sentences with other values: they travel with it, so a cut never hides a disagreement.

    >>> a = ScoredChunk(Chunk("1", "/a", "The border is 765 km long.", 0, 26, "h"), 0.9)
    >>> b = ScoredChunk(Chunk("2", "/b", "The border is 098 km long.", 0, 26, "h"), 0.5)
    >>> c = ScoredChunk(Chunk("3", "/c", "Something else entirely.", 0, 24, "h"), 0.4)
    >>> [s.chunk.id for s in variants([a], [b, c], {"1": [1.0, 0.0], "2": [1.0, 0.0], "3": [0.0, 1.0]})]
    ['2']
    """
    out = []
    for item in rest:
        vector = vectors.get(item.chunk.id)
        if vector is None:
            continue
        for kept in top:
            other = vectors.get(kept.chunk.id)
            limit = related_threshold if related(item.chunk.source, kept.chunk.source) else threshold
            if other is not None and item.chunk.source != kept.chunk.source and \
                    float(np.dot(vector, other)) >= limit and restated_otherwise(kept.chunk.text, item.chunk.text):
                out.append(item)
                break
    return out
