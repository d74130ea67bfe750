"""Short answers: the span of the chosen sentence that answers the question ('765 km', 'Croatia', '1794').

Every run of up to MAX_TOKENS words of the sentence is a candidate; the learned
span model (`rag.evidence.model`) scores them with the features below: its shape
(capitalised, a number, a year, a date), the kind of answer the question asks
for, whether it repeats the question, and how near it stands to the question's
words in the sentence.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property

from rag.evidence.features import KINDS, Features, Question
from text.entities import PATTERNS
from text.grammar import MONTH_WORD_RE, YEAR_WORD_RE
from text.terms import STOPWORDS, stem, tokens, whole_words
from text.values import parse, whole_date

MAX_TOKENS = 8
DATE_PARTS = {"year": 0, "month": 1, "day": 2}   # 'what year ...?' names the part of a date it wants
PREPOSITIONS = {"in", "on", "at", "by", "of", "from", "to", "for", "with", "as", "into", "during", "after", "before"}
MONTH_RE = MONTH_WORD_RE          # a word that is a month name (`text.grammar`)
NUMBER_TAILS = {"million", "billion", "thousand", "hundred", "percent", "%"}
SHAPES = ["capitalised", "digit", "year", "month", "typed", "len1", "len2", "len3", "len4", "len6", "after_preposition",
          "repeats", "holds_typed", "untyped_words", "cuts_left", "cuts_right"]
YEAR_WORD = YEAR_WORD_RE          # a word that is a year (`text.grammar`)


def span_candidates(sentence: str, toks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(first, last + 1) token ranges that could be an answer: words only (a comma only before a year,
    as in 'June 6, 1944'), not opening or closing with a function word.

    >>> s = "Rollo was the leader of the Vikings."
    >>> [s[tokens(s)[i][0]:tokens(s)[j - 1][1]] for i, j in span_candidates(s, tokens(s))][:4]
    ['Rollo', 'Rollo was the leader', 'Rollo was the leader of the Vikings', 'leader']
    """
    words = [sentence[a:b] for a, b in toks]
    out = []
    for i, first in enumerate(words):
        if not _word(first) or first.lower() in STOPWORDS:
            continue
        for j in range(i, min(len(words), i + MAX_TOKENS)):
            if not _word(words[j]) and not (words[j] == "," and j + 1 < len(words) and words[j + 1].isdigit()):
                break
            if _word(words[j]) and words[j].lower() not in STOPWORDS:
                out.append((i, j + 1))
    return out


def _word(token: str) -> bool:
    return bool(re.match(r"[\w$£€]", token))


@dataclass
class SpanView:
    """One candidate span (tokens i..j-1 of the sentence) as its features read it."""

    q: Question
    sentence: str
    toks: list[tuple[int, int]]
    stems: list[str]
    i: int
    j: int

    @cached_property
    def text(self) -> str:
        return self.sentence[self.toks[self.i][0]:self.toks[self.j - 1][1]]

    @cached_property
    def inside(self) -> list[str]:
        """The stems of the span's words (no stopwords)."""
        return [s for s in self.stems[self.i:self.j] if s]

    @cached_property
    def repeat(self) -> float:
        """Share of the span's words the question uses."""
        return sum(1 for s in self.inside if s in self.q.weights) / len(self.inside) if self.inside else 0.0

    @cached_property
    def hits(self) -> list[int]:
        """Where the question's terms stand in the sentence, outside the span."""
        return [k for k, s in enumerate(self.stems) if s in self.q.weights and not self.i <= k < self.j]

    @cached_property
    def shape(self) -> list[float]:
        words = [self.sentence[a:b] for a, b in self.toks[self.i:self.j]]
        return _shape(self.q, self.text, words, self.i, self.toks, self.sentence, self.repeat)

    def at(self, k: int) -> str:
        return _at(self.sentence, self.toks, k)


SPAN = Features("span")
span_feature = SPAN.feature
SPAN.group(*SHAPES)(lambda v: v.shape)


@span_feature("repeat_share")
def _repeat_share(v: SpanView) -> float:
    return v.repeat


@span_feature("distance")
def _distance(v: SpanView) -> float:
    """How far (in words, log) the nearest question term stands from the span."""
    return math.log1p(min((v.i - k if k < v.i else k - v.j + 1 for k in v.hits), default=len(v.stems)))


@span_feature("near_terms")
def _near_terms(v: SpanView) -> float:
    return sum(1 for k in v.hits if v.i - 4 <= k < v.j + 4) / 4


@span_feature("after_term")
def _after_term(v: SpanView) -> float:
    return float(v.i > 0 and v.stems[v.i - 1] in v.q.weights)


@span_feature("before_term")
def _before_term(v: SpanView) -> float:
    return float(v.j < len(v.stems) and v.stems[v.j] in v.q.weights)


@span_feature("after_article")
def _after_article(v: SpanView) -> float:
    return float(v.at(v.i - 1).lower() in ("the", "a", "an"))


@span_feature("before_comma")
def _before_comma(v: SpanView) -> float:
    return float(v.at(v.j) == ",")


@span_feature("before_end")
def _before_end(v: SpanView) -> float:
    return float(v.at(v.j) in (".", "", ";"))


@span_feature("in_brackets")
def _in_brackets(v: SpanView) -> float:
    return float(v.at(v.i - 1) == "(" or v.at(v.j) == ")")


@span_feature("opens_sentence")
def _opens_sentence(v: SpanView) -> float:
    return float(v.i == 0)


@span_feature("head_beside")
def _head_beside(v: SpanView) -> float:
    """The noun the question names ('which country') stands just before or after the span."""
    return float(bool(v.q.head) and v.q.head in v.stems[max(0, v.i - 2):v.i] + v.stems[v.j:v.j + 2])


@span_feature("head_inside")
def _head_inside(v: SpanView) -> float:
    return float(bool(v.q.head) and v.q.head in v.inside)


@SPAN.group(*[f"{k}*{s}" for k in KINDS for s in SHAPES])
def _kind_shapes(v: SpanView) -> list[float]:
    """Each shape feature again, for the kind of answer the question asks (0 for the other kinds)."""
    return [s if v.q.kind == k else 0.0 for k in KINDS for s in v.shape]


SPAN_FEATURES = SPAN.names


def span_features(q: Question, sentence: str, toks: list[tuple[int, int]], stems: list[str],
                  span: tuple[int, int]) -> list[float]:
    """The feature row of one candidate span (names in SPAN.names)."""
    return SPAN.row(SpanView(q, sentence, toks, stems, *span))


def _shape(q: Question, text: str, words: list[str], i: int, toks, sentence: str, repeat: float) -> list[float]:
    content = [w for w in words if w.lower() not in STOPWORDS]
    n = len(words)
    kind = q.kind if q.kind in ("money", "date", "number") else "entity"
    matches = list(PATTERNS[kind].finditer(text))
    typed = any(m.group() == text or (m.start() <= 0 and m.end() >= len(text)) for m in matches)
    return [float(all(w[:1].isupper() for w in content) and (i > 0 or n > 1)),
            float(any(c.isdigit() for c in text)), float(any(YEAR_WORD.match(w) for w in words)),
            float(any(MONTH_RE.match(w) for w in words)), float(typed),
            float(n == 1), float(n == 2), float(n == 3), float(4 <= n <= 5), float(n >= 6),
            float(_at(sentence, toks, i - 1).lower() in PREPOSITIONS), float(repeat > 0),
            *_parts(kind, text, content, matches), *_cuts(sentence, toks, i, i + n)]


def _parts(kind: str, text: str, content: list[str], matches: list[re.Match]) -> tuple[float, float]:
    """Whether the span holds a value of the asked kind (a year counts as a date), and how many of its
    content words (a share of four) lie outside every such value: the answer is the value, not the value
    with its neighbours ('1712', not 'Thomas Newcomen around 1712').

    >>> _parts("date", "Newcomen around 1712", ["Newcomen", "around", "1712"], [])
    (1.0, 0.5)
    """
    inside = " ".join(m.group() for m in matches) + (" " + " ".join(w for w in content if YEAR_WORD.match(w))
                                                     if kind == "date" else "")
    held = set(inside.split())
    outside = sum(1 for w in content if w not in held)
    return float(bool(held)), min(outside, 4) / 4


def _cuts(sentence: str, toks: list[tuple[int, int]], i: int, j: int) -> tuple[float, float]:
    """Whether the span starts or ends inside a run of capitalised words or numbers (a name or figure cut
    in two: 'Newcomen' of 'Thomas Newcomen', '1.5' of '1.5 million').

    >>> s = "It was Thomas Newcomen in 1712."
    >>> _cuts(s, tokens(s), 3, 4), _cuts(s, tokens(s), 2, 4)
    ((1.0, 0.0), (0.0, 0.0))
    """
    def joined(a: str, b: str) -> bool:
        return (a[:1].isupper() and b[:1].isupper()) or (a[:1].isdigit() and (b[:1].isdigit() or b in NUMBER_TAILS))
    return (float(i > 0 and joined(_at(sentence, toks, i - 1), _at(sentence, toks, i))),
            float(joined(_at(sentence, toks, j - 1), _at(sentence, toks, j))))


def _at(sentence: str, toks: list[tuple[int, int]], k: int) -> str:
    return sentence[toks[k][0]:toks[k][1]] if 0 <= k < len(toks) else ""


def token_stems(sentence: str, toks: list[tuple[int, int]]) -> list[str]:
    """The stem of every word token ('' for stopwords and punctuation), for matching the question's terms.

    >>> s = "The borders were closed."
    >>> token_stems(s, tokens(s))
    ['', 'border', '', 'clos', '']
    """
    out = []
    for a, b in toks:
        word = sentence[a:b].lower()
        out.append("" if word in STOPWORDS or not re.match(r"\w", word) else stem(word))
    return out


def span_text(sentence: str, toks: list[tuple[int, int]], span: tuple[int, int], head: str = "") -> tuple[int, int]:
    """Character offsets of a token range in the sentence, widened to the whole date it is part of (a date
    with its year), unless it states the part of a date the question names (`head` 'year', 'month', 'day').

    >>> s = "Azerbaijan opens its embassy on March 29, 2023."
    >>> [s[slice(*span_text(s, tokens(s), (5, 7), head))] for head in ("", "day", "year")]
    ['March 29, 2023', 'March 29', 'March 29, 2023']
    >>> s[slice(*span_text(s, tokens(s), (8, 9), "year"))], s[slice(*span_text(s, tokens(s), (3, 4)))]
    ('2023', 'embassy')
    >>> t = "It marked the 30th anniversary."
    >>> t[slice(*span_text(t, tokens(t), (4, 5)))]     # the token 'th' of '30th': the whole word
    '30th'
    """
    start, end = whole_words(sentence, toks[span[0]][0], toks[span[1] - 1][1])
    value = parse(sentence[start:end])
    if head in DATE_PARTS and value.kind == "date" and value.parts[DATE_PARTS[head]] is not None:
        return start, end
    return whole_date(sentence, start, end)
