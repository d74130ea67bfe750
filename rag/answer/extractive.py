"""The offline answerer: verbatim sentences with [n] citations, or a plain refusal.

Scoring is pure: each candidate sentence of the retrieved passages gets an
IDF-weighted coverage of the question's terms (in the sentence and its
neighbours), a dense similarity, and a check that the answer type the
question asks for (date, amount, number, name, place) is present. The answer
opens with the short typed answer when there is one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from core.records import Answer, Chunk, Citation, ScoredChunk
from rag.answer import Encode, Tools, register, words
from rag.conversation import standalone
from text.entities import is_organisation, is_person_like, typed_spans
from text.questions import (answer_type, counts_what_is_asked, fits_tense, key_entities, named_words,
                            question_terms, relation_word, stands_next_to)
from text.sentences import split_sentences
from text.terms import PRONOUNS, terms, word_count

REFUSAL = "The documents do not answer this question."
UNKNOWN_WEIGHT = 1.0
MAX_SENTENCE_WORDS = 45
MAX_SENTENCE_CHARS = 1000  # of a sentence that is scored: a 100 kB run without a full stop is not read whole


@dataclass
class Candidate:
    chunk: Chunk
    rank: int
    start: int
    end: int
    text: str
    context: str = ""
    coverage: float = 0.0
    dense: float = 0.0
    spans: list[tuple[int, int]] = field(default_factory=list)
    score: float = 0.0
    chunk_similarity: float = 0.0


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
                                 chunk_similarity=scored.similarity))
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


def coverage(question_terms: list[str], text_terms: set[str], idf: Callable[[str], float],
             cap: float = 3.0, unknown: float = float("inf")) -> float:
    """IDF-weighted share of the question's terms found in a text (weights capped at `cap`).
    Terms the corpus never uses (idf >= `unknown`: paraphrases, years it does not state) weigh
    like an ordinary word; `support` penalises unknown names separately.

    >>> coverage(["tamar", "stake"], {"tamar", "gas"}, lambda t: 2.0 if t == "tamar" else 1.0)
    0.6666666666666666
    """
    weights = {t: min(idf(t), cap) if idf(t) < unknown else UNKNOWN_WEIGHT for t in set(question_terms)}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in text_terms) / total if total else 0.0


def score_candidates(cands: list[Candidate], question: str, query: str, idf, q_vector=None,
                     encode: Encode | None = None, rerank: int = 0, max_idf: float = float("inf")) -> list[Candidate]:
    """Scores every candidate in place and returns them best first."""
    kind = answer_type(question)
    q_terms = question_terms(query)
    asked = set(terms(query))
    locative = bool(re.match(r"\s*where\b", question, re.I))
    named = named_words(question)
    for cand in cands:
        own = coverage(q_terms, set(terms(cand.text)), idf, unknown=max_idf)
        wide = coverage(q_terms, set(terms(cand.context)), idf, unknown=max_idf)
        cand.coverage = 0.7 * own + 0.3 * wide
        cand.spans = [s for s in typed_spans(cand.text, kind, locative) if _new_information(cand.text[s[0]:s[1]], asked, kind)
                      and _fits_measure(cand.text[s[0]:s[1]], question)
                      and (kind != "person" or is_person_like(cand.text[s[0]:s[1]], question))
                      and stands_next_to(cand.text, s, named)
                      and fits_tense(cand.text[s[0]:s[1]], question, cand.chunk.date)
                      and (kind != "number" or counts_what_is_asked(cand.text, s, question))]
    _dense(cands, q_vector, encode, rerank)
    for cand in cands:
        typed = _type_bonus(cand, kind)
        if kind == "reason" and REASON_RE.search(cand.text):
            typed = 0.1
        cand.score = cand.coverage + 0.3 * cand.dense + typed + 0.05 / (1 + cand.rank)
    return sorted(cands, key=lambda c: -c.score)


TYPED = ("money", "date", "number", "person", "place")
UNITS_RE = re.compile(r"kilomet|km\b|miles?\b|met(er|re)s?\b|years?\b|months?\b|days?\b|hours?\b|weeks?\b", re.I)
REASON_RE = re.compile(r"\b(because|due to|as a result|in order to|aim\w*|concern\w*|fear\w*|worr\w*|wary|"
                       r"threat\w*|apprehensi\w*|motiv\w*|driven by|caus\w*|reason\w*|so that)\b", re.I)
MEASURE_RE = re.compile(r"\bhow (long|far|wide|deep|high|old)\b|\b(distance|length|age)\b", re.I)


def _new_information(span: str, asked: set[str], kind: str = "person") -> bool:
    """A short answer must say something the question does not already say.

    >>> _new_information("Iran’s Strategic Council", {"iran", "strategic", "council"})
    False
    >>> _new_information("77 diplomats", {"many", "diplomat"}, "number")
    True
    """
    if kind in ("number", "money", "date"):
        return not set(re.findall(r"\d[\d,.]*", span)) <= asked or not re.search(r"\d", span)
    span_terms = set(terms(span))
    return bool(span_terms) and len(span_terms & asked) / len(span_terms) < 0.5


def _fits_measure(span: str, question: str) -> bool:
    """'How long/far' questions want a quantity with a unit ('765 kilometers'), not a bare count."""
    return not MEASURE_RE.search(question) or bool(UNITS_RE.search(span))


def _type_bonus(cand: Candidate, kind: str) -> float:
    """Sentences holding the kind of answer asked for rank higher; for 'who', a person over an organisation."""
    if not cand.spans:
        return -0.25 if kind in TYPED else 0.0
    if kind == "person" and all(is_organisation(cand.text[a:b]) for a, b in cand.spans):
        return 0.05
    return 0.15


def _dense(cands: list[Candidate], q_vector, encode: Encode | None, limit: int) -> None:
    """Cosine of the question with each sentence: its passage's cosine, refined by encoding the
    `limit` most promising sentences themselves (an encoder call: ~10 ms a sentence on 2 cores)."""
    for cand in cands:
        cand.dense = cand.chunk_similarity
    if q_vector is None or encode is None or not cands or limit <= 0:
        return
    best = sorted(cands, key=lambda c: -c.coverage)[:limit]
    for cand, vector in zip(best, encode([c.text for c in best])):
        cand.dense = sum(a * b for a, b in zip(q_vector, vector))


def support(best: Candidate, question: str, idf, max_idf: float) -> float:
    """How well the best sentence supports an answer, 0..1 (refuse under the threshold).

    Evidence beyond one cosine: term coverage, the expected answer type, and
    whether a rare question term is absent from the whole corpus.
    """
    kind = answer_type(question)
    if kind in TYPED and not best.spans:
        return 0.0
    relation = relation_word(question)
    if relation and relation not in terms(best.context):
        return 0.0
    unknown = [t for t in key_entities(question) if idf(t) >= max_idf and not t.isdigit()]
    penalty = 0.35 * min(len(unknown), 2)
    return max(0.0, 0.6 * best.coverage + 0.4 * max(best.dense, 0.0) - penalty)


def short_answer(cand: Candidate, question: str) -> str:
    """The typed span of the sentence closest to the question's terms ('' for why/how/other).

    >>> c = Candidate(None, 0, 0, 0, "In Tehran, Kamal Kharrazi, the chairman of the council, met Ali Khamenei.")
    >>> c.spans = [(3, 9), (11, 25), (60, 72)]
    >>> short_answer(c, "Who is the chairman of the council?")
    'Kamal Kharrazi'
    """
    if not cand.spans:
        return ""
    q_terms = set(terms(question))
    hits = [m.span() for m in re.finditer(r"[\w’']+", cand.text) if set(terms(m.group())) & q_terms]
    person = answer_type(question) == "person"

    def rank(span: tuple[int, int]) -> tuple[float, int]:
        text = cand.text[span[0]:span[1]]
        weak = (1.0 if " " not in text else 0.0) + (2.0 if is_organisation(text) else 0.0) if person else 0.0
        gap = min((max(h[0] - span[1], span[0] - h[1], 0) for h in hits), default=0)
        return weak, gap

    a, b = min(cand.spans, key=rank)
    return cand.text[a:b].strip(" ,;:")


def trim(cand: Candidate, keep: str, limit: int = MAX_SENTENCE_WORDS) -> tuple[int, int]:
    """A verbatim sub-span of a long sentence: the clauses around `keep`, at most `limit` words.

    >>> c = Candidate(None, 0, 100, 140, "First part, second part with KEY, third part.")
    >>> trim(c, "KEY", limit=6)
    (112, 145)
    """
    if word_count(cand.text) <= limit:
        return cand.start, cand.end
    bounds = [0] + [m.end() for m in re.finditer(r"[,;:]\s", cand.text)] + [len(cand.text)]
    pieces = list(zip(bounds, bounds[1:]))
    at = cand.text.find(keep) if keep else 0
    i = next((k for k, (a, b) in enumerate(pieces) if a <= max(at, 0) < b), 0)
    lo, hi = i, i + 1
    while True:
        grown = [(lo - 1, hi), (lo, hi + 1)]
        grown = [(a, b) for a, b in grown if a >= 0 and b <= len(pieces)
                 and word_count(cand.text[pieces[a][0]:pieces[b - 1][1]]) <= limit]
        if not grown:
            break
        lo, hi = grown[-1]
    a, b = pieces[lo][0], pieces[hi - 1][1]
    text = cand.text[a:b]
    a += len(text) - len(text.lstrip())
    b -= len(text) - len(text.rstrip(" ,;:"))
    return cand.start + a, cand.start + b


def citation(cand: Candidate, span: tuple[int, int], score: float) -> Citation:
    return Citation.of(cand.chunk, span[0], span[1], score)


def _similar(a: str, b: str) -> bool:
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= 0.5


def compose(ranked: list[Candidate], question: str, max_words: int) -> tuple[str, str, list[Citation]]:
    """Answer text with [n] markers, its short answer, and the citations the markers index."""
    best = ranked[0]
    short = short_answer(best, question)
    first = trim(best, short)
    cites = [citation(best, first, best.score)]
    body = f"{cites[0].quote} [1]"
    text = f"{short} — {body}" if short else body
    for cand in ranked[1:4]:
        if _worth_adding(cand, best, question) and word_count(text) + word_count(cand.text) + 1 <= max_words:
            cites.append(citation(cand, (cand.start, cand.end), cand.score))
            text += f" {cand.text} [2]"
            break
    return text, short, cites


def _worth_adding(cand: Candidate, best: Candidate, question: str) -> bool:
    kind = answer_type(question)
    if kind in TYPED or cand.score < 0.75 * best.score or _similar(cand.text, best.text):
        return False
    return cand.coverage >= 0.3


def answer(question: str, query: str, ranked: list[ScoredChunk], idf, max_idf: float, threshold: float,
           max_words: int = 60, q_vector=None, encode: Encode | None = None, rerank: int = 0) -> Answer:
    """The offline answer to `question` from the retrieved passages `ranked` (best first)."""
    passages = [Citation.passage(s) for s in ranked]
    refusal = Answer(REFUSAL, [], True, question, query, "offline", passages=passages)
    cands = candidates(ranked)
    if not cands:
        return refusal
    scored = typed_first(score_candidates(cands, question, query, idf, q_vector, encode, rerank, max_idf), question)
    if support(scored[0], query if _is_followup(question) else question, idf, max_idf) < threshold:
        return refusal
    text, short, cites = compose(scored, question, max_words)
    return Answer(text, cites, False, question, query, "offline", short_answer=short, passages=passages)


def typed_first(ranked: list[Candidate], question: str) -> list[Candidate]:
    """For a question wanting a date, number, amount, name or place, the best sentence that holds one
    leads (a better-matching sentence without the answer cannot answer it).

    >>> a, b = Candidate(None, 0, 0, 9, "No date."), Candidate(None, 1, 0, 9, "In 2023.", spans=[(3, 7)])
    >>> [c.text for c in typed_first([a, b], "When did it open?")]
    ['In 2023.', 'No date.']
    """
    if answer_type(question) not in TYPED:
        return ranked
    typed = next((c for c in ranked if c.spans), None)
    return [typed] + [c for c in ranked if c is not typed] if typed else ranked


def _is_followup(question: str) -> bool:
    words = [w.lower() for w in re.findall(r"[\w']+", question)]
    return any(w in PRONOUNS for w in words) and len(words) <= 8


@register("offline")
class ExtractiveAnswerer:
    """The offline mode: verbatim sentences of the passages with [n] markers, or a plain refusal. No network."""

    needs_llm = False

    def __init__(self, tools: Tools):
        self.tools = tools

    def stream(self, question: str, history: list, retriever):
        answer = self.answer(question, standalone(question, history), retriever)
        yield from words(answer.text)
        yield answer

    def answer(self, question: str, query: str, retriever) -> Answer:
        """The answer to `question`, retrieving with `query` (the question made standalone)."""
        tools, s = self.tools, self.tools.answer
        vector = tools.encode_one(query)
        ranked = retriever.search(query, vector)
        corpus = retriever.corpus
        return answer(question, query, ranked, corpus.idf, corpus.max_idf, s.abstain_threshold,
                      s.max_answer_words, vector, tools.encode, s.sentence_rerank)
