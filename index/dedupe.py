"""Near-duplicates: a document that rewrites an earlier one (close in meaning, naming the same people and things).

A near-duplicate is recorded on the document (`duplicate_of`); retrieval then
collapses their passages at a lower similarity, so one fact is not cited twice.
The decision depends only on the documents, never on the order they were ingested in.
"""
from __future__ import annotations

import numpy

from text.entities import names

DUPLICATE_COSINE = 0.85  # document-vector similarity before names are compared


def name_overlap(a: str, b: str) -> float:
    """Jaccard overlap of the capitalised names two texts mention (a rewrite keeps them).

    >>> name_overlap("Kamal Kharrazi met Hikmet Hajiyev.", "then Hikmet Hajiyev met Kamal Kharrazi.")
    1.0
    """
    names_a, names_b = names(a), names(b)
    return len(names_a & names_b) / len(names_a | names_b) if names_a | names_b else 0.0


def mean_vector(vectors: list[list[float]]) -> list[float]:
    """Normalised mean of unit vectors (a document's direction).

    >>> mean_vector([[1.0, 0.0], [0.0, 1.0]])
    [0.7071067811865475, 0.7071067811865475]
    """
    sums = [sum(column) for column in zip(*vectors)]
    norm = sum(x * x for x in sums) ** 0.5 or 1.0
    return [x / norm for x in sums]


class NearDuplicates:
    """Finds, for documents being written, the earlier document (by name) each one rewrites."""

    def __init__(self, store, threshold: float):
        self.store, self.threshold = store, threshold

    def find(self, window: list[tuple[str, str, list[float]]]) -> list[str]:
        """For each (source, text, direction) of a window, the earlier document it rewrites ('' if none),
        among the stored documents and those earlier in the window (not stored yet)."""
        similar = numpy.asarray([v for _, _, v in window]) @ numpy.asarray([v for _, _, v in window]).T
        found = []
        for i, (source, text, vector) in enumerate(window):
            mates = [(window[j][0], float(similar[i, j]), window[j][1]) for j in range(i)
                     if similar[i, j] >= DUPLICATE_COSINE]
            found.append(self._duplicate_of(source, vector, text, mates))
        return found

    def _duplicate_of(self, source: str, vector: list[float], text: str,
                      mates: list[tuple[str, float, str]]) -> str:
        texts = {other: mate_text for other, _, mate_text in mates}
        close = dict(self._closest_earlier(source, vector))
        close.update((other, similarity) for other, similarity, _ in mates if other < source)
        for other, similarity in sorted(close.items(), key=lambda pair: -pair[1])[:3]:
            if similarity >= DUPLICATE_COSINE and name_overlap(
                    text, texts.get(other) or self.store.document_text(other)) >= self.threshold:
                return other
        return ""

    def _closest_earlier(self, source: str, vector: list[float], count: int = 3) -> list[tuple[str, float]]:
        """The `count` stored documents named before `source` closest to `vector`. Later-named ones (present
        when a file is re-ingested) must not hide them: the result is the one a clean build sees."""
        asked = count
        while True:
            close = self.store.similar_documents(vector, asked)
            earlier = [(other, similarity) for other, similarity in close if other < source]
            if len(earlier) >= count or len(close) < asked or close[-1][1] < DUPLICATE_COSINE:
                return earlier[:count]
            asked *= 4
