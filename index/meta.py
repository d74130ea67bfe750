"""Metadata the text states: title, publication date, author, original URL, language."""
from __future__ import annotations

import re

from index.clean import is_debris, script_of
from text.dates import DATE_RE, first_date

HEADER_LINES = 12
AUTHOR_PATTERNS = [
    re.compile(r"^by\s+(?P<a>[A-Za-z][\w.'’ -]{1,50}?)\s*(?:[-–—|,]|\s(?=" + DATE_RE.pattern + "))", re.IGNORECASE),
    re.compile(r"^view all posts by\s+(?P<a>[^\n→]{2,50}?)\s*(?:→|$)", re.IGNORECASE),
    re.compile(r"^(?:written by|author:)\s+(?P<a>[^\n]{2,50}?)\s*$", re.IGNORECASE),
]
URL_RE = re.compile(r"^(?:original\s+)?(?:source|url|link):\s*(?P<u>\S+)\s*$|^(?P<v>https?://\S+)$", re.IGNORECASE)


def header(raw: str) -> list[str]:
    """The first non-empty lines of the raw text, where pages state their metadata."""
    return [line.strip() for line in raw.splitlines() if line.strip()][:HEADER_LINES]


def find_author(raw: str) -> str:
    """The author named in a byline or an author box.

    >>> find_author("Title\\nBy ALEX WINSTON FEBRUARY 3, 2025 10:14Iran and...")
    'Alex Winston'
    >>> find_author("Text\\nView all posts by Carmen Mendez →")
    'Carmen Mendez'
    >>> find_author("By News Desk - November 02 2022")
    'News Desk'
    """
    for line in (line.strip() for line in raw.splitlines()):
        for pattern in AUTHOR_PATTERNS:
            match = pattern.match(line)
            if match:
                name = match.group("a").strip()
                return name.title() if name.isupper() else name
    return ""


def find_url(raw: str) -> str:
    """The page's own address when the text states it on a line of its own.

    >>> find_url("Original Source: www.jpost.com")
    'www.jpost.com'
    """
    for line in (line.strip() for line in raw.splitlines()):
        match = URL_RE.match(line)
        if match:
            return match.group("u") or match.group("v")
    return ""


def find_title(clean_text: str) -> str:
    """The first headline-like line: 4-30 words, not a date line.

    >>> find_title("The Israeli Threat\\nWhat is driving the renewed escalation?\\nBody text.")
    'What is driving the renewed escalation?'
    """
    for line in clean_text.splitlines()[:HEADER_LINES]:
        words = len(line.split())
        if 4 <= words <= 30 and not DATE_RE.fullmatch(line.strip()) and not is_debris(line):
            return line.strip()
    first = next((line for line in clean_text.splitlines() if line.strip()), "")
    return " ".join(first.split()[:30])


def find_language(text: str) -> str:
    """ISO 639-1 code of the text's main language ('' when undecidable)."""
    try:
        from langdetect import DetectorFactory, detect

        DetectorFactory.seed = 0
        return detect(text[:1000])  # its cost grows with the length; 1000 characters settle the language
    except Exception:  # langdetect raises on text without letters
        return {"ARABIC": "ar", "CYRILLIC": "ru", "HEBREW": "he"}.get(script_of(text), "")


def extract(raw: str, clean_text: str, hints: dict[str, str]) -> dict[str, str]:
    """All metadata of a document; hints from the file format win over the text. The date is one the
    document states (its header's, or a format's own publication date): none when it states none, never
    the day a file was made.

    >>> extract("Report\\nBy Ann Lee, 3 May 2024\\nText.", "Text.", {})["date"]
    '2024-05-03'
    >>> extract("A line of text here.", "A line of text here.", {"title": "T"})["date"]
    ''
    """
    found = {
        "title": find_title(clean_text),
        "date": first_date("\n".join(header(raw))),
        "author": find_author(raw),
        "url": find_url(raw),
        "language": find_language(clean_text),
    }
    hinted = {k: (first_date(v) or v[:10]) if k == "date" else v for k, v in hints.items() if v}
    return {**found, **hinted}
