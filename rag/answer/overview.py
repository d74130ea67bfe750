"""Summaries: the central statement of each document a question selects, cited, oldest document first.

The selection is the documents the filters allow, narrowed to those the question names (by file name or
title); a near-copy of another selected document is counted once (ingest records it: `duplicate_of`). A
question with a topic ('what do the documents say about the embassy?') is summarised from the passages
retrieved for it that name the topic; a topic no document names is refused, like an empty selection.

A sentence is central when its words (weighted by IDF) recur across the selection: its mean cosine with
every other sentence (a degree centrality, as LexRank's). Each document gives its most central sentence (or,
from fewer documents, its few most central), preferring one that fits LINE_WORDS; a sentence that repeats
another pick is skipped.
"""
from __future__ import annotations

import math
import re
from collections import Counter

from core.records import Answer, DocumentInfo, ScoredChunk
from rag.evidence.features import Candidate, candidates
from rag.answer.kinded import Asked, Line, answers, cited_lines, names, passages_of, selection, similar, topic_terms
from text.terms import terms, word_count

MAX_DOCUMENTS = 4         # sentences a summary quotes: one a document or, from fewer documents, as many each
                          # as make this many
MIN_WORDS = 6             # a shorter sentence is a heading, a caption or a byline
MAX_WORDS = 45            # a longer one is a run-on (a list, a menu) more than a statement
DEPTH = 3                 # a topic's summary reads three times the usual passages
UNDATED = "9999"          # undated documents after the dated ones
LINE_WORDS = 25           # words a line quotes: a summary is a few whole statements, so it is capped by its lines
                          # (MAX_DOCUMENTS of them), not by RAG_MAX_ANSWER_WORDS (a fact answer's cap)
LEANING = set("""it its this that these those they them their he she his her such however moreover furthermore
additionally also instead nevertheless nonetheless meanwhile then thus therefore hence still yet but and or so besides
likewise similarly consequently accordingly otherwise""".split())
LEANING_RE = re.compile(r"(?:on the other hand|in (?:response|addition|contrast|this context|turn)|as a result|"
                        r"for (?:example|instance)|at the same time|in summary|in conclusion)\b", re.I)


def vector(text: str, idf) -> dict[str, float]:
    """A sentence's unit TF-IDF vector.

    >>> vector("Iran warns Iran", lambda t: 1.0)
    {'iran': 0.8944271909999159, 'warn': 0.4472135954999579}
    """
    weights = {t: n * idf(t) for t, n in Counter(terms(text)).items()}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {t: w / norm for t, w in weights.items()}


def centrality(cands: list[Candidate], idf) -> list[float]:
    """Each sentence's mean cosine with all the other sentences.

    >>> c = lambda s: Candidate(None, 0, 0, 0, s)
    >>> [round(x, 2) for x in centrality([c("Iran warns Baku"), c("Baku answers Iran"), c("Rain fell")], lambda t: 1.0)]
    [0.33, 0.33, 0.0]
    """
    vectors = [vector(c.text, idf) for c in cands]
    out = []
    for i, v in enumerate(vectors):
        total = sum(sum(w * u.get(t, 0.0) for t, w in v.items()) for j, u in enumerate(vectors) if j != i)
        out.append(total / max(1, len(vectors) - 1))
    return out


def statement(cand: Candidate) -> bool:
    """Whether a sentence reads as a statement on its own: between MIN_WORDS and MAX_WORDS words, ending as
    a sentence (not a question), not opening on a word that leans on the sentence before ('However', 'It', 'This').

    >>> [statement(Candidate(None, 0, 0, 0, s)) for s in ("Iran and Azerbaijan are at odds over the ties.",
    ...   "Loading...", "On the other hand, Baku accuses Tehran of plots.")]
    [True, False, False]
    """
    first = cand.text.split(maxsplit=1)[0].strip(",").lower() if cand.text.strip() else ""
    return MIN_WORDS <= word_count(cand.text) <= MAX_WORDS and cand.text.rstrip()[-1:] in ".!\"”’)" and \
        first not in LEANING and not LEANING_RE.match(cand.text)


def fitted(score: float, words: int, budget: int) -> float:
    """A sentence's centrality, scaled down by how far it overruns the words a line may quote (a quote cut
    to fit loses the clauses that made it central).

    >>> fitted(0.4, 12, 15), fitted(0.4, 30, 15)
    (0.4, 0.2)
    """
    return score * min(1.0, budget / max(words, 1))


def picks(cands: list[Candidate], idf, budget: int, quota: int = 1) -> list[Candidate]:
    """The most central statements for a line of `budget` words, at most `quota` a document
    and MAX_DOCUMENTS in all, the most central first, without repeats of an earlier pick."""
    scored = sorted(((fitted(score, word_count(c.text), budget), i, c) for i, (score, c)
                     in enumerate(zip(centrality(cands, idf), cands)) if statement(c)), key=lambda x: (-x[0], x[1]))
    chosen: list[Candidate] = []
    for _, _, cand in scored:
        taken = sum(c.chunk.source == cand.chunk.source for c in chosen)
        if taken < quota and not any(similar(cand.text, c.text) for c in chosen):
            chosen.append(cand)
    return chosen[:MAX_DOCUMENTS]


def topical(asked: Asked, docs: list[DocumentInfo], topic: list[str]) -> tuple[list[ScoredChunk], list[Candidate]]:
    """The passages retrieved for a topic in the selected documents, and their sentences that name it."""
    sources = {d.source for d in docs}
    ranked = [s for s in asked.search(depth=DEPTH) if s.chunk.source in sources]
    return ranked, [c for c in candidates(ranked) if set(terms(c.text)) & set(topic)]


@answers("summary")
def summary(asked: Asked) -> Answer:
    """The central statements of the selected documents (of those on the question's topic, if it has one),
    one cited line per document, oldest document first; a refusal when nothing is selected or no document
    names the topic."""
    docs = selection(asked)
    named = " ".join(f"{d.name} {d.title}" for d in docs if names(asked.question, d))
    topic = [t for t in topic_terms(asked.question) if t not in set(terms(named))]
    if topic and all(asked.corpus.idf(t) >= asked.corpus.max_idf for t in topic):
        return asked.refuse([])
    ranked, cands = topical(asked, docs, topic) if topic else (passages_of(asked, docs), None)
    cands = candidates(ranked) if cands is None else cands
    if not docs or not cands:
        return asked.refuse(ranked)
    asked.corpus.prime_text([c.text for c in cands])
    quota = max(1, MAX_DOCUMENTS // len({c.chunk.source for c in cands}))
    chosen = picks(cands, asked.corpus.idf, LINE_WORDS, quota)
    dates = {d.source: d.date for d in docs}
    chosen.sort(key=lambda c: (dates.get(c.chunk.source) or UNDATED, c.chunk.source, c.start))
    count = len({c.chunk.source for c in chosen})
    head = f"Main points of {count} documents, oldest first:" if count > 1 else "Main points of the document:"
    lines = [Line(c, label=dates.get(c.chunk.source, "") if count > 1 else "") for c in chosen]
    text, cites = cited_lines(lines, word_count(head) + len(lines) * (LINE_WORDS + 2), 1.0, head)
    return asked.reply(text, cites, [s for s in ranked if s.chunk.id in {c.chunk.id for c in chosen}])
