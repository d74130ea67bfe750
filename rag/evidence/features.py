"""Features of the learned offline answerer: what a question asks, and how well a sentence or a span answers it.

Everything here is pure and general: IDF-weighted term coverage, word order, the
question's years, numbers, ordinals and role words checked against the sentence
and its neighbours, the evidence of the answer type, the passage's retrieval
rank and similarity. No weight lives here; `rag.evidence.model` holds the weights
a script (`rag train`, `learn/`) learned from public data. The same functions
compute the training rows and the features at question time, so the two cannot
drift apart.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from core.records import Chunk, ScoredChunk
from text.entities import PATTERNS
from text.grammar import NUMBER_RE, ORDINAL_RE, YEAR_RE
from text.questions import answer_type, key_entities, question_terms, relation_word
from text.sentences import split_sentences
from text.terms import STOPWORDS, stem, terms

KINDS = ("money", "date", "number", "person", "place", "reason", "other")
TYPED = ("money", "date", "number", "person", "place")
MAX_SENTENCE_CHARS = 1000   # of a sentence that is scored: a 100 kB run without a full stop is not read whole
ORDINALS = {"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "last", "final", "largest", "biggest", "smallest", "oldest", "earliest", "latest", "highest", "lowest"}
AUXILIARIES = set("is are was were do does did has have had can could will would should may might must be been".split())
HEAD_RE = re.compile(r"\b(?:what|which|whose|how many|how much)\s+(?:kind of |type of |sort of |form of )?([a-z]+)", re.I)
REASON_RE = re.compile(r"\b(because|due to|as a result|in order to|so that|since|caus\w*|reason\w*|lead to|led to|"
                       r"result\w*|owing to|thanks to)\b", re.I)


class Features:
    """An ordered set of named features: each is one function of a view, registered under its name (or one
    function giving several named values, a `group`); a row is every value in registration order, so a row
    and its names cannot drift apart.

    >>> demo = Features("demo")
    >>> @demo.feature("length")
    ... def _length(text): return float(len(text))
    >>> demo.add("shouts", lambda text: float(text.isupper()))
    >>> @demo.group("has_a", "has_b")
    ... def _letters(text): return [float("a" in text), float("b" in text)]
    >>> demo.names, demo.row("ABC"), demo.values("ab")
    (['length', 'shouts', 'has_a', 'has_b'], [3.0, 1.0, 0.0, 0.0], {'length': 2.0, 'shouts': 0.0, 'has_a': 1.0, 'has_b': 1.0})
    """

    def __init__(self, what: str):
        self.what = what
        self.names: list[str] = []
        self.functions: list[tuple[Callable, bool]] = []     # (function, whether it gives a list of values)

    def add(self, name: str, function: Callable[..., float]) -> None:
        self._name(name)
        self.functions.append((function, False))

    def feature(self, name: str):
        """Register the decorated function as the feature `name` (appended: the row's last column)."""
        def register(function):
            self.add(name, function)
            return function
        return register

    def group(self, *names: str):
        """Register the decorated function, which returns one value per name, as the features `names`."""
        def register(function):
            for name in names:
                self._name(name)
            self.functions.append((function, True))
            return function
        return register

    def _name(self, name: str) -> None:
        if name in self.names:
            raise ValueError(f"{self.what} feature {name!r} is defined twice")
        self.names.append(name)

    def row(self, view) -> list[float]:
        out: list[float] = []
        for function, many in self.functions:
            if many:
                out.extend(function(view))
            else:
                out.append(function(view))
        return out

    def values(self, view) -> dict[str, float]:
        return dict(zip(self.names, self.row(view)))


@dataclass(frozen=True)
class Question:
    """What a question asks, read once: its kind, weighted terms, bigrams, years, numbers, ordinals and role words."""

    text: str
    kind: str
    weights: dict[str, float]
    bigrams: frozenset[tuple[str, str]]
    years: frozenset[str]
    numbers: frozenset[str]
    ordinals: frozenset[str]
    relation: str
    head: str
    keys: frozenset[str]
    unknown: int                 # key terms of the question the corpus never uses
    max_idf: float = 1.0         # the scale of `weights`: the IDF of a term the reference has never seen

    @property
    def asked(self) -> frozenset[str]:
        """The terms that say what the question is about: its names and numbers (`keys`), else all its terms.
        A passage may restate the rest in other words ('affiliated with' / 'funded by'), not the names."""
        return self.keys or frozenset(self.weights)


def analyse(question: str, query: str, idf: Callable[[str], float], max_idf: float,
            known: Callable[[str], bool] | None = None) -> Question:
    """Read `question` (its kind, years, role words) and `query` (the standalone form: its terms, weighted by
    `idf`, the reference rarity of `rag.evidence.reference`, fixed whatever the folder holds). `known` says
    whether the folder uses a term at all: the question's key terms it never uses are counted (`unknown`).

    >>> q = analyse("Who won the second title in 1998?", "Who won the second title in 1998?", lambda t: 1.0, 9.0)
    >>> q.kind, sorted(q.years), sorted(q.ordinals), sorted(q.weights)
    ('person', ['1998'], ['second'], ['1998', 'second', 'titl', 'win'])
    >>> analyse("Did Rollo win?", "Did Rollo win?", lambda t: 1.0, 9.0, known=lambda t: t != "rollo").unknown
    1
    """
    q_terms = question_terms(query)
    years = frozenset(YEAR_RE.findall(question))
    keys = frozenset(key_entities(query))
    unknown = sum(1 for t in keys if known is not None and not known(t) and not t.isdigit())
    return Question(
        question, answer_type(question), {t: idf(t) for t in q_terms}, frozenset(zip(q_terms, q_terms[1:])),
        years, frozenset(n for n in NUMBER_RE.findall(question) if n not in years), ordinals(question),
        relation_word(question), head_noun(question), keys, unknown, max_idf)


def ordinals(text: str) -> frozenset[str]:
    """Ordinal and superlative words of a text ('second', '3rd', 'largest').

    >>> sorted(ordinals("The 3rd and the largest, first of all"))
    ['3rd', 'first', 'largest']
    """
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)} & ORDINALS
    return frozenset(words | {m.lower() for m in ORDINAL_RE.findall(text)})


def head_noun(question: str) -> str:
    """The noun a 'what X / which X / how many X' question names (stemmed), the kind of thing wanted.

    >>> head_noun("Which country won the cup?"), head_noun("What is the capital?"), head_noun("How many people died?")
    ('countr', '', 'peopl')
    """
    match = HEAD_RE.search(question)
    word = match.group(1).lower() if match else ""
    return "" if not word or word in AUXILIARIES or word in STOPWORDS else stem(word)


@dataclass
class Candidate:
    """One sentence of a retrieved passage, with its offsets in the document and its scores."""

    chunk: Chunk
    rank: int
    start: int
    end: int
    text: str
    context: str = ""
    position: int = 0
    chunk_similarity: float = 0.0
    dense: float | None = None
    maxsim: float = 0.0          # late interaction of the question's word pieces with the sentence's
    minsim: float = 0.0          # ... of the question's least-matched word piece
    score: float = 0.0           # the learned sentence score (a logit)
    features: list[float] = field(default_factory=list)


def candidates(ranked: list[ScoredChunk]) -> list[Candidate]:
    """Every sentence of the retrieved chunks once (its first MAX_SENTENCE_CHARS), with offsets into its document."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for rank, scored in enumerate(ranked):
        chunk = scored.chunk
        spans = split_sentences(chunk.text, offset=chunk.start)
        for i, (start, end) in enumerate(spans):
            if (chunk.source, start) in seen:
                continue
            seen.add((chunk.source, start))
            end = start + bounded(chunk.text[start - chunk.start:end - chunk.start])
            around = spans[max(0, i - 1):i + 2]
            context = chunk.text[around[0][0] - chunk.start:around[-1][1] - chunk.start]
            out.append(Candidate(chunk, rank, start, end, chunk.text[start - chunk.start:end - chunk.start], context,
                                 i, scored.similarity))
    return out


def bounded(sentence: str, limit: int = MAX_SENTENCE_CHARS) -> int:
    """Length of the verbatim prefix of `sentence` that is scored: all of it up to `limit` characters,
    else up to the last space before the limit (or the limit itself when there is none).

    >>> bounded("Short."), bounded("aaa bbb ccc", limit=9), bounded("x" * 20, limit=9)
    (6, 7, 9)
    """
    if len(sentence) <= limit:
        return len(sentence)
    space = sentence.rfind(" ", 0, limit + 1)
    return space if space > 0 else limit


def coverage(weights: dict[str, float], found: set[str]) -> float:
    """Weighted share of the question's terms found in a text.

    >>> coverage({"tamar": 2.0, "stake": 1.0}, {"tamar", "gas"})
    0.6666666666666666
    """
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in found) / total if total else 0.0


def agreement(asked: frozenset[str], sentence: str, context: str, pattern: re.Pattern | None = None) -> float:
    """+1 when the sentence's neighbourhood states what the question names (its year, number, ordinal),
    -1 when the sentence states another one of the same sort instead, 0 when the question names none.

    >>> agreement(frozenset({"2018"}), "She won in 2023.", "She won in 2023.", YEAR_RE)
    -1.0
    >>> agreement(frozenset({"2018"}), "She won.", "In 2018 the final was held. She won.", YEAR_RE)
    1.0
    """
    if not asked:
        return 0.0
    lowered = context.lower()
    if all(re.search(rf"\b{re.escape(a.lower())}\b", lowered) for a in asked):
        return 1.0
    return -1.0 if pattern is not None and pattern.search(sentence) else -0.5


def proximity(q_terms: set[str], sentence_terms: list[str]) -> float:
    """How close together the question's terms stand in the sentence: matched terms over the window they span.

    >>> proximity({"border", "long"}, ["border", "long", "km", "river"]), proximity({"a", "b"}, ["a", "x", "x", "b"])
    (1.0, 0.5)
    """
    at = [i for i, t in enumerate(sentence_terms) if t in q_terms]
    return len(at) / (at[-1] - at[0] + 1) if at else 0.0


def typed(text: str, kind: str) -> bool:
    """Whether a text holds something of the kind asked for (a date for 'when', a name for 'who' ...).

    >>> typed("It opened in 1794.", "date"), typed("It opened.", "date"), typed("The winner was Croatia.", "person")
    (True, False, True)
    >>> typed("Croatia lost.", "person"), typed("Real Madrid lost.", "person")   # a lone opening word is no name
    (False, True)
    """
    if kind not in TYPED:
        return False
    pattern = PATTERNS["entity" if kind in ("person", "place") else kind]
    return any(m.start() > 0 or " " in m.group() or kind not in ("person", "place") for m in pattern.finditer(text))


def maxsim(question_rows, sentence_rows) -> tuple[float, float]:
    """Late interaction (as ColBERT): each word piece of the question finds its most similar word piece of
    the sentence; the mean of those cosines, and the lowest (a question word nothing in the sentence matches,
    as when an unanswerable question changes one name or term).

    >>> import numpy as np
    >>> [round(x, 3) for x in maxsim(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [0.6, 0.8]]))]
    [0.9, 0.8]
    """
    if len(question_rows) == 0 or len(sentence_rows) == 0:
        return 0.0, 0.0
    best = (question_rows.astype("float32") @ sentence_rows.astype("float32").T).max(axis=1)
    return float(best.mean()), float(best.min())


def local_weights(q: Question, cands: list[Candidate]) -> dict[str, float]:
    """The question's terms weighted by how few of the candidate sentences hold them: a term every
    retrieved sentence shares (the topic) tells them apart less than one only a few hold.

    >>> q = analyse("When did Rollo attack Paris?", "When did Rollo attack Paris?", lambda t: 1.0, 9.0)
    >>> cs = [Candidate(None, 0, 0, 0, t) for t in ("Rollo attacked Paris.", "Rollo was a Viking.")]
    >>> {t: round(w, 2) for t, w in local_weights(q, cs).items()}
    {'rollo': 0.18, 'attack': 0.69, 'pari': 0.69}
    """
    found = [set(terms(c.text)) for c in cands]
    n = len(found)
    return {t: math.log((n + 1) / (sum(t in f for f in found) + 0.5)) for t in q.weights}


def bm25(q: Question, sentence_terms: list[str], average: float, k1: float = 1.2, b: float = 0.75) -> float:
    """BM25 of a sentence for the question's terms, over the sum of their weights (0..~2.2).

    >>> q = analyse("border length", "border length", lambda t: 1.0, 9.0)
    >>> round(bm25(q, ["border", "border", "river"], 3.0), 3)
    0.688
    """
    total = sum(q.weights.values()) or 1.0
    norm = k1 * (1 - b + b * len(sentence_terms) / max(average, 1.0))
    score = 0.0
    for t, w in q.weights.items():
        tf = sentence_terms.count(t)
        score += w * tf * (k1 + 1) / (tf + norm) if tf else 0.0
    return score / total


@dataclass(frozen=True)
class Pool:
    """What is known of all the candidates of one question: local term weights, the mean sentence length."""

    local: dict[str, float]
    average: float

    @classmethod
    def of(cls, q: Question, cands: list[Candidate]) -> "Pool":
        lengths = [len(terms(c.text)) for c in cands]
        return cls(local_weights(q, cands), sum(lengths) / len(lengths) if lengths else 1.0)


@dataclass
class Sentence:
    """One candidate sentence as its features read it: the question, the candidate, the pool of its question's
    candidates, and the sentence's terms, its neighbourhood's and its passage's (each computed once)."""

    q: Question
    cand: Candidate
    pool: Pool
    idf: Callable[[str], float]
    max_idf: float

    @cached_property
    def own_list(self) -> list[str]:
        return terms(self.cand.text)

    @cached_property
    def own(self) -> set[str]:
        return set(self.own_list)

    @cached_property
    def near(self) -> set[str]:
        return set(terms(self.cand.context))

    @cached_property
    def new(self) -> list[str]:
        """The sentence's terms the question does not use."""
        return [t for t in self.own if t not in self.q.weights]


SENTENCE = Features("sentence")
sentence_feature = SENTENCE.feature
# the share of the question's (IDF-weighted) terms in the sentence, its neighbourhood, its passage, its title
SENTENCE.add("coverage", lambda s: coverage(s.q.weights, s.own))
SENTENCE.add("coverage_context", lambda s: coverage(s.q.weights, s.near))
SENTENCE.add("coverage_passage", lambda s: coverage(s.q.weights, set(terms(s.cand.chunk.text))))
SENTENCE.add("coverage_title", lambda s: coverage(s.q.weights, set(terms(s.cand.chunk.title or ""))))


@sentence_feature("bigrams")
def _bigrams(s: Sentence) -> float:
    """Share of the question's word pairs the sentence holds in the same order."""
    pairs = set(zip(s.own_list, s.own_list[1:]))
    return len(s.q.bigrams & pairs) / len(s.q.bigrams) if s.q.bigrams else 0.0


@sentence_feature("keys")
def _keys(s: Sentence) -> float:
    return len(s.q.keys & s.own) / len(s.q.keys) if s.q.keys else 0.0


@sentence_feature("keys_context")
def _keys_context(s: Sentence) -> float:
    return len(s.q.keys & s.near) / len(s.q.keys) if s.q.keys else 0.0


@sentence_feature("missing_rare")
def _missing_rare(s: Sentence) -> float:
    """The rarest question term the sentence's neighbourhood leaves out (its IDF over the corpus's highest)."""
    return max((min(s.idf(t), s.max_idf) / s.max_idf for t in s.q.weights if t not in s.near), default=0.0)


@sentence_feature("dense")
def _dense(s: Sentence) -> float:
    return s.cand.dense if s.cand.dense is not None else s.cand.chunk_similarity


@sentence_feature("passage_similarity")
def _passage_similarity(s: Sentence) -> float:
    return s.cand.chunk_similarity


@sentence_feature("first_passage")
def _first_passage(s: Sentence) -> float:
    return float(s.cand.rank == 0)


@sentence_feature("passage_rank")
def _passage_rank(s: Sentence) -> float:
    return 1.0 / (1 + s.cand.rank)


@sentence_feature("first_sentence")
def _first_sentence(s: Sentence) -> float:
    return float(s.cand.position == 0)


@sentence_feature("length")
def _length(s: Sentence) -> float:
    return math.log1p(len(s.own_list))


@sentence_feature("restates")
def _restates(s: Sentence) -> float:
    """Share of the sentence's terms the question uses (a sentence that only restates the question is 1)."""
    return 1.0 - len(s.new) / len(s.own) if s.own else 1.0


@sentence_feature("proximity")
def _proximity(s: Sentence) -> float:
    return proximity(set(s.q.weights), s.own_list)


@sentence_feature("years")
def _years(s: Sentence) -> float:
    return agreement(s.q.years, s.cand.text, s.cand.context, YEAR_RE)


@sentence_feature("numbers")
def _numbers(s: Sentence) -> float:
    return agreement(s.q.numbers, s.cand.text, s.cand.context, NUMBER_RE)


@sentence_feature("ordinals")
def _ordinals(s: Sentence) -> float:
    return agreement(s.q.ordinals, s.cand.text, s.cand.context)


@sentence_feature("relation")
def _relation(s: Sentence) -> float:
    return _present(s.q.relation, s.own, s.near)


@sentence_feature("head")
def _head(s: Sentence) -> float:
    return _present(s.q.head, s.own, s.near)


@sentence_feature("reason")
def _reason(s: Sentence) -> float:
    return float(s.q.kind == "reason" and bool(REASON_RE.search(s.cand.text)))


for _kind in TYPED:      # typed_money ... typed_place: the question asks for this kind and the sentence holds one
    SENTENCE.add(f"typed_{_kind}", lambda s, k=_kind: float(s.q.kind == k and typed(s.cand.text, k)))


@sentence_feature("new_terms")
def _new_terms(s: Sentence) -> float:
    return math.log1p(len(s.new))


# ... weighted by how few of the question's candidates hold each term; BM25 among the candidates
SENTENCE.add("coverage_local", lambda s: coverage(s.pool.local, s.own))
SENTENCE.add("coverage_local_context", lambda s: coverage(s.pool.local, s.near))
SENTENCE.add("bm25", lambda s: bm25(s.q, s.own_list, s.pool.average))


@sentence_feature("matched")
def _matched(s: Sentence) -> float:
    return float(sum(t in s.own for t in s.q.weights))


@sentence_feature("unmatched")
def _unmatched(s: Sentence) -> float:
    return float(sum(t not in s.near for t in s.q.weights))


# late interaction with the question's word pieces (`maxsim`): the mean best match, and the weakest
SENTENCE.add("maxsim", lambda s: s.cand.maxsim)
SENTENCE.add("minsim", lambda s: s.cand.minsim)


SENTENCE_FEATURES = SENTENCE.names


def sentence_features(q: Question, cand: Candidate, max_idf: float, idf: Callable[[str], float],
                      pool: Pool) -> list[float]:
    """The feature row of one candidate sentence among its question's candidates `pool` (SENTENCE.names)."""
    return SENTENCE.row(Sentence(q, cand, pool, idf, max_idf))


def _present(word: str, own: set[str], near: set[str]) -> float:
    """1 in the sentence, 0.5 beside it, -1 absent; 0 when the question names no such word."""
    if not word:
        return 0.0
    return 1.0 if word in own else 0.5 if word in near else -1.0


NEGATION_RE = re.compile(r"\b(?:not|never|no|none|without|n't|cannot)\b|n't\b", re.I)


@dataclass
class Best:
    """A question's best sentence as the evidence model reads it: the question, the sentence (its features
    already computed, by name in `row`) and the span model's probability of its short answer."""

    q: Question
    cand: Candidate
    span: float

    @cached_property
    def row(self) -> dict[str, float]:
        return dict(zip(SENTENCE.names, self.cand.features))

    @cached_property
    def missing(self) -> list[float]:
        """The weights of the question's terms the sentence itself leaves out."""
        own = set(terms(self.cand.text))
        return [w for t, w in self.q.weights.items() if t not in own]


QUESTION = Features("question")
question_feature = QUESTION.feature


def _copied(name: str, of: str) -> None:
    """The evidence feature `name`: the best sentence's feature `of`."""
    QUESTION.add(name, lambda b: b.row[of])


_copied("best_coverage_context", "coverage_context")


QUESTION.add("best_maxsim", lambda b: b.cand.maxsim)
QUESTION.add("best_minsim", lambda b: b.cand.minsim)


_copied("best_missing_rare", "missing_rare")


@question_feature("unknown_keys")
def _unknown_keys(b: Best) -> float:
    return float(b.q.unknown)


@question_feature("best_typed")
def _best_typed(b: Best) -> float:
    """Whether the sentence holds the kind of answer asked for (0.5 when the question asks for no typed kind)."""
    return sum(b.row[f"typed_{k}"] for k in TYPED) if b.q.kind in TYPED else 0.5


for _name in ("years", "relation", "head"):
    _copied(f"best_{_name}", _name)
for _kind in KINDS:      # kind_money ... kind_other: what the question asks for
    QUESTION.add(f"kind_{_kind}", lambda b, k=_kind: float(b.q.kind == k))


@question_feature("best_span")
def _best_span(b: Best) -> float:
    return b.span


for _name in ("coverage", "keys", "unmatched", "numbers", "ordinals", "bigrams", "proximity"):
    _copied(f"best_{_name}", _name)
# the question's terms weighted by how few candidates hold them: what is rare within the topic the passages
# share (the reference IDF says what is rare in English; neither moves when unrelated documents are added)
for _name in ("coverage_local", "coverage_local_context"):
    _copied(f"best_{_name}", _name)


@question_feature("missing_in_sentence")
def _missing_in_sentence(b: Best) -> float:
    return max(b.missing, default=0.0) / b.q.max_idf


@question_feature("missing_share")
def _missing_share(b: Best) -> float:
    return sum(b.missing) / (sum(b.q.weights.values()) or 1.0)


@question_feature("negation_dropped")
def _negation_dropped(b: Best) -> float:
    return float(negated(b.q.text) and not negated(b.cand.context))


QUESTION_FEATURES = QUESTION.names


def question_features(q: Question, ranked: list[Candidate], span: float) -> list[float]:
    """The evidence row of a whole question, read from its best sentence (QUESTION.names): how much of
    the question it and its neighbours state, how closely its words match the question's (the least-matched
    word most of all), whether it holds the kind of answer asked for, how sure the span model is of the
    short answer it holds (`span`, a probability), which of the question's words the sentence itself leaves
    out, and whether the question negates what the sentence does not. Nothing whose scale depends on the
    corpus (passage cosines, the ranking score, how many candidates there are) enters: the threshold must
    mean the same on a folder of news as on the encyclopaedia it was learned from."""
    return QUESTION.row(Best(q, ranked[0], span))



def negated(text: str) -> bool:
    """Whether a text says 'not', 'never', 'no' (a question that negates what the passage states asks
    something else than it answers).

    >>> negated("What did the council not approve?"), negated("Which teams can't play?"), negated("Notable")
    (True, True, False)
    """
    return bool(NEGATION_RE.search(text))
