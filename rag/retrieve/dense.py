"""Dense: the nearest committed passages by cosine, from the vector store."""
from __future__ import annotations

from core.records import Filters, ScoredChunk

MAX_PENDING = 2000  # uncommitted chunks over-fetched by a dense search during an ingest


def dense(store, corpus, vector: list[float], n: int, filters: Filters = Filters()) -> list[tuple[ScoredChunk, list]]:
    """The `n` nearest committed chunks of the snapshot with their vectors. Chunks an ingest is writing
    (not in the snapshot) are fetched too and dropped, so they never push committed ones out."""
    pending = min(MAX_PENDING, max(0, store.count() - corpus.chunk_count))
    found = store.query(vector, n + pending, filters)
    return [(s, v) for s, v in found if corpus.committed(s.chunk)][:n]
