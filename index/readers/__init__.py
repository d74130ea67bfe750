"""Readers: one module a format, each registered under the file suffixes it reads.

A reader turns a file's bytes into raw text plus the metadata hints the format
states (title, date, author, url). Adding a format is one module with one
`@reader(".ext")` function, and one import line below.

>>> sorted(READERS)
['.docx', '.htm', '.html', '.markdown', '.md', '.pdf', '.txt']
"""
from __future__ import annotations

from typing import Callable

from core.registry import Registry

Reader = Callable[[bytes, str], "tuple[str, dict[str, str]]"]  # (data, fallback encoding) -> (text, hints)
READERS = Registry("file type")
reader = READERS.register  # @reader(".txt", ".md"): register a reader for file suffixes (lower case, with the dot)


def supported() -> list[str]:
    """The file suffixes that can be indexed, sorted.

    >>> supported()[:3]
    ['.docx', '.htm', '.html']
    """
    return sorted(READERS)


from index.readers import docx, html, pdf, plain  # noqa: E402,F401  (each registers itself)
