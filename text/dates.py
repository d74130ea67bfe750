"""Dates written in running text (English and Arabic month names): their parser. The grammar they are written
in (`DATE_RE`, the month tables) is `text.grammar`'s."""
from __future__ import annotations

import re
from datetime import date

from text.grammar import DATE_RE, ENGLISH_MONTHS, MONTHS

__all__ = ["DATE_RE", "ENGLISH_MONTHS", "MONTHS", "first_date", "parse_date"]   # the grammar's names re-exported


def parse_date(match: re.Match) -> str:
    """ISO form of a DATE_RE match, or '' if it is not a real calendar date.

    >>> parse_date(DATE_RE.search("By ALEX FEBRUARY 3, 2025 10:14"))
    '2025-02-03'
    >>> parse_date(DATE_RE.search("25 مايو، 2023"))
    '2023-05-25'
    >>> parse_date(DATE_RE.search("November 02 2022"))
    '2022-11-02'
    """
    g = match.groupdict()
    if g["y3"]:
        year, month, day = int(g["y3"]), int(g["m3"]), int(g["d3"])
    else:
        name = (g["m1"] or g["m2"]).lower()
        year, month, day = int(g["y1"] or g["y2"]), MONTHS[name], int(g["d1"] or g["d2"])
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return ""


def first_date(text: str) -> str:
    """The first real date in `text`, ISO formatted, or ''.

    >>> first_date("Published on 2 Nov 2022 by the desk")
    '2022-11-02'
    >>> first_date("no date here")
    ''
    """
    for match in DATE_RE.finditer(text):
        iso = parse_date(match)
        if iso:
            return iso
    return ""
