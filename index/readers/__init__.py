"""Readers: one module a format, each registered under the file suffixes it reads.

A reader turns a file's bytes into raw text, the metadata hints the format
states (title, date, author, url) and, for paged or structured formats, a
`Layout` (pages, boxes, headings; else None). Adding a format is one module with one
`@reader(".ext")` function, and one import line below.

>>> sorted(READERS)
['.docx', '.htm', '.html', '.markdown', '.md', '.pdf', '.txt']
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from core.registry import Registry
from core.settings import IngestSettings


@dataclass(frozen=True)
class ReadOptions:
    """What readers are told: the encoding to try for non-UTF-8 text, the resolution scans are OCR'd at."""

    fallback_encoding: str = ""
    ocr_dpi: int = IngestSettings.model_fields["ocr_dpi"].default   # RAG_OCR_DPI's default; 0: no OCR


Reader = Callable[[bytes, ReadOptions], "tuple[str, dict[str, str], object]"]  # -> (text, hints, Layout | None)
READERS = Registry("file type")
reader = READERS.register  # @reader(".txt", ".md"): register a reader for file suffixes (lower case, with the dot)


def supported() -> list[str]:
    """The file suffixes that can be indexed, sorted.

    >>> supported()[:3]
    ['.docx', '.htm', '.html']
    """
    return sorted(READERS)


from index.readers import docx, html, pdf, plain  # noqa: E402,F401  (each registers itself)
