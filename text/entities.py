"""Entities: names, places, organisations, amounts, counts and dates as spans of a sentence.

The span grammar (`PATTERNS`) is defined here once; answer typing, follow-up
entities and near-duplicate detection all read it.
"""
from __future__ import annotations

import re

from text.dates import MONTH
from text.terms import STOPWORDS

NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                "twenty|thirty|forty|fifty|hundred|hundreds|thousand|thousands|dozens?|million|billion")

PATTERNS = {
    "money": re.compile(r"(?:US)?\$\s?\d[\d,.]*(?:\s?(?:million|billion|thousand|[mbk]n?)\b)?|"
                        r"\b\d[\d,.]*\s?(?:million|billion)?\s?(?:dollars|euros|manat|rials?|USD|EUR)\b|"
                        r"\b(?:billions|millions) of dollars\b", re.I),
    "date": re.compile(rf"\b(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),?\s+)?"
                       rf"(?:(?:{MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|"
                       rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTH})(?:,?\s+\d{{4}})?|(?:{MONTH})\s+\d{{4}}|"
                       rf"(?:in|since|by|until|of)\s+(?:1[0-9]|20)\d{{2}}|(?:19|20)\d{{2}})\b"),
    "number": re.compile(rf"\b\d[\d,.]*\d\s?(?:%|percent|per cent)|\b\d+\s?(?:%|percent|per cent)|"
                         rf"\b(?!(?:19|20)\d\d\b)\d[\d,.]*(?<![,.])(?:\s(?:million|billion|thousand))?"
                         rf"(?:\s(?!(?:and|or|the|of|to|in|on|at|by|for|with|from)\b)[a-z]{{3,}})?|"
                         rf"\b(?:{NUMBER_WORDS})\b(?:\s(?!(?:and|or|the|of|to|in|on|at|by|for|with|from)\b)[a-z]{{3,}})?", re.I),
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
