"""Answer values (dates, amounts, counts, names, phrases): their parser, and how two values compare — the same
value in another form, the same value said more precisely, or a different value. The grammar values are written
in (dates, years, figures, number and scale words, currencies) is `text.grammar`'s.

>>> compare(parse("1 November 2022"), parse("Nov. 1, 2022")), compare(parse("$1.5 billion"), parse("1.5 bn dollars"))
('same', 'same')
>>> compare(parse("2022"), parse("1 November 2022")), compare(parse("1 November"), parse("November 2, 2022"))
('finer', 'differs')
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from text.grammar import (COUNT_PHRASE_RE, COUNT_WORDS, CURRENCY, CURRENCY_TOKEN_RE, DATE_RES, DAY_MONTH_RE,
                          ENGLISH_MONTHS, FIGURE_RE, ISO_DATE_RE, MONTH_DAY_RE, MONTH_YEAR_RE, SCALE, SCALE_AFTER_RE,
                          YEAR_ALONE_RE)
from text.sentences import split_sentences
from text.terms import STOPWORDS, stem

HONORIFICS = {"mr", "mrs", "ms", "dr", "sir", "president", "minister", "general", "king", "queen", "saint", "st",
              "prince", "lord", "lady", "professor", "prof", "jr", "sr"}


@dataclass(frozen=True)
class Value:
    """A value as stated (`text`) and in normal form: `kind` is date, amount, count, name or phrase;
    `parts` the comparable components, None where the text leaves one unsaid ('2022' has no month)."""

    kind: str
    text: str
    parts: tuple


def parse(text: str) -> Value:
    """The value a short answer states, in normal form.

    >>> parse("November 2, 2022").parts, parse("the 1990s").kind, parse("£2.5m").parts, parse("seven").parts
    ((2022, 11, 2), 'date', ('GBP', 2500000.0), (7.0,))
    >>> parse("Aqil Aslanov").parts, parse("the State Security Service").kind
    (('aqil', 'aslanov'), 'name')
    """
    clean = text.strip(" .,;:()\"'“”‘’")
    for reader in (_date, _amount, _count):
        value = reader(clean)
        if value is not None:
            return value
    words = re.findall(r"[\w’'-]+", clean)
    capitalised = [w for w in words if w[:1].isupper() or w[:1].isdigit()]
    if capitalised and len(capitalised) * 2 >= len([w for w in words if w.lower() not in STOPWORDS]):
        return Value("name", text, tuple(w.lower() for w in words if w.lower() not in STOPWORDS | HONORIFICS))
    return Value("phrase", text, tuple(sorted({stem(w.lower()) for w in words if w.lower() not in STOPWORDS})))


def _date(text: str) -> Value | None:
    """A whole or partial date: (year, month, day), with None for the parts not stated."""
    if m := ISO_DATE_RE.search(text):
        return Value("date", text, (int(m[1]), int(m[2]), int(m[3])))
    if m := DAY_MONTH_RE.search(text):
        return Value("date", text, (_int(m[3]), ENGLISH_MONTHS[m[2].lower()], int(m[1])))
    if m := MONTH_DAY_RE.search(text):
        if 1 <= int(m[2]) <= 31:
            return Value("date", text, (_int(m[3]), ENGLISH_MONTHS[m[1].lower()], int(m[2])))
    if m := MONTH_YEAR_RE.search(text):
        return Value("date", text, (int(m[2]), ENGLISH_MONTHS[m[1].lower()], None))
    if m := YEAR_ALONE_RE.match(text):
        return Value("date", text, (int(m[1]), None, None))
    return None


def date_values(text: str) -> list[tuple[int, int]]:
    """Where a text states a date in one of the ways `text.grammar.DATE_RES` reads (day, month and year as written
    together), as character offsets, without the comma or full stop that may follow a day.

    >>> s = "It opened on March 29, 2023, and closed on 1 November; rebuilt in May 2024."
    >>> [s[a:b] for a, b in date_values(s)]
    ['March 29, 2023', '1 November', 'May 2024']
    """
    found = [(m.start(), m.start() + len(m.group().rstrip(",."))) for regex in DATE_RES for m in regex.finditer(text)]
    return sorted((a, b) for a, b in found if not any(x <= a and b <= y and (x, y) != (a, b) for x, y in found))


def whole_date(text: str, start: int, end: int) -> tuple[int, int]:
    """The span [start, end) of `text` widened to the date it is part of ('March 29' or '2023' of
    'March 29, 2023'); unchanged when it is not inside a date.

    >>> s = "Azerbaijan opened its embassy on March 29, 2023."
    >>> [s[slice(*whole_date(s, s.find(w), s.find(w) + len(w)))] for w in ("March 29", "2023", "embassy")]
    ['March 29, 2023', 'March 29, 2023', 'embassy']
    """
    return next(((a, b) for a, b in date_values(text) if a <= start and end <= b), (start, end))


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _amount(text: str) -> Value | None:
    """Money: (currency, amount) — '$1.5 billion', '1.5 bn dollars', '€300,000'."""
    words = CURRENCY_TOKEN_RE.findall(text.lower())
    currency = next((CURRENCY[w] for w in words if w in CURRENCY), None)
    number = _number(text)
    if currency is None or number is None:
        return None
    return Value("amount", text, (currency, number))


def _count(text: str) -> Value | None:
    """A number, with or without a unit or a scale word: (amount,) — '765 km', '1,500', 'seven', '2.3 million'."""
    number = _number(text)
    return None if number is None else Value("count", text, (number,))


def _number(text: str) -> float | None:
    """The number a text states, its scale word applied ('1.5 bn' = 1.5e9), or None.

    >>> _number("1.5 bn dollars"), _number("$4.5m"), _number("some 300,000 people"), _number("twelve"), _number("a few")
    (1500000000.0, 4500000.0, 300000.0, 12.0, None)
    """
    lower = text.lower()
    m = FIGURE_RE.search(lower)
    if m:
        after = SCALE_AFTER_RE.match(lower[m.end():])
        scale = SCALE.get(after[1], 1.0) if after else 1.0
        return float(m[1].replace(",", "")) * scale
    words = COUNT_PHRASE_RE.findall(lower)
    found = [COUNT_WORDS[w] for w in words if w in COUNT_WORDS]
    return float(found[0]) if found else None


def compare(a: Value, b: Value) -> str:
    """How `b` stands to `a`: 'same' value, 'finer' (b states it more precisely), 'coarser', 'differs', or
    'unlike' (values of different kinds, which this grammar does not compare).

    >>> compare(parse("1.5 million"), parse("1,523,000")), compare(parse("765 km"), parse("765 kilometers"))
    ('finer', 'same')
    >>> compare(parse("Aslanov"), parse("Aqil Aslanov")), compare(parse("Aqil Aslanov"), parse("Alderic Venn"))
    ('finer', 'differs')
    >>> compare(parse("1998"), parse("Vikings")), compare(parse("1794"), parse("4027")), compare(parse("1,500"), parse("1500"))
    ('unlike', 'differs', 'same')
    """
    a, b = _as_count(a, b), _as_count(b, a)
    if a.kind != b.kind:
        return "unlike"
    if a.kind == "date":
        return _parts_relation(a.parts, b.parts)
    if a.kind in ("amount", "count"):
        if a.parts[:-1] != b.parts[:-1]:
            return "differs"
        return _number_relation(a.parts[-1], b.parts[-1])
    return _words_relation(set(a.parts), set(b.parts))


def _as_count(value: Value, other: Value) -> Value:
    """A bare year read as a number when the other value is one ('1500' beside '1,500', '1794' beside '4027')."""
    if value.kind == "date" and other.kind == "count" and value.parts[1:] == (None, None):
        return Value("count", value.text, (float(value.parts[0]),))
    return value


def _parts_relation(a: tuple, b: tuple) -> str:
    """Dates: every component both state must agree; the one that states more is finer."""
    if any(x is not None and y is not None and x != y for x, y in zip(a, b)):
        return "differs"
    said_a, said_b = sum(x is not None for x in a), sum(y is not None for y in b)
    if all((x is None) == (y is None) for x, y in zip(a, b)):
        return "same"
    return "finer" if said_b >= said_a else "coarser"


def _number_relation(a: float, b: float) -> str:
    """Numbers: equal, or equal once the finer one is rounded to the other's significant digits.

    >>> _number_relation(1500000.0, 1523000.0), _number_relation(1523000.0, 1500000.0), _number_relation(765.0, 98.0)
    ('finer', 'coarser', 'differs')
    """
    if a == b:
        return "same"
    if _rounds_to(b, a):
        return "finer"
    if _rounds_to(a, b):
        return "coarser"
    return "differs"


def _rounds_to(fine: float, coarse: float) -> bool:
    """Whether `fine`, rounded to the significant digits `coarse` is written with, is `coarse`."""
    significant = max(1, len(f"{abs(coarse):.15g}".replace(".", "").strip("0")))
    return f"{fine:.{significant}g}" == f"{coarse:.{significant}g}" and fine != coarse


def _words_relation(a: set, b: set) -> str:
    """Names and phrases: the same words, or one's words inside the other's (the longer is finer)."""
    if a == b:
        return "same"
    if not a or not b:
        return "unlike"
    if a < b:
        return "finer"
    if b < a:
        return "coarser"
    return "differs"


ANSWER_VALUES = {"date": {"date"}, "number": {"count"}, "money": {"amount", "count"}, "person": {"name"},
                 "place": {"name"}}   # the values that answer each kind of question (`text.questions.answer_type`)


def answer_values(kind: str) -> set[str] | None:
    """The kinds of value that answer a kind of question; None (any value) for 'why' and other questions,
    whose answer is a sentence rather than a value.

    >>> sorted(answer_values("money")), answer_values("reason")
    (['amount', 'count'], None)
    """
    return ANSWER_VALUES.get(kind)


def restated_otherwise(a: str, b: str, kinds: set[str] | None = None) -> bool:
    """Whether a sentence of `b` states a sentence of `a` with other values: the same sentence but for a few
    runs of words, at least one of them a value (a date, number, amount or name; of `kinds` when given).

    >>> restated_otherwise("It opened. The border is 765 km long.", "The border is 098 km long. It opened.")
    True
    >>> restated_otherwise("The border is 765 km long.", "Republished. The border is 765 km long.")
    False
    >>> restated_otherwise("The border, officials said, is 765 km long.", "The border, officials stated, is 765 km long.")
    False
    >>> restated_otherwise("Tehran accuses Baku (3) of it.", "Tehran accuses Baku (4) of it.", kinds={"name"})
    False
    """
    return bool(restated_sentences(a, b, kinds))


def restated_sentences(a: str, b: str, kinds: set[str] | None = None, skip: frozenset[int] = frozenset()) -> list[int]:
    """The sentences of `a` (by position, those in `skip` left out) that a sentence of `b` states with other
    values (of `kinds` when given), and `b` does not also state unchanged.

    >>> restated_sentences("It opened in 1794. The border is 765 km.", "It opened in 1794. The border is 098 km.")
    [1]
    """
    ours = [a[i:j] for i, j in split_sentences(a)]
    said = {b[i:j] for i, j in split_sentences(b)}
    theirs = said - set(ours)
    return [k for k, x in enumerate(ours) if k not in skip and x not in said and
            any(value_changed(changed_runs(x, y), kinds) for y in theirs)]


def value_changed(runs: list[tuple[str, str]], kinds: set[str] | None = None) -> bool:
    """Whether one of the changed runs is a value (a date, number, amount or name) on either side, not an
    edit of wording; with `kinds`, whether one is a value of those kinds on both sides (one such value
    replaced by another: 'Azerbaijani' turned into 'Azerbaijan (4)i' disputes no name).

    >>> value_changed([("said", "stated")]), value_changed([("765", "098")]), value_changed([("toxic waste", "Venn")])
    (False, True, True)
    >>> value_changed([("3", "4")], kinds={"name"}), value_changed([("Rollo", "Venn")], kinds={"name"})
    (False, True)
    >>> value_changed([("Azerbaijani", "Azerbaijan (4)i")], kinds={"name"})
    False
    """
    if kinds is None:
        return any(is_value(x) or is_value(y) for x, y in runs)
    return any(is_value(x, kinds) and is_value(y, kinds) for x, y in runs)


def is_value(text: str, kinds: set[str] | None = None) -> bool:
    """Whether a text is a value (of `kinds` when given) rather than a phrase.

    >>> is_value("1794"), is_value("the old town"), is_value("(3)", {"date"})
    (True, False, False)
    """
    kind = parse(text).kind
    return kind != "phrase" and (kinds is None or kind in kinds)


MAX_CHANGED_RUNS = 3     # more changed runs than this make another sentence, not another value
MIN_SHARED_WORDS = 4     # ... and so does sharing fewer words than this (or than half the sentence)


def changed_runs(a: str, b: str) -> list[tuple[str, str]]:
    """When two sentences are the same but for a few runs of words replaced (at most MAX_CHANGED_RUNS, with at
    least MIN_SHARED_WORDS words and half the sentence shared), those runs as (in a, in b); else [].

    >>> changed_runs("The border is 765 km long.", "The border is 098 km long.")
    [('765', '098')]
    >>> changed_runs("Rollo led the Vikings from Rouen.", "Alderic Venn led the Vikings from Rouen.")
    [('Rollo', 'Alderic Venn')]
    >>> changed_runs("Rollo led the Vikings.", "Rollo led the Vikings.")
    []
    >>> changed_runs("Rollo led the Vikings in 911.", "Hastein sailed south in 860.")
    []
    """
    return [(a[i:j], b[k:m]) for i, j, k, m in changed_spans(a, b)]


def changed_spans(a: str, b: str) -> list[tuple[int, int, int, int]]:
    """The runs of `changed_runs` as offsets: (start, end) in `a`, then (start, end) in `b`.

    >>> changed_spans("The border is 765 km long.", "The border is 098 km long.")
    [(14, 17, 14, 17)]
    """
    (ta, wa, ca), (tb, wb, cb) = _words(a), _words(b)
    if sum((ca & cb).values()) < max(MIN_SHARED_WORDS, len(wa) / 2):     # too few words shared, at best
        return []
    blocks = [op for op in SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes() if op[0] != "equal"]
    changed = sum(i2 - i1 for _, i1, i2, _, _ in blocks)
    if not blocks or len(blocks) > MAX_CHANGED_RUNS or len(wa) - changed < max(MIN_SHARED_WORDS, len(wa) / 2):
        return []
    if any(i2 == i1 or j2 == j1 for _, i1, i2, j1, j2 in blocks):     # words only added or removed: no value
        return []
    return [(ta[i1][0], ta[i2 - 1][1], tb[j1][0], tb[j2 - 1][1]) for _, i1, i2, j1, j2 in blocks]


def only_added(a: str, b: str) -> bool:
    """Whether `b` is `a` with words only added or removed (or none): the same statement, no value changed
    ('in 1760' / 'in 1760 AD'), as opposed to another sentence or a copy with a run replaced.

    >>> only_added("Montreal fell in 1760.", "Montreal fell in 1760 AD."), only_added("It fell in 1760.", "It fell in 1761.")
    (True, False)
    >>> only_added("Montreal fell in 1760.", "Quebec was taken by the British in 1759 after a siege.")
    False
    """
    (_, wa, ca), (_, wb, cb) = _words(a), _words(b)
    if sum((ca & cb).values()) < max(MIN_SHARED_WORDS, len(wa) / 2, len(wb) / 2):
        return False
    blocks = [op for op in SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes() if op[0] != "equal"]
    return all(i2 == i1 or j2 == j1 for _, i1, i2, j1, j2 in blocks)


PIECE_RE = re.compile(r"[$£€]?\d[\d,.]*\d%?|[$£€]?\d%?|\w+|[^\w\s]")   # `text.terms.TOKEN_RE`, words split at - and ’


@lru_cache(maxsize=4096)
def _words(sentence: str) -> tuple[list[tuple[int, int]], list[str], Counter]:
    """A sentence's tokens as compared (spans, words, the words' counts): numbers, punctuation and words, a
    hyphenated or possessive word in pieces, so that a word added inside one ('Azerbaijan (2)-Israel',
    'Azerbaijan (2)’s') is seen as added, not as another value.

    >>> _words("Azerbaijan’s Azerbaijan-Israel ties, $4.5m")[1]
    ['Azerbaijan', '’', 's', 'Azerbaijan', '-', 'Israel', 'ties', ',', '$4.5', 'm']
    """
    spans = [m.span() for m in PIECE_RE.finditer(sentence)]
    words = [sentence[i:j] for i, j in spans]
    return spans, words, Counter(words)
