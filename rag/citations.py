"""Citation markers: the one grammar ("[1]", "[1, 3]", "[1][2]") and its parser; validate, renumber,
flag unsupported sentences. The UI links markers with `groups` from here. And what a quote keeps of a sentence."""
from __future__ import annotations

import re

from text.sentences import split_sentences

GROUP_RE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
LEADING_GROUPS_RE = re.compile(r"^(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
AFTER_MARKER_RE = re.compile(r"(?<=\])\s+(?=[A-Z\"“(])")  # "A [1] B [2]": a marker also ends a sentence
LIST_MARK_RE = re.compile(r"^\s*(?:\(?\d{1,3}[-.)–]|[-–•*▪])\s+")    # "3- ", "2. ", "1) ", "(4) ", "• "


def quotable(text: str) -> tuple[int, int]:
    """The offsets of what a quote of `text` keeps: without the number or bullet of a list item before it
    and the colon of a heading after it (and the spaces around); all of it when nothing else would be left.

    >>> s = "3- Azerbaijan opens its embassy on March 29, 2023:"
    >>> s[slice(*quotable(s))], [t[slice(*quotable(t))] for t in ("2. Rollo led them.", "1) Results:", "2.5 m fled.")]
    ('Azerbaijan opens its embassy on March 29, 2023', ['Rollo led them.', 'Results', '2.5 m fled.'])
    """
    mark = LIST_MARK_RE.match(text)
    start = mark.end() if mark else len(text) - len(text.lstrip())
    end = len(text.rstrip().removesuffix(":").rstrip())
    return (start, end) if start < end else (0, len(text))


def groups(text: str) -> list[tuple[int, int, list[int]]]:
    """Each marker group in a text: (start, end, the passage numbers it cites).

    >>> groups("Baku [1, 3] and Tehran [2][4].")
    [(5, 11, [1, 3]), (23, 26, [2]), (26, 29, [4])]
    """
    return [(m.start(), m.end(), [int(n) for n in m.group(1).split(",")]) for m in GROUP_RE.finditer(text)]


def markers(text: str) -> list[int]:
    """Passage numbers cited in a text, in order of appearance ('[1, 3]' and '[1][2]' both count).

    >>> markers("Baku did it [2]. Tehran objected [1, 3][2].")
    [2, 1, 3, 2]
    """
    return [int(n) for group in GROUP_RE.findall(text) for n in group.split(",")]


def keep_valid(text: str, passages: int) -> tuple[str, list[int]]:
    """The text with markers that point at no passage removed, and the removed numbers.

    >>> keep_valid("Fact [1]. Invented [9]. Mixed [2, 7].", 4)
    ('Fact [1]. Invented. Mixed [2].', [9, 7])
    """
    removed: list[int] = []

    def fix(match: re.Match) -> str:
        numbers = [int(n) for n in match.group(1).split(",")]
        removed.extend(n for n in numbers if not 1 <= n <= passages)
        valid = [n for n in numbers if 1 <= n <= passages]
        return f"[{', '.join(map(str, valid))}]" if valid else ""

    cleaned = GROUP_RE.sub(fix, text)
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned)).strip(), removed


def renumber(text: str) -> tuple[str, list[int]]:
    """Markers renumbered 1..k in order of first use, and the original passage number of each.

    >>> renumber("A [3]. B [1][3].")
    ('A [1]. B [2][1].', [3, 1])
    """
    order: list[int] = []
    for n in markers(text):
        if n not in order:
            order.append(n)

    def fix(match: re.Match) -> str:
        return "[" + ", ".join(str(order.index(int(n)) + 1) for n in match.group(1).split(",")) + "]"

    return GROUP_RE.sub(fix, text), order


def sentences(text: str) -> list[str]:
    """Sentences of a generated answer (markers stay with the sentence they end).

    >>> sentences("Baku did it [1]. Tehran objected. Done [2]")
    ['Baku did it [1].', 'Tehran objected.', 'Done [2]']
    >>> sentences("Baku did it. [1] Tehran objected.")
    ['Baku did it. [1]', 'Tehran objected.']
    >>> sentences("Baku did it [1] Tehran objected [2]")
    ['Baku did it [1]', 'Tehran objected [2]']
    """
    out: list[str] = []
    for start, end in split_sentences(text):
        piece = text[start:end]
        lead = LEADING_GROUPS_RE.match(piece)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group().strip()}"
            piece = piece[lead.end():]
        out += [p.strip() for p in AFTER_MARKER_RE.split(piece) if p.strip()]
    return out


def unsupported(text: str) -> list[str]:
    """Sentences that carry no citation marker.

    >>> unsupported("Cited [1]. Not cited. Also cited [2].")
    ['Not cited.']
    """
    return [s for s in sentences(text) if not GROUP_RE.search(s)]


def citing_sentences(text: str, number: int) -> list[str]:
    """The sentences that cite passage `number`.

    >>> citing_sentences("A [1]. B [2]. C [1, 2].", 2)
    ['B [2].', 'C [1, 2].']
    """
    return [s for s in sentences(text) if number in markers(s)]
