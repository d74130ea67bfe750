"""Document question answering with cited passages.

>>> from rag import Assistant  # doctest: +SKIP
"""
from __future__ import annotations

__all__ = ["Assistant", "Answer", "Citation", "IngestReport", "DocumentInfo", "Settings", "Delta"]


def __getattr__(name: str):
    # Lazy: `import rag` must stay cheap (no torch, no chromadb) for the CLI's start-up.
    if name == "Assistant":
        from rag.assistant import Assistant
        return Assistant
    if name == "Settings":
        from core.settings import Settings
        return Settings
    if name in {"Answer", "Citation", "IngestReport", "DocumentInfo", "Delta"}:
        from core import records
        return getattr(records, name)
    raise AttributeError(name)
