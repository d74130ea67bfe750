"""Load: turn a file on disk into raw text plus metadata hints the file itself states.

One reader per format; every failure becomes a `BadDocument` whose message a
person understands (and that names no Python internals).
"""
from __future__ import annotations

import errno
import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import BadDocument, UnsupportedFile

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100


@dataclass
class RawDocument:
    source: str
    text: str
    content_hash: str
    hints: dict[str, str] = field(default_factory=dict)  # title/date/author/url from the format


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


def load(path: Path, max_bytes: int, fallback_encoding: str = "") -> RawDocument:
    """Read one supported file. Raises UnsupportedFile or BadDocument."""
    check_name(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnsupportedFile(f"unsupported file type {suffix or '(no extension)'!r}; "
                              f"supported: {', '.join(sorted(SUPPORTED))}")
    data = read_bytes(path, max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    text, hints = READERS[suffix](data, fallback_encoding)
    if not text.strip():
        raise BadDocument("no text found in the file")
    return RawDocument(str(path), text, digest, hints)


def check_name(path: Path) -> None:
    """The index stores paths as UTF-8 text: a file name in another encoding is refused, not garbled.

    >>> check_name(Path(os.fsdecode(b"/docs/caf\\xe9.txt")))
    Traceback (most recent call last):
    rag.errors.BadDocument: file name is not valid UTF-8 (byte 0xE9); rename the file
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError as err:
        byte = os.fsencode(str(path)[err.start])[0]
        raise BadDocument(f"file name is not valid UTF-8 (byte 0x{byte:02X}); rename the file") from None


def decode_text(data: bytes, fallback_encoding: str = "") -> str:
    """Strict UTF-8 (with or without BOM); binary content is refused.

    >>> decode_text("caf\\u00e9".encode())
    'café'
    >>> decode_text(b"\\x00\\x01\\x02binary")
    Traceback (most recent call last):
    rag.errors.BadDocument: binary content (control bytes), not text
    """
    if _looks_binary(data):
        raise BadDocument("binary content (control bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if fallback_encoding:
            return data.decode(fallback_encoding, errors="replace")
        raise BadDocument(f"not UTF-8 text (byte 0x{data[err.start]:02X} at offset {err.start}); "
                          "save it as UTF-8 or set RAG_FALLBACK_ENCODING") from None


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > max(4, len(head) // 50)


def _read_text(data: bytes, fallback: str) -> tuple[str, dict[str, str]]:
    return decode_text(data, fallback), {}


def _read_html(data: bytes, fallback: str) -> tuple[str, dict[str, str]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data, fallback), "html.parser")
    hints = _html_hints(soup)
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "svg"]):
        tag.decompose()
    return soup.get_text("\n"), hints


def _html_hints(soup) -> dict[str, str]:
    def meta(*names: str) -> str:
        for name in names:
            tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
            if tag and tag.get("content"):
                return tag["content"].strip()
        return ""

    canonical = soup.find("link", rel="canonical")
    title = meta("og:title") or (soup.title.get_text().strip() if soup.title else "")
    return {k: v for k, v in {
        "title": title,
        "date": meta("article:published_time", "date", "pubdate", "dc.date"),
        "author": meta("author", "article:author", "dc.creator"),
        "url": meta("og:url") or (canonical.get("href", "") if canonical else ""),
    }.items() if v}


def _read_pdf(data: bytes, _fallback: str) -> tuple[str, dict[str, str]]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise BadDocument("PDF is encrypted; decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except BadDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError) as err:
        raise BadDocument(f"corrupt or unreadable PDF ({type(err).__name__})") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise BadDocument("PDF has no text layer (scanned image?); run OCR on it first")
    return text, {k: str(v) for k, v in {"title": info.get("/Title"), "author": info.get("/Author")}.items() if v}


def _read_docx(data: bytes, _fallback: str) -> tuple[str, dict[str, str]]:
    import io

    _check_zip(data)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as err:  # python-docx raises many unrelated types for bad packages
        raise BadDocument(f"not a valid .docx document ({type(err).__name__})") from None
    text = "\n".join(p.text for p in document.paragraphs)
    props = document.core_properties
    return text, {k: v for k, v in {"title": props.title or "", "author": props.author or ""}.items() if v}


def _check_zip(data: bytes) -> None:
    """Refuse archives that are not zips or that would inflate absurdly (zip bombs)."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise BadDocument("not a valid .docx document (not a zip package)") from None
    if total > ZIP_MAX_UNCOMPRESSED or total > ZIP_MAX_RATIO * max(len(data), 1) + 10_000_000:
        raise BadDocument(f"refused: archive would expand to {total / 1e6:.0f} MB (zip bomb?)")


READERS = {
    ".txt": _read_text, ".md": _read_text, ".markdown": _read_text,
    ".html": _read_html, ".htm": _read_html, ".pdf": _read_pdf, ".docx": _read_docx,
}
