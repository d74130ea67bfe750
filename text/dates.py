"""Dates written in running text (English and Arabic month names): the one date grammar, and its parser."""
from __future__ import annotations

import re
from datetime import date

ENGLISH_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}
# English month names as written in running text, capitalised (the span grammar of text.entities is case-sensitive).
MONTH = "|".join(sorted((m.capitalize() for m in ENGLISH_MONTHS), key=len, reverse=True))
MONTHS = {
    **ENGLISH_MONTHS,
    # Arabic (Levantine and Egyptian/Gulf names)
    "يناير": 1, "فبراير": 2, "مارس": 3, "أبريل": 4, "ابريل": 4, "مايو": 5, "يونيو": 6, "يوليو": 7,
    "أغسطس": 8, "اغسطس": 8, "سبتمبر": 9, "أكتوبر": 10, "اكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
    "كانون الثاني": 1, "شباط": 2, "آذار": 3, "نيسان": 4, "أيار": 5, "حزيران": 6, "تموز": 7,
    "آب": 8, "أيلول": 9, "تشرين الأول": 10, "تشرين الثاني": 11, "كانون الأول": 12,
}
_MONTH = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_MDY = rf"(?P<m1>{_MONTH})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y1>\d{{4}})"
_DMY = rf"(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{_MONTH})[\s,،.]+(?P<y2>\d{{4}})"
_ISO = r"(?P<y3>\d{4})-(?P<m3>\d{2})-(?P<d3>\d{2})"
DATE_RE = re.compile(rf"(?<!\w)(?:{_MDY}|{_DMY}|{_ISO})(?!\d)", re.IGNORECASE)


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
