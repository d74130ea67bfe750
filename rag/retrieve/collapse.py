"""Collapse: one fact is not cited twice, and a family of near-copies takes one place among the passages.

A passage nearly identical to a better-ranked one of another document is dropped; for documents of one family
of near-duplicates a lower similarity suffices. A dropped near-copy that states one of the kept passage's
sentences with other values (another date, number or name, of the kind the question asks) travels with it
beyond the cut, so that the answerer sees the disagreement: at most VARIANTS of them a sentence, since a
disagreement shows the answer's value and two others (`rag.evidence.conflicts.MAX_VALUES`)."""
from __future__ import annotations

import numpy as np

from core.records import Chunk, ScoredChunk
from text.values import restated_sentences

THRESHOLD = 0.92          # cosine above which passages of unrelated documents are the same passage
RELATED_THRESHOLD = 0.8   # ... of documents recorded as near-duplicates (a rewrite of the same article)
VARIANTS = 2              # near-copies kept beside a passage for each of its sentences they state otherwise


def collapse(ranked: list[tuple[ScoredChunk, list | None]], related=lambda a, b: False,
             threshold: float = THRESHOLD, related_threshold: float = RELATED_THRESHOLD) -> list[ScoredChunk]:
    """The passages (with their vectors, best first) without the near-copies of better ones.

    >>> a = ScoredChunk(Chunk("1", "/a", "x", 0, 1, "h"), 0.9)
    >>> b = ScoredChunk(Chunk("2", "/b", "x", 0, 1, "h"), 0.8)
    >>> [s.chunk.id for s in collapse([(a, [1.0, 0.0]), (b, [0.85, 0.53])])]
    ['1', '2']
    >>> [s.chunk.id for s in collapse([(a, [1.0, 0.0]), (b, [0.85, 0.53])], related=lambda x, y: True)]
    ['1']
    """
    similar = cosines([v for _, v in ranked], [v for _, v in ranked])
    near = Nearness(related, threshold, related_threshold)
    kept: list[int] = []
    for i, (item, _) in enumerate(ranked):
        if not any(near(item, ranked[j][0], similar[i, j]) for j in kept):
            kept.append(i)
    return [ranked[i][0] for i in kept]


def cosines(rows: list, columns: list) -> np.ndarray:
    """The cosine of every unit vector of `rows` with every one of `columns` (0 where a vector is missing).

    >>> cosines([[1.0, 0.0], None], [[0.6, 0.8]]).tolist()
    [[0.6], [0.0]]
    """
    dims = next((len(v) for v in [*rows, *columns] if v is not None), 0)

    def matrix(vectors: list) -> np.ndarray:
        return np.array([np.zeros(dims) if v is None else v for v in vectors], dtype=np.float64).reshape(-1, dims)

    return matrix(rows) @ matrix(columns).T


class Nearness:
    """Whether a passage is a near-copy of another: of another document, and at least as similar as the limit
    for the two documents (the lower one for a family of near-duplicates)."""

    def __init__(self, related, threshold: float = THRESHOLD, related_threshold: float = RELATED_THRESHOLD):
        self.related, self.threshold, self.related_threshold = related, threshold, related_threshold

    def __call__(self, item: ScoredChunk, other: ScoredChunk, similarity: float) -> bool:
        if similarity < min(self.threshold, self.related_threshold) or item.chunk.source == other.chunk.source:
            return False
        related = self.related(item.chunk.source, other.chunk.source)
        return similarity >= (self.related_threshold if related else self.threshold)


def variants(top: list[ScoredChunk], rest: list[ScoredChunk], vectors: dict[str, list], related=lambda a, b: False,
             kinds: set[str] | None = None, threshold: float = THRESHOLD, related_threshold: float = RELATED_THRESHOLD,
             per_sentence: int = VARIANTS) -> list[ScoredChunk]:
    """The passages of `rest` (best first) that are near-copies of a passage in `top` stating one of its
    sentences with other values (of `kinds`, when given): they travel with it, so a cut never hides a
    disagreement; `per_sentence` of them at most for each sentence so stated.

    >>> a = ScoredChunk(Chunk("1", "/a", "The border is 765 km long.", 0, 26, "h"), 0.9)
    >>> b = ScoredChunk(Chunk("2", "/b", "The border is 098 km long.", 0, 26, "h"), 0.5)
    >>> c = ScoredChunk(Chunk("3", "/c", "Something else entirely.", 0, 24, "h"), 0.4)
    >>> d = ScoredChunk(Chunk("4", "/d", "The border is 321 km long.", 0, 26, "h"), 0.3)
    >>> vectors = {"1": [1.0, 0.0], "2": [1.0, 0.0], "3": [0.0, 1.0], "4": [1.0, 0.0]}
    >>> [s.chunk.id for s in variants([a], [b, c, d], vectors)]
    ['2', '4']
    >>> [s.chunk.id for s in variants([a], [b, c, d], vectors, per_sentence=1)]
    ['2']
    >>> variants([a], [b], vectors, kinds={"date"})
    []
    """
    similar = cosines([vectors.get(s.chunk.id) for s in rest], [vectors.get(s.chunk.id) for s in top])
    near = Nearness(related, threshold, related_threshold)
    out, shown = [], {}
    for i, item in enumerate(rest):
        for j, kept in enumerate(top):
            if not near(item, kept, similar[i, j]):
                continue
            full = frozenset(k for (at, k), n in shown.items() if at == j and n >= per_sentence)
            stated = restated_sentences(kept.chunk.text, item.chunk.text, kinds, skip=full)
            if stated:
                out.append(item)
                for k in stated:
                    shown[j, k] = shown.get((j, k), 0) + 1
                break
    return out
