"""'What do the sources disagree on?': a scan, on demand, for the disagreements the conflict detector finds.

What is scanned: every passage of the documents the filters allow (up to MAX_SCANNED passages), or, for a
question with a topic ('do the sources disagree about the arrest?') or a larger collection, the passages
retrieved for the question; the answer says which. Pairs of sentences of different documents that make one
statement (`conflicts.one_statement`) with a date, count or amount given differently are put to the
conflict detector of the fact path (`extractive.compose`: the evidence, span and sentence models decide),
asked the question both sentences answer (`conflicts.pair_question`). Each disagreement found is one line
naming the sources, their dates and values, each value cited.
"""
from __future__ import annotations

from dataclasses import replace

from core.records import Answer, Citation, Conflict, ScoredChunk
from rag.evidence import conflicts
from rag.evidence.features import Candidate, candidates
from rag.answer.kinded import Asked, answers, passages_of, selection, topic_terms

MAX_SCANNED = 400         # passages of a whole collection scanned; beyond, those retrieved for the question
MAX_PAIRS = 24            # sentence pairs put to the detector (those sharing most words first)
DEPTH = 3                 # a topic's scan reads three times the usual passages
MAX_SHOWN = 4             # disagreements listed


def scope(asked: Asked) -> tuple[list[ScoredChunk], str]:
    """The passages to scan and how the answer names them."""
    topic = topic_terms(asked.question)
    docs = [] if topic else selection(asked, copies=True)    # a republished copy may change a value
    passages = passages_of(asked, docs) if docs else []
    if docs and len(passages) <= MAX_SCANNED:
        return passages, f"all {len(docs)} documents ({len(passages)} passages)"
    ranked = asked.search(depth=DEPTH)
    return ranked, f"the {len(ranked)} passages retrieved for the question"


def sentence_passage(cand: Candidate) -> ScoredChunk:
    """One sentence as a passage of its own (its offsets in the document kept), for the detector."""
    return ScoredChunk(replace(cand.chunk, text=cand.text, start=cand.start, end=cand.end), 1.0)


def detected(asked: Asked, a: conflicts.Stated, b: conflicts.Stated, kind: str) -> list[Conflict]:
    """The disagreement the fact path's detector finds between two sentences, each taken as the answer in
    turn, asked the question both answer."""
    question = conflicts.pair_question(a, b, kind)
    for first, second in ((a, b), (b, a)):
        assessment = asked.assess([sentence_passage(first.cand), sentence_passage(second.cand)], question, question)
        if assessment.ranked:
            found = asked.evidence.conflicts(assessment)
            if found:
                return found
    return []


def scan(asked: Asked, passages: list[ScoredChunk]) -> list[Conflict]:
    """The disagreements found among the passages, each once."""
    sentences = list({c.text: c for c in reversed(candidates(passages))}.values())[::-1]  # a near-copy's once
    stated = [s for s in map(conflicts.stated, sentences) if s.values]
    found: dict[frozenset, Conflict] = {}
    for a, b, kind in conflicts.rival_pairs(stated)[:MAX_PAIRS]:
        for conflict in detected(asked, a, b, kind):
            found.setdefault(frozenset((v.citation.source, v.citation.start) for v in conflict.values), conflict)
    return list(found.values())


@answers("disagreements")
def disagreements(asked: Asked) -> Answer:
    """One line per disagreement found (sources, dates, values, each cited), saying what was scanned; a
    scan that finds none says so (without a yes or a no: the question may ask either way); a topic no
    document names is refused."""
    topic = topic_terms(asked.question)
    if topic and all(asked.corpus.idf(t) >= asked.corpus.max_idf for t in topic):
        return asked.refuse([])
    passages, scanned = scope(asked)
    if not passages:
        return asked.refuse([])
    found = scan(asked, passages)[:MAX_SHOWN]
    if not found:
        return asked.reply(f"The scan did not find two sources that give a date, number or amount differently "
                           f"for one statement (scanned {scanned}).", [], [])
    cites: list[Citation] = []
    for conflict in found:
        cites += [v.citation for v in conflict.values if v.citation not in cites]
    lines = [f"- {conflicts.note(c, lambda cite: cites.index(cite) + 1)}" for c in found]
    head = f"The sources disagree on {len(found)} point{'s' if len(found) > 1 else ''} (scanned {scanned}):"
    cited = {c.chunk_id for c in cites}
    return asked.reply("\n".join([head, *lines]), cites, [s for s in passages if s.chunk.id in cited],
                       found=found)
