"""Answers to questions that are not one fact (the kinds of `rag.answer.kinds`), offline and cited.

Each kind's answerer is a function registered here with `@answers("kind")`; it gets the question, the
retriever and the tools (`Asked`) and returns an `Answer` whose every quote is the document's text at its
offsets. A kind without an answerer is answered as one fact. What they share lives here: a deeper search,
the evidence model's assessment (its refusal threshold still applies where a question is about something
the passages may not hold), quoting sentences into a list of cited lines within the word cap.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from core.records import Answer, Citation, Conflict, DocumentInfo, ScoredChunk
from core.registry import Registry
from rag.answer import Tools
from rag.answer import REFUSAL
from rag.answer.extractive import MIN_QUOTE_WORDS, SENTENCE_ENDS, trim
from rag.evidence import Assessment, Evidence, EvidenceRequest, quoted
from rag.evidence.features import Candidate
from rag.evidence.model import AnswererModel
from text.terms import STOPWORDS, terms, word_count

KIND_ANSWERS = Registry("question kind")
answers = KIND_ANSWERS.register     # function decorator: @answers("summary") answers that kind's questions
MODE = "offline"


def deeper(retriever, depth: int):
    """The retriever returning `depth` times as many passages (the same one when it has no `top_k`)."""
    if depth <= 1 or not hasattr(retriever, "top_k"):
        return retriever
    wider = copy.copy(retriever)
    wider.top_k = retriever.top_k * depth
    return wider


@dataclass(frozen=True)
class Asked:
    """A question of one kind with what answering it may use."""

    question: str
    query: str
    kind: str
    retriever: object
    tools: Tools
    evidence: Evidence

    @classmethod
    def of(cls, question: str, query: str, kind: str, retriever, tools: Tools) -> "Asked":
        return cls(question, query, kind, retriever, tools, Evidence.of(tools, retriever, copies=False))

    @property
    def model(self) -> AnswererModel:
        return self.evidence.model

    @property
    def threshold(self) -> float:
        return self.evidence.threshold

    @property
    def max_words(self) -> int:
        return self.tools.answer.max_answer_words

    @property
    def corpus(self):
        return self.retriever.corpus

    def search(self, query: str | None = None, depth: int = 1) -> list[ScoredChunk]:
        """The passages for `query` (the question's by default), `depth` times as many as usual."""
        query = query or self.query
        return deeper(self.retriever, depth).search(query, self.tools.encode_one(query))

    def assess(self, ranked: list[ScoredChunk], question: str | None = None, query: str | None = None) -> Assessment:
        """The evidence component's reading of the passages, as the fact path makes it."""
        question, query = question or self.question, query or self.query
        vector = self.tools.encode_one(query) if self.tools.answer.sentence_rerank else None
        return self.evidence.run(EvidenceRequest(question, query, ranked, vector))

    def refuse(self, ranked: list[ScoredChunk], confidence: float | None = None, withheld: str = "") -> Answer:
        return Answer(REFUSAL, [], True, self.question, self.query, MODE, passages=[Citation.passage(s) for s in ranked],
                      confidence=confidence, withheld=withheld, kind=self.kind)

    def reply(self, text: str, cites: list[Citation], ranked: list[ScoredChunk], confidence: float | None = None,
              short: str = "", found: list[Conflict] | None = None) -> Answer:
        return Answer(text, cites, False, self.question, self.query, MODE, short_answer=short,
                      passages=[Citation.passage(s) for s in ranked], confidence=confidence, conflicts=found or [],
                      kind=self.kind)


def answer_kind(question: str, query: str, kind: str, retriever, tools: Tools) -> Answer | None:
    """The answer of the kind's answerer, or None when the kind has none (a fact question)."""
    if kind not in KIND_ANSWERS:
        return None
    return KIND_ANSWERS[kind](Asked.of(question, query, kind, retriever, tools))


@dataclass
class Line:
    """One cited line of a list-like answer: a sentence, the words its quote must keep, an optional label."""

    cand: Candidate
    keep: str = ""
    label: str = ""


def cited_lines(lines: list[Line], max_words: int, score: float, head: str = "") -> tuple[str, list[Citation]]:
    """`head` then each line as '- label: quote [n]', quotes cut to share the word cap (never under
    MIN_QUOTE_WORDS; a quote cut inside its sentence ends with '…'); one citation per distinct quote.

    >>> from core.records import Chunk
    >>> chunk = Chunk("c", "/d/a.txt", "Ann left. Bob stayed home because it rained.", 0, 44, "h")
    >>> cands = [Candidate(chunk, 0, 0, 9, "Ann left."), Candidate(chunk, 0, 10, 44, "Bob stayed home because it rained.")]
    >>> text, cites = cited_lines([Line(cands[0]), Line(cands[1], label="rain")], 60, 0.9, "Two:")
    >>> print(text)
    Two:
    - Ann left. [1]
    - rain: Bob stayed home because it rained. [2]
    >>> [c.quote for c in cites]
    ['Ann left.', 'Bob stayed home because it rained.']
    """
    budget = max(MIN_QUOTE_WORDS, (max_words - word_count(head) - 2 * len(lines)) // max(1, len(lines)))
    cites: list[Citation] = []
    out = [head] if head else []
    for line in lines:
        a, b = clipped(line.cand, line.keep, budget) if line.keep else quoted_within(line.cand, budget)
        cite = Citation.of(line.cand.chunk, a, b, score)
        same = next((n for n, c in enumerate(cites, 1) if (c.source, c.start, c.end) == (cite.source, a, b)), 0)
        if not same:
            cites.append(cite)
        label = f"{line.label}: " if line.label else ""
        cut = "" if cite.quote.endswith(SENTENCE_ENDS) else " …"
        out.append(f"- {label}{cite.quote}{cut} [{same or len(cites)}]")
    return "\n".join(out), cites


def quoted_within(cand: Candidate, limit: int) -> tuple[int, int]:
    """A sentence quoted whole when it fits `limit` words, else its opening clauses (`trim` from its start)."""
    return quoted(cand) if word_count(cand.text) <= limit else clipped(cand, "", limit)


def clipped(cand: Candidate, keep: str, limit: int) -> tuple[int, int]:
    """The document offsets of at most `limit` words of a sentence around `keep`: its clauses (`trim`), cut
    at word boundaries when a clause alone is longer (still the document's text).

    >>> c = Candidate(None, 0, 100, 140, "One two three KEY five six seven eight nine.")
    >>> clipped(c, "KEY", 3), clipped(c, "KEY", 20)
    ((108, 122), (100, 144))
    >>> d = Candidate(None, 0, 0, 40, "On May 2, Baku expelled four diplomats of Iran.")
    >>> d.text[slice(*clipped(d, "", 8))]
    'On May 2, Baku expelled four diplomats of'
    """
    a, b = trim(cand, keep, limit)
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", cand.text[a - cand.start:b - cand.start])]
    if len(words) <= limit and (2 * len(words) >= limit or word_count(cand.text) <= limit):
        return a, b
    if len(words) <= limit:       # a clause much shorter than the room ('On April 6, 2023'): words of the sentence
        a, b = quoted(cand)
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", cand.text[a - cand.start:b - cand.start])]
    at = max(0, cand.text.find(keep, a - cand.start) - (a - cand.start)) if keep else 0
    first = next((i for i, (x, y) in enumerate(words) if y > at), 0)
    first = max(0, min(first - limit // 2, len(words) - limit))
    return a + words[first][0], a + words[first + limit - 1][1]


def fits(lines: list[Line], max_words: int) -> list[Line]:
    """The first lines whose sentences fit the word cap together (at least one).

    >>> c = lambda n: Line(Candidate(None, 0, 0, 0, "w " * n))
    >>> len(fits([c(20), c(25), c(30)], 60))
    2
    """
    kept, used = [], 0
    for line in lines:
        words = min(word_count(line.cand.text), max_words) + 2 + word_count(line.label)
        if kept and used + words > max_words:
            break
        kept.append(line)
        used += words
    return kept


def similar(a: str, b: str, share: float = 0.5) -> bool:
    """Whether two sentences share at least `share` of their terms (Jaccard): one is a near-copy of the other.

    >>> similar("Iran fears Israel's presence.", "Iran fears the presence of Israel."), similar("A b c.", "D e f.")
    (True, False)
    """
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= share


def distinct(cands: list[Candidate]) -> list[Candidate]:
    """The candidates without near-copies of earlier ones (a rewrite of an article restates its sentences)."""
    kept: list[Candidate] = []
    for cand in cands:
        if not any(similar(cand.text, k.text) for k in kept):
            kept.append(cand)
    return kept


KIND_WORDS = set("""summary summarize summarise summarized overview synopsis rundown recap digest gist outline main key
central principal major important point points takeaway takeaways idea ideas theme themes finding findings message
messages argument arguments brief short quick please give write provide make collection corpus source sources
disagree disagreement disagreements differ difference differences conflict conflicts conflicting contradict
contradiction contradictions inconsistent inconsistency inconsistencies discrepancy discrepancies dispute disputes
diverge between among list enumerate all every each these those""".split())


def topic_terms(question: str) -> list[str]:
    """The terms of a summary or disagreement question that name what it is about (its topic), without the
    words that only ask for the kind ('summarize', 'main points', 'sources').

    >>> topic_terms("Summarize the main points of these articles."), topic_terms("What do the documents say about the embassy?")
    ([], ['embass'])
    """
    skip = {t for w in KIND_WORDS for t in terms(w)} | STOPWORDS
    return [t for t in terms(question) if t not in skip]



def selection(asked: Asked, copies: bool = False) -> list[DocumentInfo]:
    """The documents a question is about: those the filters allow, those the question names if it names
    any; without near-copies of another selected document unless `copies`."""
    allowed = [d for d in asked.corpus.documents.values() if _allows(asked.retriever, d)]
    named = [d for d in allowed if names(asked.question, d)]
    chosen = named or allowed
    sources = {d.source for d in chosen}
    return [d for d in chosen if copies or d.duplicate_of not in sources]


def _allows(retriever, doc: DocumentInfo) -> bool:
    filters = getattr(retriever, "filters", None)
    return filters is None or filters.allows_document(doc.source, doc.date)


def names(question: str, doc: DocumentInfo) -> bool:
    """Whether a question names a document: its file name (with or without the extension) or its title.

    >>> d = DocumentInfo("/c/003_report.txt", "h", title="What drives the escalation?")
    >>> names("Summarize 003_report.txt", d), names("Summarize 'what drives the escalation'", d), names("Sum it up", d)
    (True, True, False)
    """
    lowered, name = question.lower(), doc.name.lower()
    stem, title = name.rsplit(".", 1)[0], doc.title.lower().strip(" ?.!")
    return name in lowered or (len(stem) >= 4 and stem in lowered) or (len(title.split()) >= 3 and title in lowered)


def passages_of(asked: Asked, docs: list[DocumentInfo]) -> list[ScoredChunk]:
    """Every committed passage of the documents, in document order (the retriever's store reads them)."""
    found = asked.retriever.store.chunks_of([d.source for d in docs])
    chunks = sorted((c for cs in found.values() for c in cs if asked.corpus.committed(c)),
                    key=lambda c: (c.source, c.start))
    return [ScoredChunk(c, 0.0) for c in chunks]


from rag.answer import gather, hops, overview, scan  # noqa: E402,F401  (each module registers its kinds' answerers)
