"""The offline answerer: verbatim sentences with [n] citations, or a plain refusal.

Three learned steps (weights in `answerer.json`, features in `rag.answer.features` and `rag.answer.spans`):
1. every sentence of the retrieved passages is scored; the best one is the answer's evidence;
2. a question-level evidence model turns the candidates into a probability that the documents answer
   the question; under the threshold (`RAG_ABSTAIN_THRESHOLD`, chosen on validation data) it refuses;
3. a span model picks the short answer in the chosen sentence, which opens the answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.records import Answer, Citation, Conflict, Delta, ScoredChunk
from rag.answer import Encode, Pieces, Tools, conflicts, register, words
from rag.answer.conflicts import Reading
from rag.answer.features import (Candidate, Pool, Question, analyse, candidates, maxsim, question_features,
                                 sentence_features)
from rag.answer.kinds import kind_of
from rag.answer.model import AnswererModel, Linear, Scorer, load, sigmoid
from rag.answer.reader import SENTENCES, Read, ReadRequest, reader_for
from rag.answer.spans import span_candidates, span_features, span_text, token_stems
from rag.citations import quotable
from rag.conversation import standalone
from text.terms import TYPE_WORDS, terms, tokens, word_count
from text.values import parse

REFUSAL = "The documents do not answer this question."
MAX_SENTENCE_WORDS = 45
SENTENCE_ENDS = (".", "!", "?", '"', "”", "’", ")")
MIN_QUOTE_WORDS = 8      # a quote beside a disagreement is cut to its clause, but not below this
NO_SHORT_ANSWER = ("reason",)          # 'why' and 'how' questions are answered by the sentence itself
Restating = Callable[[str], list[ScoredChunk]]   # sentence -> passages that may copy it (the retriever's)
QUESTION_ONLY = frozenset(TYPE_WORDS)   # 'how long', 'what year': words an answer sentence does not repeat


@dataclass
class Assessment:
    """What the evidence says about one question: its reading, the candidates best first, the probability."""

    question: Question
    ranked: list[Candidate]
    confidence: float


def featurise(q: Question, cands: list[Candidate], idf, max_idf: float) -> None:
    """Every candidate's feature row, in place (the same rows `learn` trains on)."""
    pool = Pool.of(q, cands)
    for cand in cands:
        cand.features = sentence_features(q, cand, max_idf, idf, pool)


def rank(cands: list[Candidate], model: Linear) -> list[Candidate]:
    """The candidates scored by the sentence model, best first."""
    for cand in cands:
        cand.score = model.score(cand.features)
    return sorted(cands, key=lambda c: -c.score)


def assess(question: str, query: str, ranked: list[ScoredChunk], idf, max_idf: float, model: AnswererModel,
           encode: Encode | None = None, q_vector=None, rerank: int = 0, pieces: Pieces | None = None) -> Assessment:
    """Score the sentences of the passages `ranked` and the evidence that they answer `question`."""
    q = analyse(question, query, idf, max_idf)
    cands = candidates(ranked)
    if not cands:
        return Assessment(q, [], 0.0)
    _dense(cands, q_vector, encode, rerank)
    late_interaction(cands, query, pieces)
    featurise(q, cands, idf, max_idf)
    scored = rank(cands, model.sentence)
    return Assessment(q, scored, model.evidence.probability(evidence_row(q, scored, model.span)))


def evidence_row(q: Question, ranked: list[Candidate], span: Scorer) -> list[float]:
    """The evidence model's row for candidates `ranked` (best first), with the span model's probability
    of the best sentence's short answer."""
    found = scored_span(q, ranked[0], span)
    return question_features(q, ranked, found[1] if found else 0.0)


def passage_confidence(assessment: Assessment, model: AnswererModel) -> dict[str, float]:
    """The evidence probability of each passage taken alone (by chunk id): what LLM mode may be sent."""
    by_chunk: dict[str, list[Candidate]] = {}
    for cand in assessment.ranked:
        by_chunk.setdefault(cand.chunk.id, []).append(cand)
    return {cid: model.evidence.probability(evidence_row(assessment.question, cands, model.span))
            for cid, cands in by_chunk.items()}


def late_interaction(cands: list[Candidate], query: str, pieces: Pieces | None) -> None:
    """Each candidate's MaxSim with the question, from the encoder's word-piece vectors (one batch)."""
    if pieces is None:
        return
    asked = pieces([query], skip=QUESTION_ONLY)[0]
    for cand, sentence_rows in zip(cands, pieces([c.text for c in cands])):
        cand.maxsim, cand.minsim = maxsim(asked, sentence_rows)


def _dense(cands: list[Candidate], q_vector, encode: Encode | None, limit: int) -> None:
    """The cosine of the question with the first `limit` sentences in retrieval order (an encoder call,
    ~10 ms a sentence on 2 cores); the others keep their passage's cosine."""
    if q_vector is None or encode is None or limit <= 0:
        return
    best = sorted(cands, key=lambda c: (c.rank, c.position))[:limit]
    for cand, vector in zip(best, encode([c.text for c in best])):
        cand.dense = sum(a * b for a, b in zip(q_vector, vector))


def best_span(q: Question, cand: Candidate, model: Scorer) -> tuple[int, int] | None:
    """Character offsets (in the sentence) of the learned short answer, or None when there is no candidate."""
    found = scored_span(q, cand, model)
    return found[0] if found else None


def scored_span(q: Question, cand: Candidate, model: Scorer) -> tuple[tuple[int, int], float] | None:
    """The learned short answer's offsets in the sentence and the span model's probability that it is the
    answer, or None when the sentence has no candidate span."""
    toks = tokens(cand.text)
    stems = token_stems(cand.text, toks)
    spans = span_candidates(cand.text, toks)
    if not spans:
        return None
    scores = model.scores(np.array([span_features(q, cand.text, toks, stems, s) for s in spans], np.float64))
    k = int(np.argmax(scores))
    return span_text(cand.text, toks, spans[k], q.head), sigmoid(float(scores[k]))


def trim(cand: Candidate, keep: str, limit: int = MAX_SENTENCE_WORDS) -> tuple[int, int]:
    """A verbatim sub-span of a long sentence: the clauses around `keep`, at most `limit` words; a short
    sentence whole, but for the number of a list item before it and a heading's colon after it.

    >>> c = Candidate(None, 0, 100, 140, "First part, second part with KEY, third part.")
    >>> trim(c, "KEY", limit=6), trim(Candidate(None, 0, 100, 120, "3- It opened in May:"), "May")
    ((112, 145), (103, 119))
    """
    if word_count(cand.text) <= limit:
        return quoted(cand)
    bounds = [0] + [m.end() for m in re.finditer(r"[,;:]\s", cand.text)] + [len(cand.text)]
    pieces = list(zip(bounds, bounds[1:]))
    at = cand.text.find(keep) if keep else 0
    i = next((k for k, (a, b) in enumerate(pieces) if a <= max(at, 0) < b), 0)
    lo, hi = i, i + 1
    while True:
        grown = [(a, b) for a, b in [(lo - 1, hi), (lo, hi + 1)] if a >= 0 and b <= len(pieces)
                 and word_count(cand.text[pieces[a][0]:pieces[b - 1][1]]) <= limit]
        if not grown:
            break
        lo, hi = grown[-1]
    a, b = pieces[lo][0], pieces[hi - 1][1]
    text = cand.text[a:b]
    a += len(text) - len(text.lstrip())
    b -= len(text) - len(text.rstrip(" ,;:"))
    a += quotable(cand.text[a:b])[0]
    return cand.start + a, cand.start + b


def quoted(cand: Candidate) -> tuple[int, int]:
    """The document offsets of a sentence as quoted (see `rag.citations.quotable`)."""
    a, b = quotable(cand.text)
    return cand.start + a, cand.start + b


def _similar(a: str, b: str) -> bool:
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= 0.5


def short_answer(assessment: Assessment, model: AnswererModel) -> str:
    """The learned span of the best sentence, '' for why/how questions.

    A span that is the whole sentence adds nothing and is dropped."""
    q, best = assessment.question, assessment.ranked[0]
    span = None if q.kind in NO_SHORT_ANSWER else best_span(q, best, model.span)
    text = best.text[span[0]:span[1]].strip(" ,;:") if span else ""
    return "" if word_count(text) >= word_count(best.text) - 1 else text


def compose(assessment: Assessment, model: AnswererModel, max_words: int, restating: Restating | None = None,
            short: str | None = None) -> tuple[str, str, list[Citation], list[Conflict]]:
    """Answer text with [n] markers, its short answer, the citations the markers index, and the
    disagreements of other sources (each value quoted and cited, with a one-line note); `restating` finds
    passages that may copy the answer's sentence beyond those retrieved for the question."""
    ranked = assessment.ranked
    best = ranked[0]
    short = short_answer(assessment, model) if short is None else short
    first = trim(best, short)
    cites = [Citation.of(best.chunk, first[0], first[1], assessment.confidence)]
    body = f"{cites[0].quote} [1]"
    text = f"{short} — {body}" if short else body
    differ, finer = other_sources(assessment, model, short, restating=restating)
    if differ:
        return _with_disagreement(short, differ, assessment, max_words)
    if finer:
        cite = _cite(finer[0].cand, finer[0].value.text, assessment.confidence)
        return f"{text} {conflicts.refinement(finer[0], cite, 2)}", short, cites + [cite], []
    second = next((c for c in ranked[1:4] if _worth_adding(c, best, assessment)), None)
    if second and word_count(text) + word_count(second.text) + 1 <= max_words:
        cites.append(Citation.of(second.chunk, *quoted(second), assessment.confidence))
        text += f" {cites[-1].quote} [2]"
    return text, short, cites, []


def other_sources(assessment: Assessment, model: AnswererModel, short: str,
                  unit=lambda c: c.chunk.source,
                  restating: Restating | None = None) -> tuple[list[Reading], list[Reading]]:
    """Sentences of other documents (`unit`) that give the answer another value, or the same value more
    precisely (for answers without a short value, such as reasons, only copies of the answer's sentence
    with a value changed); see `rag.answer.conflicts`."""
    q, best = assessment.question, assessment.ranked[0]

    def answers_alone(cand: Candidate) -> bool:
        return model.evidence.probability(evidence_row(q, [cand], model.span)) >= conflicts.LIKELY

    def value_in(cand: Candidate) -> tuple[str, float]:
        found = scored_span(q, cand, model.span)
        return (cand.text[found[0][0]:found[0][1]].strip(" ,;:"), found[1]) if found else ("", 0.0)

    first = Reading(best, parse(short), value_in(best)[1] if short else 0.0)
    elsewhere = candidates(restating(best.text)) if restating else []
    others = conflicts.readings(first, q.kind, q.asked, assessment.ranked[1:], answers_alone, value_in,
                                model.conflict_gap, unit, elsewhere)
    return conflicts.disagreements(first, others)


def _cite(cand: Candidate, value: str, score: float, limit: int = MAX_SENTENCE_WORDS) -> Citation:
    a, b = trim(cand, value, limit)
    return Citation.of(cand.chunk, a, b, score)


def _with_disagreement(short: str, differ: list[Reading], assessment: Assessment,
                       max_words: int) -> tuple[str, str, list[Citation], list[Conflict]]:
    """The note naming who says what first, then each value's clause quoted and cited, the quotes cut so
    that the whole stays near `max_words` (never under MIN_QUOTE_WORDS a quote)."""
    values = [(differ[0].was or short, assessment.ranked[0])] + [(r.value.text, r.cand) for r in differ]

    def build(limit: int) -> tuple[list[Citation], Conflict, str]:
        cites = [_cite(cand, value, assessment.confidence, limit) for value, cand in values]
        said = [value for value, _ in values]
        found = conflicts.conflict(conflicts.kind_of(said), list(zip(said, cites)))
        cites = [v.citation for v in found.values]        # numbered in the order the note names them
        return cites, found, conflicts.note(found, lambda c: cites.index(c) + 1)

    _, _, note = build(MAX_SENTENCE_WORDS)
    cites, found, note = build(max(MIN_QUOTE_WORDS, (max_words - word_count(note)) // len(values)))
    body = " ".join(f"{c.quote}{'' if c.quote.endswith(SENTENCE_ENDS) else ' …'} [{n}]"
                    for n, c in enumerate(cites, 1))
    return f"{note} {body}", short, cites, [found]


def _worth_adding(cand: Candidate, best: Candidate, assessment: Assessment) -> bool:
    """A second sentence helps when the question wants an explanation, not a name or a number, and the
    model rates it nearly as high as the first (within one unit of log-odds)."""
    if assessment.question.kind not in ("reason", "other") or _similar(cand.text, best.text):
        return False
    return cand.score >= best.score - 1.0


def answer(question: str, query: str, ranked: list[ScoredChunk], idf, max_idf: float, threshold: float,
           max_words: int = 60, q_vector=None, encode: Encode | None = None, rerank: int = 0,
           model: AnswererModel | None = None, pieces: Pieces | None = None,
           restating: Restating | None = None) -> Answer:
    """The offline answer to `question` from the retrieved passages `ranked` (best first)."""
    model = model or load()
    assessment = assess(question, query, ranked, idf, max_idf, model, encode, q_vector, rerank, pieces)
    return conclude(Conclusion(question, query, ranked, threshold, max_words, restating), assessment, model)


@dataclass(frozen=True)
class Conclusion:
    """What turns an assessment into an answer: the question, the passages, the refusal threshold, the word cap
    and the search for copies of the answer's sentence."""

    question: str
    query: str
    ranked: list[ScoredChunk]
    threshold: float
    max_words: int = 60
    restating: Restating | None = None


def conclude(c: Conclusion, assessment: Assessment, model: AnswererModel, read: Read | None = None) -> Answer:
    """The answer or the refusal the assessment supports; with a reader's `read`, its sentence is the answer's
    evidence and its phrase the short answer (the evidence model still decides whether to answer)."""
    passages = [Citation.passage(s) for s in c.ranked]
    if not assessment.ranked:
        return Answer(REFUSAL, [], True, c.question, c.query, "offline", passages=passages, confidence=0.0)
    short = None
    if read is not None:
        assessment, short = reread(assessment, read)
    text, short, cites, found = compose(assessment, model, c.max_words, c.restating, short)
    if assessment.confidence < c.threshold:
        return Answer(REFUSAL, [], True, c.question, c.query, "offline", passages=passages,
                      confidence=assessment.confidence, withheld=text)
    return Answer(text, cites, False, c.question, c.query, "offline", short_answer=short, passages=passages,
                  confidence=assessment.confidence, conflicts=found)


def reread(assessment: Assessment, read: Read) -> tuple[Assessment, str]:
    """The assessment with the sentence the reader chose first, and the reader's phrase as the short answer
    ('' when the phrase is the whole sentence: it adds nothing)."""
    chosen = assessment.ranked[read.sentence]
    ranked = [chosen] + [cand for cand in assessment.ranked if cand is not chosen]
    short = read.text.strip(" ,;:")
    return Assessment(assessment.question, ranked, assessment.confidence), \
        "" if word_count(short) >= word_count(chosen.text) - 1 else short


@register("offline")
class ExtractiveAnswerer:
    """The offline mode: verbatim sentences of the passages with [n] markers, or a plain refusal. No network."""

    needs_llm = False

    def __init__(self, tools: Tools):
        self.tools = tools

    def stream(self, question: str, history: list, retriever):
        """The extractive answer at once; where a reader is installed and the evidence is strong enough, its
        words are provisional and the read answer (or, failing a verbatim read, the same one) follows."""
        query = standalone(question, history)
        kind, other = self.other_kind(question, query, retriever)
        if other is not None:
            yield from words(other.text)
            yield other
            return
        conclusion, assessment, model = self.assessed(question, query, retriever)
        answer = kinded(conclude(conclusion, assessment, model), kind)
        reader = None if answer.abstained else reader_for(self.tools.answer)
        yield from (Delta(d.text, provisional=reader is not None) for d in words(answer.text))
        if reader is None:
            yield answer
            return
        sentences = [cand.text for cand in assessment.ranked[:SENTENCES]]
        read = reader.run(ReadRequest(query, sentences, self.tools.answer.reader_seconds))
        yield kinded(conclude(conclusion, assessment, model, read), kind) if read else answer

    def answer(self, question: str, query: str, retriever) -> Answer:
        """The extractive answer to `question`, retrieving with `query` (the question made standalone)."""
        kind, other = self.other_kind(question, query, retriever)
        return other or kinded(conclude(*self.assessed(question, query, retriever)), kind)

    def other_kind(self, question: str, query: str, retriever) -> tuple[str, Answer | None]:
        """The kind of the question (`rag.answer.kinds`) and, when the kind has an answerer of its own
        (`rag.answer.kinded`), its answer; None for a question answered as one fact."""
        from rag.answer.kinded import answer_kind     # it builds on this module

        kind = kind_of(question)
        return kind, answer_kind(question, query, kind, retriever, self.tools)

    def assessed(self, question: str, query: str, retriever) -> tuple[Conclusion, Assessment, AnswererModel]:
        """The passages for `query`, the evidence model's assessment of them and what concluding needs."""
        tools, s = self.tools, self.tools.answer
        vector = tools.encode_one(query)
        ranked = retriever.search(query, vector)
        corpus, model = retriever.corpus, model_of(s)
        assessment = assess(question, query, ranked, corpus.idf, corpus.max_idf, model, tools.encode, vector,
                            s.sentence_rerank, tools.pieces)
        conclusion = Conclusion(question, query, ranked, threshold_of(s, model), s.max_answer_words,
                                _restating(retriever))
        return conclusion, assessment, model


def kinded(answer: Answer, kind: str) -> Answer:
    """The answer marked with the kind of question it answers."""
    answer.kind = kind
    return answer


def gate(question: str, query: str, ranked: list[ScoredChunk], retriever,
         tools: Tools) -> tuple[list[ScoredChunk], Answer | None, list[Conflict]]:
    """The passages an LLM may be sent (those the evidence model rates at or above the threshold, and always
    the one holding the best sentence), or a refusal when the evidence as a whole is under the threshold;
    and where the sources disagree on the answer (found offline, so an LLM's answer carries it even when
    the model blends the values)."""
    assessment, model, threshold = evidence(question, query, ranked, retriever, tools)
    if not assessment.ranked or assessment.confidence < threshold:
        return [], Answer(REFUSAL, [], True, question, query, "llm", passages=[Citation.passage(s) for s in ranked],
                          notice="no passage is strong enough evidence: the LLM was not asked",
                          confidence=assessment.confidence), []
    alone = passage_confidence(assessment, model)
    best = assessment.ranked[0].chunk.id
    sent = [s for s in ranked if s.chunk.id == best or alone.get(s.chunk.id, 0.0) >= threshold]
    found = conflicts_of(assessment, model, retriever)
    kept = {s.chunk.id for s in sent}
    return sent + [s for s in ranked if s.chunk.id not in kept and _holds(s, found)], None, found


def disagreement(question: str, query: str, ranked: list[ScoredChunk], retriever, tools: Tools) -> list[Conflict]:
    """Where the sources disagree on the answer to `question` (LLM mode without the evidence gate)."""
    assessment, model, _ = evidence(question, query, ranked, retriever, tools)
    return conflicts_of(assessment, model, retriever)


def conflicts_of(assessment: Assessment, model: AnswererModel, retriever) -> list[Conflict]:
    """The disagreements `compose` finds for an assessment (its text is not needed here)."""
    return compose(assessment, model, 10 ** 6, _restating(retriever))[3] if assessment.ranked else []


def _restating(retriever) -> Restating | None:
    """The retriever's search for copies of a sentence, when it has one (a Retriever need not)."""
    return getattr(retriever, "restating", None)


def evidence(question: str, query: str, ranked: list[ScoredChunk], retriever,
             tools: Tools) -> tuple[Assessment, AnswererModel, float]:
    """The offline assessment of the passages, with the model and refusal threshold it was made with."""
    model, corpus = model_of(tools.answer), retriever.corpus
    assessment = assess(question, query, ranked, corpus.idf, corpus.max_idf, model, pieces=tools.pieces)
    return assessment, model, threshold_of(tools.answer, model)


def _holds(scored: ScoredChunk, found: list[Conflict]) -> bool:
    """Whether a passage states one of the values of a disagreement (so the LLM is shown both sides)."""
    return any(v.citation.chunk_id == scored.chunk.id for c in found for v in c.values)


def model_of(settings) -> AnswererModel:
    """The answerer's weights named by the settings (the bundled ones unless RAG_MODEL_PATH says otherwise)."""
    return load(settings.model_path) if settings.model_path else load()


def threshold_of(settings, model: AnswererModel) -> float:
    """The refusal threshold: RAG_ABSTAIN_THRESHOLD when set, else the model's validated operating point."""
    return model.threshold if settings.abstain_threshold is None else settings.abstain_threshold
