"""Evidence: what the retrieved passages say about a question, as one component.

`Evidence(...).run(EvidenceRequest(question, query, ranked))` reads the question (`features.analyse`), splits
the passages into candidate sentences, computes every sentence's named features (`features.SENTENCE`), ranks
them with the learned sentence model, and turns the best of them into a calibrated probability that the
passages answer the question (`features.QUESTION`, the evidence model) — an `Assessment`. The same component
cuts the short answer out of a sentence (`span`, the span model of `spans`), rates passages one by one (what
LLM mode may be sent: `gate`) and finds where other sources give another value (`conflicts`).

Every answer mode consumes it: the offline mode composes its quotes from an `Assessment`, LLM mode sends what
`gate` lets through, the reader reads the assessment's best sentences, and `learn/` trains on the rows of the
module-level functions below (the same code at training and at question time). Weights: `answerer.json`
(`model`). To add a feature: write one named function in `features` (`@sentence_feature("name")`) and run
`rag train`; the model refuses to load weights whose feature names differ from the code's.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from core.records import Citation, Conflict, ScoredChunk
from rag.citations import quotable
from rag.evidence import conflicts, reference
from rag.evidence.conflicts import Reading
from rag.evidence.features import (Candidate, Pool, Question, analyse, candidates, maxsim, question_features,
                                   sentence_features)
from rag.evidence.model import AnswererModel, Linear, Scorer, load, logit, sigmoid
from rag.evidence.spans import span_candidates, span_features, span_text, token_stems
from text.terms import TYPE_WORDS, tokens, word_count
from text.values import parse

Encode = Callable[[list[str]], list[list[float]]]
Pieces = Callable[..., list]   # (texts, skip=frozenset of words) -> per text, unit vectors of its content word pieces
Restating = Callable[[str], list[ScoredChunk]]   # sentence -> passages that may copy it (the retriever's)
QUESTION_ONLY = frozenset(TYPE_WORDS)   # 'how long', 'what year': words an answer sentence does not repeat
NO_SHORT_ANSWER = ("reason",)          # 'why' and 'how' questions are answered by the sentence itself


@dataclass(frozen=True)
class EvidenceRequest:
    """A question as asked, its standalone form (`query`, whose terms are matched), the passages retrieved
    for it (best first) and, optionally, the query's vector (then the first `Evidence.rerank` sentences get a
    cosine of their own)."""

    question: str
    query: str
    ranked: list[ScoredChunk]
    vector: list[float] | None = None


@dataclass
class Assessment:
    """What the evidence says about one question: its reading, the candidates best first, the probability."""

    question: Question
    ranked: list[Candidate]
    confidence: float


@dataclass(frozen=True)
class Span:
    """A short answer inside a sentence: character offsets in the sentence and the span model's probability."""

    start: int
    end: int
    probability: float


@dataclass(frozen=True)
class Gate:
    """What LLM mode may send: the passages rated strong enough (none when `refused`), the evidence's
    probability, and where the sources disagree on the answer (found offline)."""

    passages: list[ScoredChunk]
    refused: bool
    confidence: float
    conflicts: list[Conflict]


@dataclass(frozen=True)
class Evidence:
    """The evidence component of one index and one set of weights; `run` assesses a request. `idf` is the
    reference rarity of terms (`rag.evidence.reference`, the same for every folder); `known` whether the
    folder's passages use a term at all."""

    model: AnswererModel
    idf: Callable[[str], float]
    max_idf: float
    threshold: float
    encode: Encode | None = None
    pieces: Pieces | None = None
    rerank: int = 0
    restating: Restating | None = None
    known: Callable[[str], bool] | None = None

    @classmethod
    def of(cls, tools, retriever, copies: bool = True) -> "Evidence":
        """The evidence of `retriever`'s corpus with the weights and settings of an answer mode's `tools`;
        with `copies`, disagreements are also sought in copies of the answer's sentence the retriever finds
        beyond the passages assessed (its `restating` search, when it has one)."""
        settings, corpus, rarity = tools.answer, retriever.corpus, reference.load()
        model = model_of(settings)
        restating = getattr(retriever, "restating", None) if copies else None
        return cls(model, rarity.idf, rarity.max_idf, threshold_of(settings, model), tools.encode, tools.pieces,
                   settings.sentence_rerank, restating, corpus.known)

    def run(self, request: EvidenceRequest) -> Assessment:
        """Score the sentences of the request's passages and the evidence that they answer its question."""
        q = analyse(request.question, request.query, self.idf, self.max_idf, self.known)
        cands = candidates(request.ranked)
        if not cands:
            return Assessment(q, [], 0.0)
        if request.vector is not None and self.encode is not None:
            dense(cands, request.vector, self.encode, self.rerank)
        late_interaction(cands, request.query, self.pieces)
        featurise(q, cands, self.idf, self.max_idf)
        scored = rank(cands, self.model.sentence)
        return Assessment(q, scored, self.model.evidence.probability(evidence_row(q, scored, self.model.span)))

    def judged(self, assessment: Assessment, reader_yes: float | None,
               explicit_threshold: bool) -> tuple["Evidence", Assessment]:
        """The evidence after a reader judged the best sentence: the read gate's probability in place of the
        evidence probability and the read threshold in place of the threshold (a threshold set explicitly,
        RAG_ABSTAIN_THRESHOLD, stays); unchanged without a read gate or a judgement."""
        read = read_confidence(self.model, assessment.confidence, reader_yes) if assessment.ranked else None
        if read is None:
            return self, assessment
        threshold = self.threshold if explicit_threshold else self.model.read_threshold
        return replace(self, threshold=threshold), Assessment(assessment.question, assessment.ranked, read)

    def short_answer(self, assessment: Assessment) -> str:
        """The span model's short answer in the best sentence ('' for why/how questions, and when it is the
        whole sentence: it adds nothing)."""
        return short_answer(assessment, self.model)

    def readings(self, assessment: Assessment, short: str) -> tuple[list[Reading], list[Reading]]:
        """Other documents' sentences giving the answer another value, and those giving it more precisely."""
        return other_sources(assessment, self.model, short, restating=self.restating)

    def conflicts(self, assessment: Assessment) -> list[Conflict]:
        """Where other sources disagree with the answer's value: each value quoted (whole sentences) and cited."""
        if not assessment.ranked:
            return []
        short = self.short_answer(assessment)
        differ, _ = self.readings(assessment, short)
        return [disagreement(short, differ, assessment)] if differ else []

    def gate(self, request: EvidenceRequest) -> Gate:
        """The passages an LLM may be sent (those the evidence model rates at or above the threshold alone,
        and always the one holding the best sentence, and those stating a value of a disagreement, so both
        sides are shown), or a refusal when the evidence as a whole is under the threshold."""
        assessment = self.run(request)
        if not assessment.ranked or assessment.confidence < self.threshold:
            return Gate([], True, assessment.confidence, [])
        alone = passage_confidence(assessment, self.model)
        best = assessment.ranked[0].chunk.id
        sent = [s for s in request.ranked if s.chunk.id == best or alone.get(s.chunk.id, 0.0) >= self.threshold]
        found = self.conflicts(assessment)
        kept = {s.chunk.id for s in sent}
        held = [s for s in request.ranked if s.chunk.id not in kept and _holds(s, found)]
        return Gate(sent + held, False, assessment.confidence, found)


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


def evidence_row(q: Question, ranked: list[Candidate], span: Scorer) -> list[float]:
    """The evidence model's row for candidates `ranked` (best first), with the span model's probability
    of the best sentence's short answer."""
    found = scored_span(q, ranked[0], span)
    return question_features(q, ranked, found.probability if found else 0.0)


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


def dense(cands: list[Candidate], q_vector, encode: Encode, limit: int) -> None:
    """The cosine of the question with the first `limit` sentences in retrieval order (an encoder call,
    ~10 ms a sentence on 2 cores); the others keep their passage's cosine."""
    if limit <= 0:
        return
    best = sorted(cands, key=lambda c: (c.rank, c.position))[:limit]
    for cand, vector in zip(best, encode([c.text for c in best])):
        cand.dense = sum(a * b for a, b in zip(q_vector, vector))


def best_span(q: Question, cand: Candidate, model: Scorer) -> tuple[int, int] | None:
    """Character offsets (in the sentence) of the learned short answer, or None when there is no candidate."""
    found = scored_span(q, cand, model)
    return (found.start, found.end) if found else None


def scored_span(q: Question, cand: Candidate, model: Scorer) -> Span | None:
    """The learned short answer in the sentence with the span model's probability that it is the answer,
    or None when the sentence has no candidate span."""
    toks = tokens(cand.text)
    stems = token_stems(cand.text, toks)
    spans = span_candidates(cand.text, toks)
    if not spans:
        return None
    scores = model.scores(np.array([span_features(q, cand.text, toks, stems, s) for s in spans], np.float64))
    k = int(np.argmax(scores))
    return Span(*span_text(cand.text, toks, spans[k], q.head), sigmoid(float(scores[k])))


def short_answer(assessment: Assessment, model: AnswererModel) -> str:
    """The learned span of the best sentence, '' for why/how questions.

    A span that is the whole sentence adds nothing and is dropped."""
    q, best = assessment.question, assessment.ranked[0]
    span = None if q.kind in NO_SHORT_ANSWER else best_span(q, best, model.span)
    text = best.text[span[0]:span[1]].strip(" ,;:") if span else ""
    return "" if word_count(text) >= word_count(best.text) - 1 else text


def other_sources(assessment: Assessment, model: AnswererModel, short: str,
                  unit=lambda c: c.chunk.source,
                  restating: Restating | None = None) -> tuple[list[Reading], list[Reading]]:
    """Sentences of other documents (`unit`) that give the answer another value, or the same value more
    precisely (for answers without a short value, such as reasons, only copies of the answer's sentence
    with a value changed); see `rag.evidence.conflicts`."""
    q, best = assessment.question, assessment.ranked[0]

    def answers_alone(cand: Candidate) -> bool:
        return model.evidence.probability(evidence_row(q, [cand], model.span)) >= conflicts.LIKELY

    def value_in(cand: Candidate) -> tuple[str, float]:
        found = scored_span(q, cand, model.span)
        return (cand.text[found.start:found.end].strip(" ,;:"), found.probability) if found else ("", 0.0)

    first = Reading(best, parse(short), value_in(best)[1] if short else 0.0)
    elsewhere = candidates(restating(best.text)) if restating else []
    others = conflicts.readings(first, q.kind, q.asked, assessment.ranked[1:], answers_alone, value_in,
                                model.conflict_gap, unit, elsewhere)
    return conflicts.disagreements(first, others)


def disagreement(short: str, differ: list[Reading], assessment: Assessment) -> Conflict:
    """The answer's value and the other sources' as one disagreement, each sentence quoted whole and cited."""
    values = [(differ[0].was or short, assessment.ranked[0])] + [(r.value.text, r.cand) for r in differ]
    said = [value for value, _ in values]
    cites = [Citation.of(cand.chunk, *quoted(cand), assessment.confidence) for _, cand in values]
    return conflicts.conflict(conflicts.kind_of(said), list(zip(said, cites)))


def quoted(cand: Candidate) -> tuple[int, int]:
    """The document offsets of a sentence as quoted (see `rag.citations.quotable`)."""
    a, b = quotable(cand.text)
    return cand.start + a, cand.start + b


def _holds(scored: ScoredChunk, found: list[Conflict]) -> bool:
    """Whether a passage states one of the values of a disagreement (so the LLM is shown both sides)."""
    return any(v.citation.chunk_id == scored.chunk.id for c in found for v in c.values)


def read_row(confidence: float, reader_yes: float) -> list[float]:
    """The read gate's row (`model.READ_GATE_FEATURES`): the evidence probability and the reader's probability
    that the best sentence answers, both as log-odds."""
    return [logit(confidence), logit(reader_yes)]


def read_confidence(model: AnswererModel, confidence: float, reader_yes: float | None) -> float | None:
    """The probability of answering once a reader has judged the best sentence, or None when the weights have no
    read gate or the reader could not tell (then the evidence probability stands, with its own threshold)."""
    if model.read_gate is None or reader_yes is None:
        return None
    return model.read_gate.probability(read_row(confidence, reader_yes))


def model_of(settings) -> AnswererModel:
    """The answerer's weights named by the settings (the bundled ones unless RAG_MODEL_PATH says otherwise)."""
    return load(settings.model_path) if settings.model_path else load()


def threshold_of(settings, model: AnswererModel) -> float:
    """The refusal threshold: RAG_ABSTAIN_THRESHOLD when set, else the model's validated operating point."""
    return model.threshold if settings.abstain_threshold is None else settings.abstain_threshold
