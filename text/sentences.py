"""Sentences: the one splitter, giving (start, end) character offsets into the text it splits."""
from __future__ import annotations

import re

ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "gen", "col", "lt", "sgt", "capt",
    "gov", "sen", "rep", "no", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "fig", "al", "approx", "dept", "est", "emb", "u.s",
    "u.k", "e.g", "i.e", "a.m", "p.m", "u.n",
}
# A sentence ends at . ! ? … (plus closing quotes/brackets) before whitespace, or at a line break.
BOUNDARY_RE = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9\u0600-\u06FF\u0400-\u04FF])|\n+")


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([\w.]+)$", text[max(0, dot - 12):dot])
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    return token in ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`, whitespace trimmed, shifted by `offset`.

    >>> t = "Dr. Smith arrived. He met Mr. Jones!\\nNext line"
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Dr. Smith arrived.', 'He met Mr. Jones!', 'Next line']
    """
    spans, start = [], 0
    for match in BOUNDARY_RE.finditer(text):
        end = match.end() if match.group().strip() else match.start()
        if match.group().startswith(".") and _is_abbreviation(text, match.start()):
            continue
        _add_span(text, start, end, spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return [(s + offset, e + offset) for s, e in spans]


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    if piece.strip():
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + len(piece.rstrip())))
