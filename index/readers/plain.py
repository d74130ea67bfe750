"""Plain text and Markdown: strict UTF-8 (or the configured fallback encoding); binary content refused."""
from __future__ import annotations

from core.errors import BadDocument
from index.readers import ReadOptions, reader


def decode_text(data: bytes, fallback_encoding: str = "") -> str:
    """Strict UTF-8 (with or without BOM); binary content is refused.

    >>> decode_text("caf\\u00e9".encode())
    'café'
    >>> decode_text(b"\\x00\\x01\\x02binary")
    Traceback (most recent call last):
    core.errors.BadDocument: binary content (control bytes), not text
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


@reader(".txt", ".md", ".markdown")
def read_text(data: bytes, options: ReadOptions) -> tuple[str, dict[str, str], None]:
    return decode_text(data, options.fallback_encoding), {}, None
