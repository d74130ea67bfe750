"""Checks of the chat settings a person typed (no gradio here)."""
from __future__ import annotations

import datetime
import re

from core.errors import BadSetting


def day(text: str | None, label: str) -> str | None:
    """An ISO date from a text field, None when empty; BadSetting names the field otherwise.

    >>> day(" 2025-02-03 ", "date from"), day("", "date from")
    ('2025-02-03', None)
    >>> day("3 Feb", "date from")
    Traceback (most recent call last):
    core.errors.BadSetting: date from must be a date like 2025-02-03, not '3 Feb'
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise BadSetting(f"{label} must be a date like 2025-02-03, not {text!r}", label) from None


def date_range(since: str | None, until: str | None,
               labels: tuple[str, str] = ("date from", "date to")) -> tuple[str | None, str | None]:
    """Both dates checked, and in order (`labels` name the two fields in a message).

    >>> date_range("2025-01-01", "")
    ('2025-01-01', None)
    >>> date_range("2025-02-01", "2025-01-01")
    Traceback (most recent call last):
    core.errors.BadSetting: date from (2025-02-01) is after date to (2025-01-01)
    """
    first, last = day(since, labels[0]), day(until, labels[1])
    if first and last and first > last:
        raise BadSetting(f"{labels[0]} ({first}) is after {labels[1]} ({last})", labels[0])
    return first, last


def passages(value: float | int | None, default: int) -> int:
    """The number of passages as a whole number of at least 1.

    >>> passages(4.0, 6), passages(None, 6), passages(0, 6)
    (4, 6, 1)
    """
    return max(1, int(value)) if value is not None else default
