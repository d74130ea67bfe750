"""Reasons, lists and yes/no questions, answered offline from the passages retrieved for them.

- reasons: the sentences that state a cause or a concern (a cue word with what it is about: 'because
  of', 'fears that', 'wary of', 'concerned about', 'aims to' ...) about the question's subject, best first;
- list: every distinct item the passages give, one cited line each: the sentences the evidence model rates
  as answering the question on their own, with the short answer the span model finds in each;
- yes/no: 'Yes' or 'No' only when the cited sentence states every term of the question (then 'No' when
  one of the two is negated and the other not); otherwise the supporting sentence without a verdict.

The evidence model's refusal threshold applies to each as to a fact question.
"""
from __future__ import annotations

import re

from core.records import Answer, Citation, ScoredChunk
from rag.evidence.conflicts import LIKELY
from rag.answer.extractive import compose, trim
from rag.evidence import Assessment, evidence_row, scored_span
from rag.evidence.features import Candidate, Question, negated
from rag.answer.kinded import Asked, Line, answers, cited_lines, distinct, fits
from text.terms import terms, word_count
from text.values import compare, parse

DEPTH = 2                 # reasons and lists search twice as many passages as a fact question
READ = 24                 # best-scored sentences a reasons or list answer is chosen from
MAX_LINES = 5             # items of a list
REASONS = 2               # reasons given (each quote then has half the word cap)
MIN_NEWS = 2              # terms a reason must add to the question
CAUSE_WORDS = "reasons concerns fears"
CAUSE_RE = re.compile(
    r"\b(?:because|due to|owing to|as a result of|result(?:s|ed)? (?:of|from)|stem(?:s|med)? from|driven by|"
    r"rooted in|in order to|so that|aim(?:s|ed)? (?:to|at)|seek(?:s|ing)? to|sought to|intend(?:s|ed)? to|"
    r"in response to|(?:led|leads?) to|caus(?:e|es|ed|ing)|reasons? (?:for|why|is|was)|"
    r"concern(?:s|ed)? (?:about|over|that|regarding|for|of|with|by)|fear(?:s|ed)?\b|"
    r"worr(?:y|ies|ied) (?:about|that|over)|wary of|apprehensi\w* (?:about|of|over|regarding)|"
    r"alarm(?:s|ed)?\b|afraid (?:of|that)|(?:views?|sees?|perceives?) [\w\s'’-]{1,60}? as|"
    r"accus(?:es|ed|ing) [\w\s'’-]{1,40}? of|suspect(?:s|ed)? [\w\s'’-]{1,40}? of)", re.I)


def gated(asked: Asked, ranked: list[ScoredChunk]):
    """The passages and their assessment, or the refusal when the evidence model rates them under the
    threshold (its answer withheld, as a fact question's)."""
    assessment = asked.assess(ranked)
    if not assessment.ranked:
        return ranked, assessment, asked.refuse(ranked, 0.0)
    if assessment.confidence < asked.threshold:
        withheld = compose(assessment, asked.evidence, asked.max_words).text
        return ranked, assessment, asked.refuse(ranked, assessment.confidence, withheld)
    return ranked, assessment, None


def cue(text: str) -> str:
    """The words of a sentence that state a cause or a concern ('' when it states none).

    >>> cue("Iran is wary of the intelligence-sharing."), cue("Tehran raised concerns during a meeting."), cue("It rained.")
    ('wary of', '', '')
    """
    found = CAUSE_RE.search(text)
    return found.group(0) if found else ""


def about(q: Question, cand: Candidate) -> bool:
    """Whether a sentence (with its neighbours) names at least half of what the question is about (its names
    and numbers, else its terms).

    >>> from rag.evidence.features import analyse
    >>> q = analyse("Why is Iran worried about Israel?", "Why is Iran worried about Israel?", lambda t: 1.0, 9.0)
    >>> about(q, Candidate(None, 0, 0, 0, "x", context="Iran fears it.")), about(q, Candidate(None, 0, 0, 0, "x", context="Rain."))
    (True, False)
    """
    wanted = set(q.asked)
    return 2 * len(wanted & set(terms(cand.context or cand.text))) >= len(wanted)


def news(q: Question, sentence: str) -> int:
    """How many terms the words after a sentence's cue of cause or concern add to the question: a sentence
    that restates the question in other words ('Iran is concerned about its ties with Israel') explains
    less than one that names the causes ('it fears Israeli presence on its borders and sabotage').

    >>> from rag.evidence.features import analyse
    >>> q = analyse("Why is Iran worried?", "Why is Iran worried?", lambda t: 1.0, 9.0)
    >>> news(q, "Iran is worried about Iran."), news(q, "Iran fears the border plan."), news(q, "Iran is calm.")
    (0, 2, 0)
    """
    found = CAUSE_RE.search(sentence)
    return len(set(terms(sentence[found.end():])) - set(q.weights)) if found else 0


def causes(assessment: Assessment, gap: float) -> list[Candidate]:
    """The sentences that state a cause or concern about the question's subject, scored within `gap` of the
    best (the model's rival-answer gap), those that add most to the question first, without near-copies."""
    q, best = assessment.question, assessment.ranked[0]
    pool = [c for c in assessment.ranked[:READ] if c.score >= best.score - gap and about(q, c)]
    found = [c for c in pool if news(q, c.text) >= MIN_NEWS]
    return distinct(sorted(found, key=lambda c: -news(q, c.text)))[:REASONS]


@answers("reasons")
def reasons(asked: Asked) -> Answer:
    """The causes or concerns the documents state, one cited line each; when no sentence close to the best
    states one, the fact path's answer (its best sentence, and a second that explains it). The passages are
    searched with the question and words of concern and cause, which the sentences that answer a 'why' use
    and the question does not."""
    ranked = asked.search(f"{asked.query} {CAUSE_WORDS}", depth=DEPTH)
    ranked, assessment, refusal = gated(asked, ranked)
    if refusal:
        return refusal
    found = causes(assessment, asked.model.conflict_gap)
    if not found:
        composed = compose(assessment, asked.evidence, asked.max_words)
        return asked.reply(composed.text, composed.citations, ranked, assessment.confidence, composed.short,
                           composed.conflicts)
    text, cites = cited_lines([Line(c, cue(c.text)) for c in found], asked.max_words, assessment.confidence)
    return asked.reply(text, cites, ranked, assessment.confidence)


def answers_alone(asked: Asked, q: Question, cand: Candidate) -> bool:
    """Whether the evidence model rates one sentence, alone, more likely than not to answer the question."""
    return asked.model.evidence.probability(evidence_row(q, [cand], asked.model.span)) >= LIKELY


def item_of(asked: Asked, q: Question, cand: Candidate) -> str:
    """The short answer the span model finds in a sentence ('' when none, or when it is the whole sentence)."""
    found = scored_span(q, cand, asked.model.span)
    text = cand.text[found.start:found.end].strip(" ,;:") if found else ""
    return "" if not text or word_count(text) >= word_count(cand.text) - 1 else text


def same_item(a: str, b: str) -> bool:
    """Whether two items name the same thing (one value, or one a finer statement of the other).

    >>> same_item("Spike LR", "the Spike LR"), same_item("1 November", "November 1, 2022"), same_item("drones", "artillery")
    (True, True, False)
    """
    return compare(parse(a), parse(b)) in ("same", "finer", "coarser")


def items(asked: Asked, assessment: Assessment) -> list[Line]:
    """The distinct items: each sentence that answers on its own (the best always), with its short answer;
    a sentence whose item or wording repeats an earlier one is left out."""
    q, best = assessment.question, assessment.ranked[0]
    found: list[Line] = []
    for cand in distinct(assessment.ranked[:READ]):
        if cand is not best and not answers_alone(asked, q, cand):
            continue
        item = item_of(asked, q, cand)
        if not any(item and line.label and same_item(item, line.label) for line in found):
            found.append(Line(cand, item))
    return found[:MAX_LINES]


@answers("list")
def listing(asked: Asked) -> Answer:
    """Every distinct item found across the passages, one cited line each."""
    ranked, assessment, refusal = gated(asked, asked.search(depth=DEPTH))
    if refusal:
        return refusal
    lines = fits(items(asked, assessment), asked.max_words)
    text, cites = cited_lines(lines, asked.max_words, assessment.confidence)
    return asked.reply(text, cites, ranked, assessment.confidence)


def verdict(question: str, q: Question, sentence: str, around: str = "") -> str:
    """'Yes' when the sentence (with the title and sentences `around` it, which name what it refers to) states every
    term of the question with its polarity, 'No' when it states them all but negated the other way, ''
    otherwise (the sentence is support, not a verdict).

    >>> from rag.evidence.features import analyse
    >>> ask = "Did Baku open an embassy?"
    >>> q = analyse(ask, ask, lambda t: 1.0, 9.0)
    >>> verdict(ask, q, "Baku opened an embassy in 2023."), verdict(ask, q, "Baku did not open an embassy."), \\
    ...     verdict(ask, q, "Baku planned an office.")
    ('Yes', 'No', '')
    """
    if not q.weights or not set(q.weights) <= set(terms(f"{around} {sentence}")):
        return ""
    return "Yes" if negated(question) == negated(sentence) else "No"


@answers("yesno")
def yes_no(asked: Asked) -> Answer:
    """'Yes' or 'No' with the sentence that states it, or that sentence alone when it states no verdict."""
    ranked, assessment, refusal = gated(asked, asked.search())
    if refusal:
        return refusal
    best = assessment.ranked[0]
    said = verdict(asked.question, assessment.question, best.text, f"{best.chunk.title} {best.context}")
    cite = Citation.of(best.chunk, *trim(best, ""), assessment.confidence)
    text = f"{said} — {cite.quote} [1]" if said else f"{cite.quote} [1]"
    return asked.reply(text, [cite], ranked, assessment.confidence, short=said)
