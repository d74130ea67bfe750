"""Entities: names, places, organisations, amounts, counts and dates as spans of a sentence.

The span patterns (`PATTERNS`) are read here once by answer typing, follow-up entities and near-duplicate
detection: names are defined here, amounts, dates and counts are `text.grammar`'s.
"""
from __future__ import annotations

import re

from text.grammar import DATE_SPAN_RE, MONEY_RE, NUMBER_SPAN_RE
from text.terms import STOPWORDS

PATTERNS = {
    "money": MONEY_RE,
    "date": DATE_SPAN_RE,
    "number": NUMBER_SPAN_RE,
    "entity": re.compile(r"\b(?:[A-Z][\w’'.-]*[a-z][\w’'-]*|[A-Z]{2,})"
                         r"(?:\s+(?:[A-Z][\w’'.-]*|(?:al|bin|ibn|de|of|the|for|and)\b))*(?<![\s.])"),
}


def value_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The span [start, end) widened to the whole amount, date or figure-with-unit of `text` it lies in (a figure
    is stated with its currency, scale and unit; a number word is a count as it stands); unchanged when it lies
    in none.

    >>> s = "It paid $120 million for two satellites on March 29, 2023, 20 kilometers away."
    >>> [s[slice(*value_around(s, s.find(w), s.find(w) + len(w)))] for w in ("120", "two", "March 29", "paid")]
    ['$120 million', 'two', 'March 29, 2023', 'paid']
    >>> s[slice(*value_around(s, s.find(", 20 ") + 2, s.find(", 20 ") + 4))]
    '20 kilometers'
    """
    around = [m.span() for kind in ("money", "date", "number") for m in PATTERNS[kind].finditer(text)
              if m.start() <= start and end <= m.end() and (kind != "number" or m.group()[0].isdigit())]
    return max(around, key=lambda span: span[1] - span[0], default=(start, end))


def entities(text: str) -> list[str]:
    """Names, numbers and dates mentioned in a text, in order, without repeats.

    >>> entities("Who offered Aqil Aslanov $200,000 in January?")
    ['Aqil Aslanov', '$200,000', 'January']
    """
    found: list[str] = []
    spans = sorted([m.span() for kind in ("money", "date") for m in PATTERNS[kind].finditer(text)] +
                   [m.span() for m in PATTERNS["entity"].finditer(text)])
    taken = -1
    for a, b in spans:
        piece = _drop_leading_stopwords(text[a:b].strip(" ,.;:?"))
        if a >= taken and piece and piece.lower() not in STOPWORDS and piece not in found:
            found.append(piece)
            taken = b
    return found


def _drop_leading_stopwords(piece: str) -> str:
    words = piece.split()
    while words and words[0].lower() in STOPWORDS:
        words.pop(0)
    return " ".join(words)


def names(text: str) -> set[str]:
    """The capitalised names a text mentions (longer than three characters).

    >>> sorted(names("Kamal Kharrazi met Hikmet Hajiyev in Baku."))
    ['Baku', 'Hikmet Hajiyev', 'Kamal Kharrazi']
    """
    return {m.group() for m in PATTERNS["entity"].finditer(text) if len(m.group()) > 3}
