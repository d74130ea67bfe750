"""Layout: a paged document's lines (with their character boxes) -> flowing text that keeps its places.

A PDF's text layer (or OCR) gives lines: a sentence wrapped over two lines, a column or a page is cut at
each line's end, and a word broken at a line's end keeps its hyphen. This module joins the lines of one
paragraph with a space, joins "exam-" / "ple" into "example", drops running headers, footers and page
numbers, and records where everything went: the offset where each page starts, and for every line of the
text the boxes of its words. Boxes are fractions of the page (0-1), origin at the top left:
(x0, y0, x1, y1), so a page rendered at any size is highlighted by multiplying. Pure: no PDF library here.
"""
from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from itertools import takewhile
from dataclasses import dataclass, field
from functools import cached_property
from statistics import median

from index.clean import is_debris

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the page, top-left origin
FURNITURE_LINES = 2                       # lines at a page's top and bottom where running headers live
PAGE_NUMBER_RE = re.compile(r"^\W*(page\s+)?(\d{1,4}|[ivxlc]{1,6})(\s*(of|/)\s*\d{1,4})?\W*$", re.IGNORECASE)
LEADER_RE = re.compile(r"(\.\s*){3,}\d+$")            # a table of contents line: "Naming . . . . 3"
SOFT_HYPHENS = "\u00ad\ufffe"                          # what PDF text layers put where a word was broken
SENTENCE_END_RE = re.compile(r"[.!?:;…][\"'”’)\]]*$")


@dataclass(frozen=True)
class Line:
    """One line as the page shows it: its text and one box a character (zero boxes for generated spaces)."""

    page: int          # 1-based
    text: str
    boxes: tuple[Box, ...]

    @cached_property
    def inked(self) -> list[Box]:
        return [b for b, ch in zip(self.boxes, self.text) if not ch.isspace() and b[2] > b[0]]

    @cached_property
    def top(self) -> float:
        return min((b[1] for b in self.inked), default=0.0)

    @cached_property
    def bottom(self) -> float:
        return max((b[3] for b in self.inked), default=0.0)

    @cached_property
    def right(self) -> float:
        return max((b[2] for b in self.inked), default=0.0)

    @cached_property
    def size(self) -> float:
        """The line's text height (a font size, as a fraction of the page height)."""
        return median(b[3] - b[1] for b in self.inked) if self.inked else 0.0


def uniform_line(page: int, text: str, box: Box) -> Line:
    """A line whose characters share its box evenly (OCR gives a box a line, not a character).

    >>> uniform_line(1, "ab", (0.1, 0.2, 0.3, 0.25)).boxes
    ((0.1, 0.2, 0.2, 0.25), (0.2, 0.2, 0.3, 0.25))
    """
    width = (box[2] - box[0]) / max(len(text), 1)
    return Line(page, text, tuple((round(box[0] + i * width, 5), box[1], round(box[0] + (i + 1) * width, 5), box[3])
                                  for i in range(len(text))))


@dataclass
class Layout:
    """Where a paged document's text lies: page starts (offsets into the text) and word boxes by line."""

    page_starts: list[int] = field(default_factory=list)          # offset where page i + 1 begins
    lines: list[list] = field(default_factory=list)               # [start, end, page, y0, y1, [[ws, we, x0, x1], ...]]
    headings: list[list] = field(default_factory=list)            # [offset, heading text] (DOCX)
    ocr_pages: list[int] = field(default_factory=list)            # pages whose text came from OCR
    unreadable_pages: list[list] = field(default_factory=list)    # [page, reason]: no text layer, OCR found none
    ocr_seconds: float = 0.0

    def slice(self, start: int, end: int) -> str:
        """The places of the text [start, end), as a chunk stores them (see `core.places`). Pages, lines and
        headings are in text order, so each is found by bisection (a 1,000-page PDF has ~40,000 lines)."""
        first = bisect_right(self.page_starts, start)
        pages = [[k + 1, self.page_starts[k]]
                 for k in range(max(first - 1, 0), bisect_left(self.page_starts, end, lo=first))]
        after = bisect_right(self.lines, start, key=lambda ln: ln[1])
        lines = list(takewhile(lambda ln: ln[0] < end, (self.lines[k] for k in range(after, len(self.lines)))))
        place = {"p": pages, "l": lines, "h": _around(self.headings, start, end, at=0)}
        return json.dumps({k: v for k, v in place.items() if v}, separators=(",", ":"))


def _around(marks: list[list], start: int, end: int, at: int = 1) -> list[list]:
    """The marks (sorted by their offset, item `at`) in force at `start` and those inside [start, end).

    >>> _around([[1, 0], [2, 50], [3, 90]], 60, 95), _around([[1, 0], [2, 50]], 50, 60)
    ([[2, 50], [3, 90]], [[2, 50]])
    """
    first = bisect_right(marks, start, key=lambda m: m[at])
    return marks[max(first - 1, 0):first] + marks[first:bisect_left(marks, end, lo=first, key=lambda m: m[at])]


def page_ranges(pages: list[int]) -> str:
    """Pages as a short list of ranges.

    >>> page_ranges([1, 2, 3, 5]), page_ranges([])
    ('1-3,5', '')
    """
    runs: list[list[int]] = []
    for page in pages:
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def relocate_headings(headings: list[list], text: str) -> list[list]:
    """Headings found again, in order, as whole lines of the cleaned `text` (cleaning moves offsets).

    >>> relocate_headings([[0, "Intro"], [30, "Results"]], "Intro\\nSome text.\\nResults\\nMore.")
    [[0, 'Intro'], [17, 'Results']]
    """
    found, at = [], 0
    for _, heading in headings:
        match = re.compile(r"(?m)^" + re.escape(heading) + r"[ \t]*$").search(text, at)
        if match:
            found.append([match.start(), heading])
            at = match.end()
    return found


def first_page_head(text: str, layout: Layout, max_words: int = 25) -> str:
    """The short paragraphs of the first page (title, byline, dateline): where a paged document states its
    date and author, rather than in a date its body text mentions.

    >>> first_page_head("Report\\nBy Ann Lee, 3 May 2024\\nIn 1804 a body paragraph " + "word " * 30 + "\\nMore.",
    ...                 Layout(page_starts=[0, 500]))
    'Report\\nBy Ann Lee, 3 May 2024\\nMore.'
    """
    end = layout.page_starts[1] if len(layout.page_starts) > 1 else len(text)
    return "\n".join(p for p in text[:end].split("\n") if len(p.split()) <= max_words).strip()


def running_lines(pages: list[list[Line]]) -> set[tuple[int, int]]:
    """(page, index) of furniture: page numbers, and lines at a page's top or bottom that repeat (digits
    aside) on at least half the pages of a document of two or more.

    >>> p = [[uniform_line(n, t, (0, 0, 1, .1)) for t in ("Acme Report", "Rain" * n, f"{n}")] for n in (1, 2)]
    >>> sorted(running_lines(p))
    [(0, 0), (0, 2), (1, 0), (1, 2)]
    """
    def key(line: Line) -> str:
        return re.sub(r"\d+", "#", " ".join(line.text.split()).lower())

    edges = [[(i, j) for j in range(len(page)) if j < FURNITURE_LINES or j >= len(page) - FURNITURE_LINES]
             for i, page in enumerate(pages)]
    counts: dict[str, int] = {}
    for page_edges in edges:
        for k in {key(pages[i][j]) for i, j in page_edges}:
            counts[k] = counts.get(k, 0) + 1
    repeated = {k for k, n in counts.items() if len(pages) >= 2 and n >= max(2, len(pages) / 2)}
    return {(i, j) for page_edges in edges for i, j in page_edges
            if key(pages[i][j]) in repeated or PAGE_NUMBER_RE.match(pages[i][j].text)}


def continues(prev: Line, line: Line, full_width: float) -> bool:
    """Whether `line` carries on the paragraph of `prev`: the same type size, and on the next page when
    `prev` stops mid-sentence; on the same page when `prev` runs to the margin (or stops mid-sentence before
    a lower-case word) and `line` follows closely below or opens the next column.

    >>> a = uniform_line(1, "holds 48 million cubic metres of water, according to the", (.1, .50, .9, .52))
    >>> continues(a, uniform_line(1, "2019 survey.", (.1, .525, .3, .545)), 0.8)
    True
    >>> continues(uniform_line(1, "Results", (.1, .50, .3, .52)), uniform_line(1, "The dam.", (.1, .525, .3, .545)), .8)
    False
    >>> bottom_of_column = uniform_line(1, "the level rises in", (.1, .90, .45, .92))
    >>> continues(bottom_of_column, uniform_line(1, "spring and falls in autumn.", (.55, .10, .9, .12)), .45)
    True
    """
    if not prev.inked or not line.inked or abs(line.size - prev.size) > 0.2 * max(prev.size, line.size):
        return False
    if LEADER_RE.search(prev.text.rstrip()):
        return False
    mid_sentence = not SENTENCE_END_RE.search(prev.text.rstrip())
    if line.page != prev.page:
        return mid_sentence
    if not (prev.right >= 0.85 * full_width or (mid_sentence and line.text.lstrip()[:1].islower())):
        return False
    gap = line.top - prev.bottom
    return gap < 0.9 * prev.size or (gap < 0 and mid_sentence)


def paragraphs(lines: list[Line]) -> list[list[Line]]:
    """Lines grouped into paragraphs, in reading order."""
    widths = {}
    for line in lines:
        widths.setdefault(line.page, []).append(line.right)
    full = {page: sorted(rights)[int(0.9 * (len(rights) - 1))] for page, rights in widths.items()}
    groups: list[list[Line]] = []
    for line in lines:
        if groups and continues(groups[-1][-1], line, full[groups[-1][-1].page]):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def joiner(prev: str, nxt: str) -> tuple[str, int]:
    """How two wrapped lines meet: (separator, characters to drop from the end of `prev`).

    >>> joiner("an exam-", "ple of it"), joiner("the", "2019 survey"), joiner("X-", "Ray"), joiner("manip\ufffe", "ulation")
    (('', 1), (' ', 0), ('', 0), ('', 1))
    """
    if prev[-1:] in SOFT_HYPHENS:
        return "", 1
    if re.search(r"[^\W\d_]-$", prev) and nxt[:1].islower():
        return "", 1
    if prev.endswith("-"):
        return "", 0
    return " ", 0


def lay_out(pages: list[list[Line]], page_count: int | None = None) -> tuple[str, Layout]:
    """Flowing text of the pages (paragraphs one a line) and its layout. A page with no kept line starts
    where the next text starts.

    >>> p1 = [uniform_line(1, "Report", (.1, .02, .3, .04)), uniform_line(1, "The Kestrel reservoir holds an exam-",
    ...       (.1, .5, .9, .52)), uniform_line(1, "ple of water, according to the", (.1, .525, .8, .545))]
    >>> p2 = [uniform_line(2, "Report", (.1, .02, .3, .04)), uniform_line(2, "2019 survey. It rained.", (.1, .1, .5, .12))]
    >>> text, layout = lay_out([p1, p2])
    >>> text
    'The Kestrel reservoir holds an example of water, according to the 2019 survey. It rained.'
    >>> layout.page_starts, text[layout.page_starts[1]:][:11]
    ([0, 66], '2019 survey')
    >>> layout.lines[1][:5]
    [35, 65, 1, 0.525, 0.545]
    """
    furniture = running_lines(pages)
    kept = [ln for i, page in enumerate(pages) for j, ln in enumerate(page)
            if (i, j) not in furniture and ln.text.strip()]
    groups = [g for g in paragraphs(kept) if not is_debris(" ".join(ln.text.strip() for ln in g))]
    return _emit(groups, page_count if page_count is not None else len(pages))


def _emit(groups: list[list[Line]], page_count: int) -> tuple[str, Layout]:
    out: list[str] = []
    layout, size = Layout(), 0
    starts: dict[int, int] = {}
    for group in groups:
        if out:
            out.append("\n")
            size += 1
        for k, line in enumerate(group):
            text, boxes = _visible(line)
            if k:
                sep, drop = joiner("".join(out[-1:]), text)
                if drop:
                    out[-1], size = out[-1][:-drop], size - drop
                    _drop_tail(layout.lines[-1], size)
                out.append(sep)
                size += len(sep)
            starts.setdefault(line.page, size)
            layout.lines.append(_placed(line.page, text, boxes, size))
            out.append(text)
            size += len(text)
    layout.page_starts = _page_starts(starts, page_count, size)
    return "".join(out), layout


def _visible(line: Line) -> tuple[str, tuple[Box, ...]]:
    """The line's text without outer spaces and hyphenation marks inside it ("manip\ufffeulation"), with
    the boxes of the characters kept. A mark at the line's end stays for `joiner` to see."""
    lead = len(line.text) - len(line.text.lstrip())
    text, boxes = line.text.strip(), line.boxes[lead:lead + len(line.text.strip())]
    keep = [i for i, ch in enumerate(text) if ch not in SOFT_HYPHENS or i == len(text) - 1]
    return "".join(text[i] for i in keep), tuple(boxes[i] for i in keep)


def _placed(page: int, text: str, boxes: tuple[Box, ...], start: int) -> list:
    """[start, end, page, y0, y1, words] of a line placed at `start`: words as [ws, we, x0, x1]."""
    words = [[start + m.start(), start + m.end(), round(min(b[0] for b in boxes[m.start():m.end()]), 4),
              round(max(b[2] for b in boxes[m.start():m.end()]), 4)] for m in re.finditer(r"\S+", text)]
    inked = [b for b, ch in zip(boxes, text) if not ch.isspace() and b[3] > b[1]] or [(0, 0, 0, 0)]
    return [start, start + len(text), page, round(min(b[1] for b in inked), 4), round(max(b[3] for b in inked), 4),
            words]


def _drop_tail(placed: list, end: int) -> None:
    """A line whose last characters (a hyphen) were dropped: its end and last word end move back."""
    placed[1] = end
    if placed[5]:
        placed[5][-1][1] = min(placed[5][-1][1], end)


def _page_starts(starts: dict[int, int], page_count: int, size: int) -> list[int]:
    out, following = [0] * page_count, size
    for page in range(page_count, 0, -1):
        following = starts.get(page, following)
        out[page - 1] = following
    return out
