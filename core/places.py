"""Places: where a span of a document's text lies on its pages (page, highlight rectangles, heading).

A chunk of a paged document stores its places as compact JSON (written by `index.layout.Layout.slice`):
``{"p": [[page, offset], ...], "l": [[start, end, page, y0, y1, [[ws, we, x0, x1], ...]], ...],
"h": [[offset, heading], ...]}`` — the page in force at the chunk's start and those starting inside it,
every line with its words' boxes, the heading in force and those inside. Coordinates are fractions of the
page (0-1) from its top-left corner. A chunk of an index written before pages were recorded has none.
"""
from __future__ import annotations

import json
from functools import lru_cache

Rect = tuple[int, float, float, float, float]  # page, x0, y0, x1, y1 (fractions of the page, top-left origin)


@lru_cache(maxsize=512)
def _parsed(layout: str) -> dict:
    return json.loads(layout) if layout else {}


def page_at(layout: str, offset: int) -> int | None:
    """The 1-based page holding the character at `offset` (None without pages).

    >>> page_at('{"p": [[2, 0], [3, 40]]}', 39), page_at('{"p": [[2, 0], [3, 40]]}', 40), page_at("", 5)
    (2, 3, None)
    """
    pages = [p for p in _parsed(layout).get("p", []) if p[1] <= offset] or _parsed(layout).get("p", [])[:1]
    return pages[-1][0] if pages else None


def heading_at(layout: str, offset: int) -> str:
    """The nearest heading at or before `offset` ('' when none).

    >>> heading_at('{"h": [[0, "Intro"], [50, "Results"]]}', 60)
    'Results'
    """
    heads = [h for h in _parsed(layout).get("h", []) if h[0] <= offset]
    return heads[-1][1] if heads else ""


def rects(layout: str, start: int, end: int) -> tuple[Rect, ...]:
    """One rectangle a line for the text [start, end): from its first to its last word in the span.

    >>> lay = '{"l": [[0, 11, 1, 0.1, 0.12, [[0, 5, 0.1, 0.2], [6, 11, 0.22, 0.3]]], [12, 17, 1, 0.13, 0.15, [[12, 17, 0.1, 0.2]]]]}'
    >>> rects(lay, 6, 17)
    ((1, 0.22, 0.1, 0.3, 0.12), (1, 0.1, 0.13, 0.2, 0.15))
    """
    out = []
    for line_start, line_end, page, y0, y1, words in _parsed(layout).get("l", []):
        inside = [w for w in words if w[0] < end and w[1] > start]
        if line_start < end and line_end > start and inside:
            out.append((page, inside[0][2], y0, inside[-1][3], y1))
    return tuple(out)
