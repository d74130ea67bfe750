"""Lock: one writer at a time on an embedded index, across processes, and a generation stamp readers compare.

Writers take an exclusive `flock` on ``<index>/.write.lock`` and change
``<index>/.generation`` first; a reader asks, without waiting, for a shared
lock on the same file to learn that no writer is at work. A server store
(`RAG_CHROMA_HOST`) is shared by design and takes no lock.

Why fcntl and not `filelock`: `filelock.FileLock` has no shared mode, and its
`ReadWriteLock` is backed by SQLite and raises (instead of waiting) when
threads of one process ask for opposite modes, which is exactly what the UI
does (question threads read while an upload thread writes). The kernel lock
below is released when a process dies, so a kill -9 mid-ingest leaves no stale lock.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from core.errors import StoreError
from core.settings import StoreSettings

LOCK_FILE = ".write.lock"
GENERATION_FILE = ".generation"


def _lock_file(index_dir: Path):
    """The index's lock file, open (shared by writers and readers), or a StoreError naming the folder."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        return open(index_dir / LOCK_FILE, "a")
    except OSError as err:
        raise StoreError(f"cannot write to the index folder {index_dir}: {err.strerror}") from None


@contextlib.contextmanager
def index_lock(store: StoreSettings):
    """Hold the index's write lock (waiting for another writer to finish), after changing its generation."""
    if store.chroma_host:
        yield
        return
    with _lock_file(store.index_dir) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            (store.index_dir / GENERATION_FILE).write_text(os.urandom(8).hex())
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _open_lock(store: StoreSettings):
    """The lock file of an embedded index, open; None for a server store or an index that cannot be written."""
    if store.chroma_host:
        return None
    try:
        return _lock_file(store.index_dir)
    except StoreError:
        return None


@contextlib.contextmanager
def no_writer(store: StoreSettings):
    """True while no writer is at work on the index, keeping writers out meanwhile (a shared lock);
    False at once, without waiting, when one is."""
    handle = _open_lock(store)
    if handle is None:
        yield True
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def generation(store: StoreSettings) -> str:
    """The embedded index's write generation ("" for a server store or an index never written)."""
    try:
        return "" if store.chroma_host else (store.index_dir / GENERATION_FILE).read_text()
    except OSError:
        return ""
