"""The indexes an eval run answers from: one of its own per corpus, beside the user's working index and never
that index itself, and the assistant that opens one. `learn` trains on the same indexes (it is above `eval`)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from core.settings import Settings
from eval.fingerprint import tree_hash


def isolated(settings: Settings, corpus: Path) -> Settings:
    """Settings whose index holds exactly `corpus`: a folder (or, on a Chroma server, a collection) keyed by the
    corpus's location and content hash, beside the working index. A second run re-embeds nothing; the user's
    working index is never read or written.

    >>> s = isolated(Settings(index_dir="/data/.index"), Path("/nonexistent"))
    >>> s.store.index_dir.parent
    PosixPath('/data/.index-eval')
    >>> isolated(Settings(chroma_host="localhost"), Path("/nonexistent")).store.collection.startswith("eval-")
    True
    """
    content, _ = tree_hash(corpus) if Path(corpus).is_dir() else ("", 0)
    key = hashlib.sha256(f"{Path(corpus).absolute()}\0{content}".encode()).hexdigest()[:16]
    if settings.store.chroma_host:
        return settings.replace(collection=f"eval-{key}")
    index_dir = Path(settings.store.index_dir).absolute()
    return settings.replace(index_dir=index_dir.with_name(f"{index_dir.name}-eval") / key)


def open_assistant(settings: Settings, index_dir: Path | None = None, embedder=None):
    """An assistant on `settings`, on `index_dir` instead of their index when given, sharing `embedder` when
    given (one encoder for several indexes); it opens (and may create) that index.

    >>> open_assistant(isolated(settings, corpus)).ingest([corpus])   # doctest: +SKIP
    """
    from rag.assistant import Assistant

    return Assistant(settings=settings.replace(index_dir=index_dir) if index_dir else settings, embedder=embedder)
