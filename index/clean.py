"""Clean: remove web-page debris by general rules, keep article text in any language.

Cleaning only deletes whole lines or a leading prefix of a line (a byline, a
social-media attribution); it never rewrites characters inside kept text, so
every quote taken from the cleaned text reads verbatim in the original file.
"""
from __future__ import annotations

import re
import unicodedata

from text.dates import DATE_RE

# Phrases that mark a line as page furniture when the line is short.
_DEBRIS = [
    r"^(article\s+)?ad(vert(isement)?)?(\s+box)?$", r"^(sponsored|advertisement)(\s+content)?$",
    r"^loading(\.\.\.|…)?$", r"newsletter", r"^(subscribe|sign up|join)\b.*\b(news|email|updates|free)\b",
    r"^stay (updated|informed|connected|tuned)\b", r"^leave a (reply|comment)", r"^(post|add) a comment",
    r"your email address will not be published", r"required fields are marked",
    r"^rated \d+(\.\d+)? out of \d+ stars?", r"^no ratings yet$", r"^(add|submit) a rating$",
    r"^(top|bottom) of (the )?page$", r"^(most (popular|read|viewed)|trending( now)?|related (articles|posts|stories))$",
    r"^(read more|share( this)?( article| story)?|print|email|comments?)$", r"^follow us\b",
    r"^click here\b", r"^skip to (main )?content$", r"^view all posts by\b", r"\bcookies?\b.*\b(accept|consent|policy)\b",
    r"all rights reserved", r"^(previous|next) (article|post)\b", r"^tags?:", r"^(original )?source:\s*\S+$",
    r"^(photo|image) credit:", r"^https?://\S+$", r"^www\.\S+$", r"pic\.twitter\.com/\S+", r"^\s*#\w+(\s+#\w+)*\s*$",
]
DEBRIS_RE = re.compile("|".join(f"(?:{p})" for p in _DEBRIS), re.IGNORECASE)
MAX_DEBRIS_WORDS = 14
BYLINE_RE = re.compile(r"^by\s+[^\n]{2,60}?" + f"(?:{DATE_RE.pattern})" + r"(?:\s*\d{1,2}:\d{2})?\s*(?:[-–—|]\s*)?",
                       re.IGNORECASE)
BYLINE_ONLY_RE = re.compile(r"^by\s+[\w .'’-]{2,60}?\s*[-–—|,]\s*.*\d{4}$", re.IGNORECASE)
TWEET_ATTRIBUTION_RE = re.compile(r"^[—–-]\s*[^\n]{1,80}?\(@\w{1,30}\)\s*" + f"(?:{DATE_RE.pattern})", re.IGNORECASE)


def is_debris(line: str) -> bool:
    """True for short lines of page furniture.

    >>> [is_debris(s) for s in ["ARTICLE AD BOX", "Loading...", "Leave a Reply", "Rated 0 out of 5 stars."]]
    [True, True, True, True]
    >>> is_debris("Iran warns Azerbaijan over its growing ties with Israel.")
    False
    """
    text = line.strip().rstrip(".")
    if not text:
        return False
    if len(text.split()) > MAX_DEBRIS_WORDS and "pic.twitter.com" not in text:
        return False
    return bool(DEBRIS_RE.search(text)) or bool(DEBRIS_RE.search(line.strip()))


def strip_prefix(line: str) -> str:
    """Drop a byline or a tweet attribution glued to the start of a line.

    >>> strip_prefix("By ALEX WINSTON FEBRUARY 3, 2025 10:14Iran and Azerbaijan are at odds.")
    'Iran and Azerbaijan are at odds.'
    >>> strip_prefix('— Embassy (@AzEmb) February 2, 2025"Countries should," he said.')
    '"Countries should," he said.'
    >>> strip_prefix("By News Desk - November 02 2022")
    ''
    """
    for pattern in (BYLINE_RE, TWEET_ATTRIBUTION_RE):
        match = pattern.match(line)
        if match:
            return line[match.end():]
    return "" if BYLINE_ONLY_RE.match(line.strip()) else line


def script_of(text: str) -> str:
    """The writing system most letters of `text` belong to ('' when there are no letters).

    >>> script_of("أخبار المركز"), script_of("Hello"), script_of("12, 2023")
    ('ARABIC', 'LATIN', '')
    """
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "UNKNOWN").split(" ")[0]
            counts[name] = counts.get(name, 0) + 1
    return max(counts, key=counts.get) if counts else ""


def drop_foreign_header(lines: list[str], dominant: str) -> list[str]:
    """Remove short lines in another script above the first real paragraph (site menus)."""
    out: list[str] = []
    in_header = True
    for line in lines:
        words = len(line.split())
        if in_header and words >= 15 and script_of(line) == dominant:
            in_header = False
        if in_header and words and words < 25 and script_of(line) not in ("", dominant):
            continue
        out.append(line)
    return out


def clean(text: str) -> str:
    """Cleaned article text: debris lines removed, blank runs collapsed.

    >>> clean("Loading...\\nReal sentence one here.\\n\\n\\nLeave a Reply\\nMore text.")
    'Real sentence one here.\\n\\nMore text.'
    """
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = drop_foreign_header(lines, script_of(text))
    kept = [strip_prefix(line.strip()) if line.strip() else "" for line in lines]
    kept = ["" if is_debris(line) else line for line in kept]
    return _collapse_blank(kept)


def _collapse_blank(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
