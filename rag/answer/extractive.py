"""The offline answer mode: verbatim sentences with [n] citations, or a plain refusal.

The evidence component (`rag.evidence`) scores every sentence of the retrieved passages, turns the best of them
into a probability that the documents answer the question, and cuts the short answer out of the chosen
sentence. This mode composes the answer from that assessment: the short answer, then the sentence quoted and
cited (cut to its clauses when long), another source's disagreement or more precise statement when there is
one; under the threshold (`RAG_ABSTAIN_THRESHOLD`, chosen on validation data) it refuses. A question of another
kind (a summary, reasons, a list ...) is answered by its own answerer (`rag.answer.kinded`); where a reader is
installed (`rag.answer.reader`), its reading of the best sentences replaces the span model's short answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from core.records import Answer, Citation, Conflict, Delta
from rag.answer import REFUSAL, Tools, register, words
from rag.answer.kinds import kind_of
from rag.answer.reader import SENTENCES, Read, ReadRequest, reader_for
from rag.citations import quotable
from rag.conversation import standalone
from rag.evidence import Assessment, Evidence, EvidenceRequest, conflicts, quoted
from rag.evidence.conflicts import Reading
from rag.evidence.features import Candidate
from text.terms import terms, word_count

MAX_SENTENCE_WORDS = 45
SENTENCE_ENDS = (".", "!", "?", '"', "”", "’", ")")
MIN_QUOTE_WORDS = 8      # a quote beside a disagreement is cut to its clause, but not below this


@dataclass(frozen=True)
class Composed:
    """An answer's text with [n] markers, its short answer, the citations the markers index, and the
    disagreements of other sources."""

    text: str
    short: str
    citations: list[Citation]
    conflicts: list[Conflict]


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


def _similar(a: str, b: str) -> bool:
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= 0.5


def compose(assessment: Assessment, evidence: Evidence, max_words: int, short: str | None = None) -> Composed:
    """The answer an assessment supports, quoted and cited, with the disagreements of other sources (each
    value quoted and cited, with a one-line note) or a more precise statement of the value; `short`, when
    given, replaces the span model's short answer (a reader's)."""
    ranked = assessment.ranked
    best = ranked[0]
    short = evidence.short_answer(assessment) if short is None else short
    first = trim(best, short)
    cites = [Citation.of(best.chunk, first[0], first[1], assessment.confidence)]
    body = f"{cites[0].quote} [1]"
    text = f"{short} — {body}" if short else body
    differ, finer = evidence.readings(assessment, short)
    if differ:
        return _with_disagreement(short, differ, assessment, max_words)
    if finer:
        cite = _cite(finer[0].cand, finer[0].value.text, assessment.confidence)
        return Composed(f"{text} {conflicts.refinement(finer[0], cite, 2)}", short, cites + [cite], [])
    second = next((c for c in ranked[1:4] if _worth_adding(c, best, assessment)), None)
    if second and word_count(text) + word_count(second.text) + 1 <= max_words:
        cites.append(Citation.of(second.chunk, *quoted(second), assessment.confidence))
        text += f" {cites[-1].quote} [2]"
    return Composed(text, short, cites, [])


def _cite(cand: Candidate, value: str, score: float, limit: int = MAX_SENTENCE_WORDS) -> Citation:
    a, b = trim(cand, value, limit)
    return Citation.of(cand.chunk, a, b, score)


def _with_disagreement(short: str, differ: list[Reading], assessment: Assessment, max_words: int) -> Composed:
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
    return Composed(f"{note} {body}", short, cites, [found])


def _worth_adding(cand: Candidate, best: Candidate, assessment: Assessment) -> bool:
    """A second sentence helps when the question wants an explanation, not a name or a number, and the
    model rates it nearly as high as the first (within one unit of log-odds)."""
    if assessment.question.kind not in ("reason", "other") or _similar(cand.text, best.text):
        return False
    return cand.score >= best.score - 1.0


@dataclass(frozen=True)
class Conclusion:
    """What turns an assessment into an answer: the request it assessed, the evidence component that made it
    (its weights, refusal threshold and search for copies of the answer's sentence) and the word cap."""

    request: EvidenceRequest
    evidence: Evidence
    max_words: int = 60


def conclude(c: Conclusion, assessment: Assessment, read: Read | None = None) -> Answer:
    """The answer or the refusal the assessment supports; with a reader's `read`, its sentence is the answer's
    evidence and its phrase the short answer (the evidence model still decides whether to answer)."""
    r = c.request
    passages = [Citation.passage(s) for s in r.ranked]
    if not assessment.ranked:
        return Answer(REFUSAL, [], True, r.question, r.query, "offline", passages=passages, confidence=0.0)
    short = None
    if read is not None:
        assessment, short = reread(assessment, read)
    composed = compose(assessment, c.evidence, c.max_words, short)
    if assessment.confidence < c.evidence.threshold:
        return Answer(REFUSAL, [], True, r.question, r.query, "offline", passages=passages,
                      confidence=assessment.confidence, withheld=composed.text)
    return Answer(composed.text, composed.citations, False, r.question, r.query, "offline",
                  short_answer=composed.short, passages=passages, confidence=assessment.confidence,
                  conflicts=composed.conflicts)


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
        conclusion, assessment = self.assessed(question, query, retriever)
        answer = kinded(conclude(conclusion, assessment), kind)
        reader = self.reader_of(conclusion, assessment, answer)
        yield from (Delta(d.text, provisional=reader is not None) for d in words(answer.text))
        yield kinded(self.read(conclusion, assessment, reader), kind) if reader else answer

    def reader_of(self, conclusion: Conclusion, assessment: Assessment, answer: Answer):
        """The installed reader, when it has something to do: read an answer, or judge the best sentence for a
        read gate (which may answer what the evidence alone refused, or refuse what it answered)."""
        reader = reader_for(self.tools.answer) if assessment.ranked else None
        gated = gates(reader, conclusion.evidence)
        return reader if reader is not None and (gated or not answer.abstained) else None

    def read(self, conclusion: Conclusion, assessment: Assessment, reader) -> Answer:
        """The answer once the reader has judged the best sentence (where the weights have a read gate) and
        read the best few: the read phrase as the short answer, or the answer as it was when the read fails."""
        if gates(reader, conclusion.evidence):
            yes = reader.judge(conclusion.request.query, assessment.ranked[0].text)
            evidence, assessment = conclusion.evidence.judged(assessment, yes,
                                                              self.tools.answer.abstain_threshold is not None)
            conclusion = replace(conclusion, evidence=evidence)
        answer = conclude(conclusion, assessment)
        if answer.abstained:
            return answer
        sentences = [cand.text for cand in assessment.ranked[:SENTENCES]]
        read = reader.run(ReadRequest(conclusion.request.query, sentences, self.tools.answer.reader_seconds))
        return conclude(conclusion, assessment, read) if read else answer

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

    def assessed(self, question: str, query: str, retriever) -> tuple[Conclusion, Assessment]:
        """The passages for `query` and the evidence component's assessment of them, with what concluding needs."""
        vector = self.tools.encode_one(query)
        request = EvidenceRequest(question, query, retriever.search(query, vector), vector)
        evidence = Evidence.of(self.tools, retriever)
        return Conclusion(request, evidence, self.tools.answer.max_answer_words), evidence.run(request)


def gates(reader, evidence: Evidence) -> bool:
    """Whether a reader judges the best sentence for the read gate: it can, and the weights have one."""
    return reader is not None and hasattr(reader, "judge") and evidence.model.read_gate is not None


def kinded(answer: Answer, kind: str) -> Answer:
    """The answer marked with the kind of question it answers."""
    answer.kind = kind
    return answer
