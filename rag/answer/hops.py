"""Questions answered in two steps: a bridge (a fact found first leads to the answer) and a comparison (a
fact found for each thing compared, then compared).

- bridge: retrieve with the question; the names in the best sentences that the question does not say are
  the candidate bridges; retrieve again with the question and each (MAX_BRIDGES at most) and keep the second
  step the evidence model rates highest. The answer cites the second step's sentence, then the first's.
  When no second step passes the refusal threshold, the first step is answered as a fact question.
- comparison: the things compared ('A or B', 'A and B') are each searched with the rest of the question;
  a comparative ('older', 'first', 'more', 'larger') compares the first date or number of each one's best
  sentence; 'the same X' compares the adjectives they are described with ('an American director'); 'both'
  is Yes when each sentence states what is asked (never No: a sentence that does not say it is no
  denial); each thing's sentence is cited, with the verdict first when there is one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.records import Answer, Citation, ScoredChunk
from rag.answer.extractive import MIN_QUOTE_WORDS, compose, trim
from rag.evidence import Assessment
from rag.answer.kinded import Asked, answers, clipped
from text.dates import ENGLISH_MONTHS
from text.entities import entities
from text.terms import STOPWORDS, terms, word_count
from text.values import compare, date_values, parse

CALENDAR = set(ENGLISH_MONTHS) | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
LINK_WORDS = 15           # of the word cap kept for the first step's sentence in a bridge answer
MAX_BRIDGES = 4           # names tried as the bridge
BRIDGE_SENTENCES = 2      # best sentences of the first step the bridge names are read from
EARLIER = re.compile(r"\b(?:older|oldest|first|earlier|earliest|before|sooner|longest-running)\b", re.I)
LATER = re.compile(r"\b(?:younger|youngest|newer|newest|later|latest|last|more recent|most recent)\b", re.I)
MORE = re.compile(r"\b(?:more|most|larger|largest|bigger|biggest|higher|highest|longer|taller|tallest|greater|"
                  r"greatest|heavier|wider|deeper|further|farther)\b", re.I)
LESS = re.compile(r"\b(?:less|least|fewer|fewest|smaller|smallest|lower|lowest|shorter|shortest|lighter)\b", re.I)
YEAR_RE = re.compile(r"\b(?:1[0-9]{3}|20[0-9]{2})\b")


@dataclass
class Step:
    """One retrieval step: its query, passages and assessment."""

    query: str
    ranked: list[ScoredChunk]
    assessment: Assessment


def step(asked: Asked, query: str) -> Step:
    ranked = asked.search(query)
    return Step(query, ranked, asked.assess(ranked, query=query))


def bridges(first: Assessment, question: str) -> list[str]:
    """The names the first step's best sentences give that the question does not say (not all their words):
    what the answer may be about.

    >>> from rag.evidence.features import Candidate
    >>> a = Assessment(None, [Candidate(None, 0, 0, 0, "Kiss and Tell is a 1945 film starring Shirley Temple.")], 0.9)
    >>> bridges(a, "What position was held by the woman who starred in Kiss and Tell?")
    ['Shirley Temple']
    """
    asked = set(terms(question))
    found: list[str] = []
    for cand in first.ranked[:BRIDGE_SENTENCES]:
        for name in entities(cand.text):
            said = set(terms(name))
            if said and not said <= asked and parse(name).kind == "name" and name not in found and \
                    not {w.lower() for w in name.split()} <= CALENDAR and not attributive(name, cand.text):
                found.append(name)
    return found


def attributive(name: str, sentence: str) -> bool:
    """Whether a one-word name is used as an adjective ('an American comedy film'): a word of content follows.

    >>> attributive("American", "a 1945 American comedy film"), attributive("Bergen", "born in Bergen in 1931")
    (True, False)
    """
    after = re.search(rf"\b{re.escape(name)}\s+([a-z]+)", sentence) if " " not in name else None
    return bool(after) and after.group(1) not in STOPWORDS


def rest(question: str, link: str) -> str:
    """The words of a question that the first step's sentence (`link`) does not say: what is still to find
    once the bridge is known.

    >>> rest("Where was the founder of Tessel Works born?", "The wall is built by Tessel Works, a firm.")
    'Where was the founder of born?'
    """
    said = set(terms(link))
    kept = [w for w in question.split() if not set(terms(w)) or not set(terms(w)) <= said]
    return " ".join(kept)


def second_steps(asked: Asked, first: Step) -> list[tuple[str, Step]]:
    """Each bridge name with the step that searched the rest of the question with it, the best rated first."""
    links = first.assessment.ranked[:BRIDGE_SENTENCES]
    tried = []
    for name in bridges(first.assessment, asked.question)[:MAX_BRIDGES]:
        link = next(c for c in links if name in c.text)
        tried.append((name, step(asked, f"{rest(asked.query, link.text)} {name}")))
    tried = [(name, s) for name, s in tried if s.assessment.ranked]
    return sorted(tried, key=lambda ns: -ns[1].assessment.confidence)


def with_bridge(asked: Asked, name: str, first: Step, second: Step) -> Answer:
    """The second step's answer, then the first step's sentence that names the bridge, both cited."""
    composed = compose(second.assessment, asked.evidence, asked.max_words - LINK_WORDS)
    text, cites = composed.text, composed.citations
    link = next(c for c in first.assessment.ranked if name in c.text)
    room = max(MIN_QUOTE_WORDS, asked.max_words - word_count(text) - 1)
    if not any(c.source == link.chunk.source and c.start <= link.start < c.end for c in cites):
        cites = cites + [Citation.of(link.chunk, *clipped(link, name, room), first.assessment.confidence)]
        text = f"{text} {cites[-1].quote} [{len(cites)}]"
    passages = second.ranked + [s for s in first.ranked if s.chunk.id not in {p.chunk.id for p in second.ranked}]
    return asked.reply(text, cites, passages, second.assessment.confidence, composed.short, composed.conflicts)


def as_fact(asked: Asked, at: Step) -> Answer:
    """One step's answer as a fact question's, or the refusal under the threshold."""
    assessment = at.assessment
    if not assessment.ranked:
        return asked.refuse(at.ranked, 0.0)
    composed = compose(assessment, asked.evidence, asked.max_words)
    if assessment.confidence < asked.threshold:
        return asked.refuse(at.ranked, assessment.confidence, composed.text)
    return asked.reply(composed.text, composed.citations, at.ranked, assessment.confidence, composed.short,
                       composed.conflicts)


@answers("bridge")
def bridge(asked: Asked) -> Answer:
    """The answer found through a bridge name (both steps cited), else the first step answered as a fact."""
    first = step(asked, asked.query)
    if not first.assessment.ranked:
        return asked.refuse(first.ranked, 0.0)
    for name, second in second_steps(asked, first):
        short = asked.evidence.short_answer(second.assessment)
        if second.assessment.confidence >= asked.threshold and not set(terms(short)) & set(terms(name)):
            return with_bridge(asked, name, first, second)
    return as_fact(asked, first)


ITEMS_RE = re.compile(r"(?:,|\bbetween|\b(?:is|are|was|were|did|does|do|has|have|had))\s+(?P<a>[^,?]+?)\s+"
                      r"(?:or|and)\s+(?P<b>[^,?]+?)(?:\s+(?:both|of|the same|have|had|has|in|on|at|for|each|"
                      r"are|were|is|was|share|shared|older|younger|first)\b[^?]*)?\s*\?*$", re.I)


def compared(question: str) -> list[str]:
    """The two things a comparison names ('..., A or B?', 'Were A and B ...?'), else the names it gives.

    >>> compared("Which is older, the castle or the abbey?"), compared("Were Ann Lee and Bob Ray of the same nationality?")
    (['the castle', 'the abbey'], ['Ann Lee', 'Bob Ray'])
    """
    found = ITEMS_RE.search(question.strip())
    if found:
        return [found.group("a").strip(), found.group("b").strip()]
    return [e for e in entities(question) if e.lower() not in STOPWORDS][:2]


def relation(question: str, items: list[str]) -> str:
    """The question's words that are not the things compared (what is compared about them).

    >>> relation("Who was born first, Ann Lee or Bob Ray?", ["Ann Lee", "Bob Ray"])
    'Who was born first'
    """
    text = question
    for item in items:
        text = text.replace(item, " ")
    return " ".join(w for w in re.sub(r"\b(?:or|and|both|either)\b|[,?]", " ", text).split())


def first_value(text: str, kind: str):
    """The first date ('date') or number ('count', amounts too) a sentence states, parsed, or None."""
    if kind == "date":
        spans = date_values(text) or [m.span() for m in YEAR_RE.finditer(text)]
        return parse(text[spans[0][0]:spans[0][1]]) if spans else None
    numbers = re.findall(r"\$?\d[\d,.]*(?:\s?(?:million|billion|thousand))?", text)
    values = [parse(n) for n in numbers]
    return next((v for v in values if v.kind in ("count", "amount")), None)


def ordered(question: str, values: list) -> int | None:
    """Which of two values the comparative picks (0 or 1), None when it cannot tell.

    >>> ordered("Which is older?", [parse("1990"), parse("1985")]), ordered("Which has more members?", [parse("12"), parse("40")])
    (1, 1)
    """
    if any(v is None for v in values) or values[0].kind != values[1].kind or compare(*values) != "differs":
        return None
    key = [v.parts[0] if v.kind == "date" else v.parts[-1] for v in values]
    if None in key:
        return None
    if EARLIER.search(question) or LESS.search(question):
        return 0 if key[0] < key[1] else 1
    if LATER.search(question) or MORE.search(question):
        return 0 if key[0] > key[1] else 1
    return None


def qualities(sentence: str, skip: set[str]) -> set[str]:
    """The capitalised words a sentence uses as adjectives ('an American director'), but for those in `skip`:
    what kind of thing, of which country or style, it says something is.

    >>> sorted(qualities("Ann Lee is an American director and a Catholic convert.", set()))
    ['American', 'Catholic']
    """
    found = re.findall(r"\b([A-Z][a-z]+)\s+([a-z]+)", sentence)
    return {word for word, after in found if after not in STOPWORDS and word.lower() not in skip}


def states(sentence: str, wanted: set[str]) -> bool:
    """Whether a sentence states every term of what a question asks of the things compared.

    >>> states("Verdi was an Italian opera composer.", set(terms("opera composers"))), states("Ann ran.", {"opera"})
    (True, False)
    """
    return bool(wanted) and wanted <= set(terms(sentence))


def verdict(question: str, items: list[str], sentences: list[str]) -> str:
    """The answer a comparison's sentences give (one per thing compared): the thing a comparative picks by
    the dates or numbers they state; for 'the same X', Yes when they describe the things with one adjective
    name ('American') and No when with different ones; for 'both', Yes when each states what is asked;
    '' when the sentences do not settle it."""
    skip = set(terms(" ".join(items))) | set(terms(question))
    if re.search(r"\bsame\b", question, re.I):
        said = [qualities(s, skip) for s in sentences]
        return "" if not all(said) else "Yes" if said[0] & said[1] else "No"
    if re.search(r"\bboth\b", question, re.I):
        wanted = set(terms(relation(question, items))) - {"type", "kind"}
        return "Yes" if all(states(s, wanted) for s in sentences) else ""
    kind = "date" if EARLIER.search(question) or LATER.search(question) else "count"
    picked = ordered(question, [first_value(s, kind) for s in sentences])
    return items[picked] if picked is not None else ""


@answers("comparison")
def comparison(asked: Asked) -> Answer:
    """Each compared thing's best sentence, cited, after the verdict they give when they give one."""
    items = compared(asked.question)
    if len(items) < 2:
        return as_fact(asked, step(asked, asked.query))
    about = relation(asked.question, items)
    facts = [step(asked, f"{item} {about}") for item in items]
    if not all(f.assessment.ranked for f in facts) or max(f.assessment.confidence for f in facts) < asked.threshold:
        ranked = [s for f in facts for s in f.ranked]
        return asked.refuse(ranked, max((f.assessment.confidence for f in facts), default=0.0))
    shorts = [asked.evidence.short_answer(f.assessment) for f in facts]
    said = verdict(asked.question, items, [f.assessment.ranked[0].text for f in facts])
    room = max(8, (asked.max_words - word_count(said) - 2 * len(items)) // len(items))
    cites = [Citation.of(f.assessment.ranked[0].chunk, *clipped(f.assessment.ranked[0], s, room), f.assessment.confidence)
             for f, s in zip(facts, shorts)]
    body = " ".join(f"{c.quote} [{n}]" for n, c in enumerate(cites, 1))
    confidence = min(f.assessment.confidence for f in facts)
    return asked.reply(f"{said} — {body}" if said else body, cites, [s for f in facts for s in f.ranked], confidence,
                       said)
