"""Load: turn a file on disk into raw text plus metadata hints the file itself states.

One reader per format (`index.readers`); every failure becomes a `BadDocument` whose message a
person understands (and that names no Python internals).
"""
from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import BadDocument, UnsupportedFile
from index.layout import Layout
from index.readers import READERS, ReadOptions, supported


@dataclass
class RawDocument:
    source: str
    text: str
    content_hash: str
    hints: dict[str, str] = field(default_factory=dict)  # title/date/author/url from the format
    layout: Layout | None = None  # pages and boxes (PDF: the text is laid out already), headings (DOCX)


def walk(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Every file under `paths` (recursively, sorted, hidden entries skipped) and the ones refused."""
    files: list[Path] = []
    refused: list[tuple[str, str]] = []
    for path in paths:
        if not os.path.lexists(path):
            refused.append((str(path), "no such file or folder"))
        elif path.is_dir():
            _walk_dir(path, files, refused)
        else:
            files.append(path)
    return files, refused


def _walk_dir(root: Path, files: list[Path], refused: list[tuple[str, str]]) -> None:
    """Linked folders are followed, each folder read once (a link back to a folder read is a loop)."""
    def on_error(err: OSError) -> None:
        refused.append((str(err.filename), f"cannot open folder: {err.strerror}"))

    seen: set[tuple[int, int]] = set()
    for folder, dirs, names in os.walk(root, onerror=on_error, followlinks=True):
        if not _first_visit(folder, seen, refused):
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files += [Path(folder) / name for name in sorted(names) if not name.startswith(".")]


def _first_visit(folder: str, seen: set[tuple[int, int]], refused: list[tuple[str, str]]) -> bool:
    """Whether `folder` is read now: not when a link made it a second path to a folder already read."""
    try:
        info = os.stat(folder)
    except OSError as err:
        refused.append((folder, _os_reason(err)))
        return False
    if (info.st_dev, info.st_ino) in seen:
        refused.append((folder, "symbolic link loop: links to a folder already read; skipped"))
        return False
    seen.add((info.st_dev, info.st_ino))
    return True


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, or a BadDocument saying why they cannot be read."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise BadDocument(_os_reason(err)) from None
    if size > max_bytes:
        raise BadDocument(f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB cap (RAG_MAX_FILE_MB)")
    if size == 0:
        raise BadDocument("empty file")
    try:
        return path.read_bytes()
    except OSError as err:
        raise BadDocument(_os_reason(err)) from None


def _os_reason(err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "symbolic link loop"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: the file cannot be read"
    if err.errno == errno.ENOENT:
        return "file disappeared or is a broken link"
    return f"cannot read file: {err.strerror}"


def load(path: Path, max_bytes: int, options: ReadOptions = ReadOptions()) -> RawDocument:
    """Read one supported file. Raises UnsupportedFile or BadDocument."""
    check_name(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise UnsupportedFile(f"unsupported file type {suffix or '(no extension)'!r}; "
                              f"supported: {', '.join(supported())}")
    data = read_bytes(path, max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    text, hints, layout = READERS[suffix](data, options)
    if not text.strip():
        raise BadDocument("no text found in the file")
    return RawDocument(str(path), text, digest, hints, layout)


def check_name(path: Path) -> None:
    """The index stores paths as UTF-8 text: a file name in another encoding is refused, not garbled.

    >>> check_name(Path(os.fsdecode(b"/docs/caf\\xe9.txt")))
    Traceback (most recent call last):
    core.errors.BadDocument: file name is not valid UTF-8 (byte 0xE9); rename the file
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError as err:
        byte = os.fsencode(str(path)[err.start])[0]
        raise BadDocument(f"file name is not valid UTF-8 (byte 0x{byte:02X}); rename the file") from None
