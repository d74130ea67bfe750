"""Conflicting sources: passages of other documents that answer the same question with a different value.

Two ways a sentence of another document can disagree with the answer's sentence:
- a copy: the same sentence with a few runs of words replaced, one of them inside the answer's value or
  itself a value (a date, number, amount or name) — a republished text with another date, figure or name.
  Copies are looked for among the retrieved passages and, by a lexical search with the answer's sentence,
  among all passages the filters allow;
- a restatement: it answers the question in other words. The evidence model, shown that sentence alone,
  rates it more likely than not to answer (>= 0.5, that logistic model's decision point; not the refusal
  threshold, which a user moves to trade refusals against wrong answers and which should not make rivals
  easier or harder to find); the span model (the one that picks the short answer) finds in it a value of
  the kind the question asks for (a date for 'when', a number for 'how many', a name for 'who') with
  probability >= 0.5 (the answer's own value must pass it too); it names every name and number of the
  question that the answer's sentence names (else it may be about another event; other words may be
  paraphrased); and
  the sentence model scores it within the model's `conflict_gap` of the answer's sentence (learned by
  `rag train`: where 90 % of the training passages restating a right answer fall, capped by a 1 % budget of
  false flags on the training answers — `learn.fit`).

Values are compared in normal form (`text.values`): the same value in another form is agreement, a more
precise statement of it ('1 November 2022' beside '2022') is a refinement, anything else of the same kind is
a disagreement. Only other documents can disagree with the answer: within one document two values are two
facts (another year, another arrest), not a dispute.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

from core.records import Citation, Conflict, ConflictValue
from rag.evidence.features import Candidate
from text.entities import PATTERNS
from text.terms import WORD_RE, terms
from text.values import (ANSWER_VALUES, MIN_SHARED_WORDS, Value, answer_values, changed_spans, compare,
                         date_values, is_value, only_added, parse)

MAX_VALUES = 3            # values shown in one disagreement (the answer's and two others at most)
TITLE_WORDS = 8
LIKELY = 0.5              # the span model's decision point: a value more likely than not the answer
VALUE_KINDS = ANSWER_VALUES   # the values that answer each kind of question (others are not compared)


@dataclass(frozen=True)
class Reading:
    """A candidate sentence with the value it gives for the answer; `copy` when it is the answer's sentence
    with that value changed (then values of any kind are compared)."""

    cand: Candidate
    value: Value
    likely: float = 1.0      # the span model's probability that `value` is the sentence's answer
    copy: bool = False
    was: str = ""            # for a copy: what the answer's sentence says in the changed value's place


def readings(best: Reading, kind: str, asked: Iterable[str], ranked: list[Candidate],
             answers_alone: Callable[[Candidate], bool],
             value_in: Callable[[Candidate], tuple[str, float]], max_gap: float,
             unit: Callable[[Candidate], str] = lambda c: c.chunk.source,
             elsewhere: Iterable[Candidate] = ()) -> list[Reading]:
    """The sentences of other documents (`unit`) than the answer's (`best`) that give a value for it, best
    first: copies of its sentence with a changed value, and sentences that answer a `kind` question on their
    own with a value of that kind, scoring at most `max_gap` under the answer's sentence and naming (with
    its neighbours) every term of the question (`asked`) that the answer's sentence names. Sentences found
    `elsewhere` (not ranked for the question) count only as copies. A sentence the answer's own document
    also states is no disagreement (a copy of that document repeats its other facts unchanged), nor is the
    answer's sentence with words only added or removed (the span model may read '1760 AD' otherwise). Where the
    answer has a short value, a copy whose changed run lies outside it disagrees only if the span model, reading
    the copy alone, takes the changed run for the copy's answer ('Azerbaijan (10)' beside 'Azerbaijan (1)' in
    copies that both mark the 30th anniversary is a label, not a rival anniversary)."""
    out, wanted = [], VALUE_KINDS.get(kind, set()) if best.likely >= LIKELY else set()
    seen = {(c.chunk.source, c.start) for c in ranked}
    extra = [c for c in elsewhere if (c.chunk.source, c.start) not in seen]
    own = {c.text for c in [*ranked, *extra] if unit(c) == unit(best.cand)}
    for cand, ranked_here in [*((c, True) for c in ranked), *((c, False) for c in extra)]:
        if unit(cand) == unit(best.cand) or cand.text in own:
            continue
        runs, inside = value_runs(best.value.text, best.cand.text, cand.text)
        changed = copied_value(best.value.text, runs, answer_values(kind), inside, best.value.kind in wanted)
        if changed and not inside and best.value.text and \
                not answers_with(cand.text, value_in(cand)[0], best.cand.text, changed[1]):
            changed = None      # the copy, read alone, gives another part of it as the answer: another fact
        if changed:
            out.append(Reading(cand, parse(changed[1]), copy=True, was=changed[0]))
        elif ranked_here and best.value.kind in wanted and best.cand.score - cand.score <= max_gap and \
                not only_added(best.cand.text, cand.text) and covers(asked, best.cand.text, cand.context) and \
                answers_alone(cand):
            text, likely = value_in(cand)
            value = parse(text)
            if text and value.kind in wanted and likely >= LIKELY:
                out.append(Reading(cand, value, likely))
    return out


def answers_with(copy: str, answer: str, sentence: str, run: str) -> bool:
    """Whether the `answer` the span model reads in a `copy` of the answer's `sentence` holds the copy's changed
    `run` where it stands (by offsets: a changed '(5)' is not the 5 of 'March 5').

    >>> a, b = "Baku (13) said on March 5, 2023 it won.", "Baku (5) said on March 5, 2023 it won."
    >>> answers_with(b, "March 5, 2023", a, "5"), answers_with(b.replace("March 5", "March 9"), "March 9, 2023",
    ...                                                        a.replace("(13)", "(5)"), "9")
    (False, True)
    """
    at = copy.find(answer) if answer else -1
    return at >= 0 and any(k >= at and m <= at + len(answer) for _, _, k, m in changed_spans(sentence, copy)
                           if copy[k:m] == run)


def covers(asked: Iterable[str], answer: str, rival: str) -> bool:
    """Whether the rival text names every question term the answer's sentence names: a sentence that leaves
    out something the answer matched ('the Iran-affiliated cell') may be about another event.

    >>> asked = {"arrest", "iran", "cell"}
    >>> covers(asked, "They announced the arrest of a group tied to Iran.", "Baku arrested a cell run by Iran.")
    True
    >>> covers(asked, "They announced the arrest of a group tied to Iran.", "Baku arrested a second group.")
    False
    """
    wanted = set(asked) & set(terms(answer))
    return wanted <= set(terms(rival))


def overlaps(run: str, value: str) -> bool:
    """Whether a changed run of words is (part of) the answer's value.

    >>> overlaps("2", "November 2, 2022"), overlaps("said", "November 2, 2022"), overlaps("Le Boeuf Fort", "Fort")
    (True, False, True)
    """
    return bool(set(terms(run)) & set(terms(value)))


def value_runs(value: str, sentence: str, copy: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The runs changed between the answer's `sentence` and a `copy` of it, and those of them inside the answer's
    `value` where it stands in the sentence (by shared words when the value is not in it verbatim).

    >>> value_runs("November 2, 2022", "Baku (2) said on November 2, 2022.", "Baku (1) said on November 2, 2022.")
    ([('2', '1')], [])
    """
    spans = changed_spans(sentence, copy)
    runs = [(sentence[i:j], copy[k:m]) for i, j, k, m in spans]
    at = sentence.find(value) if value else -1
    if at < 0:
        return runs, [(old, new) for old, new in runs if overlaps(old, value)]
    return runs, [run for run, (i, j, _, _) in zip(runs, spans) if i < at + len(value) and at < j]


def copied_value(value: str, runs: list[tuple[str, str]], kinds: set[str] | None = None,
                 inside: list[tuple[str, str]] | None = None, settled: bool = False) -> tuple[str, str] | None:
    """Of the runs changed between the answer's sentence and a copy of it, the one that disagrees: the run
    inside the answer's value (`inside` when known, else those sharing its words; returned as the whole value,
    changed), else the first run that is a value itself (a date, number, amount or name on either side; of
    `kinds`, those that answer the question, when given, else of the kind of the answer's value when it has
    one); None when only wording changed. When the answer's value is `settled` (a likely value of the kind
    asked), a value changed elsewhere in its sentence is another fact: 'Azerbaijan (4)' beside
    'Azerbaijan (3)' disputes no count of 20 million.

    >>> copied_value("$1.5 billion", [("said", "stated"), ("$1.5", "$4.8")])
    ('$1.5 billion', '$4.8 billion')
    >>> copied_value("real life", [("other parts", "Alderic Venn")]), copied_value("x", [("said", "stated")])
    (('other parts', 'Alderic Venn'), None)
    >>> copied_value("20 million", [("3", "4")], {"count"}), copied_value("20 million", [("3", "4")], settled=True)
    (('3', '4'), None)
    >>> copied_value("the council", [("3", "4")], {"name"}), copied_value("Benjamin Netanyahu", [("3", "4")])
    (None, None)
    """
    inside = [(old, new) for old, new in runs if overlaps(old, value)] if inside is None else inside
    if inside:
        return value, swap(value, *inside[0])
    if settled:
        return None
    mine = parse(value).kind
    kinds = {mine} if kinds is None and mine != "phrase" else kinds
    return next(((old, new) for old, new in runs if is_value(old, kinds) or is_value(new, kinds)), None)


def swap(value: str, old: str, new: str) -> str:
    """The other document's value: the answer's value with the changed run replaced (the run itself when
    the answer's value does not hold it).

    Only the first whole run changes: a digit inside another number is not the run.

    >>> swap("$1.5 billion", "$1.5", "$4.8"), swap("Rollo", "911", "860"), swap("November 2, 2022", "2", "5")
    ('$4.8 billion', '860', 'November 5, 2022')
    """
    run = re.compile(rf"(?<![0-9A-Za-z]){re.escape(old)}(?![0-9A-Za-z]|[.,]\d)")
    changed, count = run.subn(lambda _: new, value, count=1)
    return changed if count else new


def disagreements(first: Reading, others: list[Reading]) -> tuple[list[Reading], list[Reading]]:
    """The readings that give a different value from `first` (one per value, best first, at most
    MAX_VALUES - 1), and those that give the same value more precisely.

    >>> c = lambda s: Candidate(None, 0, 0, 0, s)
    >>> r = lambda v: Reading(c(v), parse(v))
    >>> differ, finer = disagreements(r("1 November"), [r("November 1, 2022"), r("2 November"), r("Nov. 2")])
    >>> [d.value.text for d in differ], [f.value.text for f in finer]
    (['2 November'], ['November 1, 2022'])
    """
    differ: list[Reading] = []
    finer: list[Reading] = []
    for other in others:
        mine = parse(other.was) if other.copy else first.value
        relation = compare(mine, other.value)
        if other.copy and relation == "unlike":
            relation = "differs"       # the same sentence with other words in the value's place
        if relation == "differs" and all(compare(d.value, other.value) not in ("same", "finer", "coarser")
                                         for d in differ):
            differ.append(other)
        elif relation == "finer" and not finer:
            finer.append(other)
    return differ[:MAX_VALUES - 1], finer


def kind_of(values: list[str]) -> str:
    """The kind of a disagreement: that of its first value that is more than a phrase.

    >>> kind_of(["other parts", "Alderic Venn"]), kind_of(["1 November", "2 November"])
    ('name', 'date')
    """
    kinds = [parse(v).kind for v in values]
    return next((k for k in kinds if k != "phrase"), "phrase")


def conflict(kind: str, cited: list[tuple[str, Citation]]) -> Conflict:
    """The disagreement as a record, its values ordered newest source first (undated sources last).

    >>> a = Citation("/d/a.txt", "A", "q", 0, 1, 0.9, date="2022-11-02")
    >>> b = Citation("/d/b.txt", "B", "q", 0, 1, 0.9, date="2023-05-25")
    >>> [v.value for v in conflict("date", [("1 November", a), ("November 2, 2022", b)]).values]
    ['November 2, 2022', '1 November']
    """
    ordered = sorted(cited, key=lambda vc: vc[1].date or "", reverse=True)
    return Conflict(kind, [ConflictValue(value, citation) for value, citation in ordered])


def label(citation: Citation) -> str:
    """How a note names a source: its title (cut to TITLE_WORDS words) or file name, and its date when known.

    >>> label(Citation("/d/004.txt", "Azerbaijan to open embassy in Israel, arrests Iran-affiliated cell", "q", 0, 1, 0.9,
    ...                date="2022-11-02"))
    '"Azerbaijan to open embassy in Israel, arrests Iran-affiliated…" (2022-11-02)'
    """
    words = (citation.title or citation.name).split()
    name = " ".join(words[:TITLE_WORDS]).rstrip(",;:") + ("…" if len(words) > TITLE_WORDS else "")
    return f'"{name}"' + (f" ({citation.date})" if citation.date else "")


def note(found: Conflict, marker: Callable[[Citation], int]) -> str:
    """The one-line note of a disagreement, each value with its source and citation marker.

    >>> a = Citation("/d/a.txt", "Cradle", "q", 0, 1, 0.9, date="2022-11-02")
    >>> b = Citation("/d/b.txt", "Analysis", "q", 0, 1, 0.9)
    >>> note(conflict("date", [("1 November", a), ("November 2, 2022", b)]), {a: 1, b: 2}.get)
    'Sources disagree: "Cradle" (2022-11-02) says 1 November [1]; "Analysis" says November 2, 2022 [2].'
    """
    parts = [f"{label(v.citation)} says {v.value} [{marker(v.citation)}]" for v in found.values]
    return "Sources disagree: " + "; ".join(parts) + "."


def refinement(reading: Reading, citation: Citation, number: int) -> str:
    """The note of a source that gives the answer's value more precisely (no disagreement).

    >>> r = Reading(Candidate(None, 0, 0, 0, "x"), parse("November 2, 2022"))
    >>> refinement(r, Citation("/d/b.txt", "Analysis", "q", 0, 1, 0.9), 2)
    '"Analysis" gives it more precisely: November 2, 2022 [2].'
    """
    return f"{label(citation)} gives it more precisely: {reading.value.text} [{number}]."


# --- a scan of many passages for disagreements, without a question (on demand: `rag.answer.scan`)
SCANNED = {"date": "When", "count": "How many", "amount": "How much"}   # value kinds compared, and how each is asked
MIN_PREDICATE = 2         # terms outside names two sentences share when they make one statement ('announced', 'arrest')


@dataclass(frozen=True)
class Stated:
    """A sentence with the dates, counts and amounts it states."""

    cand: Candidate
    values: tuple[Value, ...]


def stated(cand: Candidate) -> Stated:
    """A sentence with its values of the kinds a scan compares.

    >>> [v.text for v in stated(Candidate(None, 0, 0, 0, "On 1 November 2022 they arrested 12 men.")).values]
    ['1 November 2022', '12 men']
    """
    spans = date_values(cand.text) + [m.span() for kind in ("money", "number") for m in PATTERNS[kind].finditer(cand.text)]
    spans = [(a, b) for a, b in spans if not any(x <= a and b <= y and (x, y) != (a, b) for x, y in spans)]
    values = [parse(cand.text[a:b]) for a, b in sorted(set(spans))]
    return Stated(cand, tuple(v for v in values if v.kind in SCANNED))


def rival_kind(a: Stated, b: Stated) -> str:
    """The kind of value two sentences give differently ('' when none): a value of that kind differs and
    none of that kind is the same (or a finer statement of it) in both.

    >>> s = lambda t: stated(Candidate(None, 0, 0, 0, t))
    >>> rival_kind(s("Arrested on 1 November."), s("Arrested on November 2, 2022.")), \\
    ...     rival_kind(s("Met on 2 May and 9 June."), s("Met on 9 June."))
    ('date', '')
    """
    for kind in SCANNED:
        pairs = [compare(x, y) for x in a.values for y in b.values if x.kind == kind and y.kind == kind]
        if "differs" in pairs and not set(pairs) & {"same", "finer", "coarser"}:
            return kind
    return ""


def one_statement(a: str, b: str) -> list[str]:
    """The terms two sentences share when they make one statement (at least MIN_SHARED_WORDS, of which
    MIN_PREDICATE outside names: the same event said twice), else [].

    >>> one_statement("The State Security Service announced the arrest of a group on 1 November.",
    ...               "The State Security Service announced on November 2 the arrest of an armed group.")
    ['stat', 'securit', 'servic', 'announc', 'arrest', 'group', 'november']
    >>> one_statement("Azerbaijan's Ministry of Foreign Affairs summoned the envoy.",
    ...               "Iran's Ministry of Foreign Affairs expressed hope for Azerbaijan.")
    []
    """
    ours, theirs = terms(a), set(terms(b))
    shared = [t for t in dict.fromkeys(ours) if t in theirs]
    lower = set(terms(" ".join(w for w in a.split() if not w[:1].isupper()))) & \
        set(terms(" ".join(w for w in b.split() if not w[:1].isupper())))
    return shared if len(shared) >= MIN_SHARED_WORDS and len(lower & set(shared)) >= MIN_PREDICATE else []


def rival_pairs(found: list[Stated], unit=lambda c: c.chunk.source) -> list[tuple[Stated, Stated, str]]:
    """The pairs of sentences of different documents (`unit`) that make one statement with a value of one
    kind given differently, those sharing most terms first."""
    pairs = []
    for i, a in enumerate(found):
        for b in found[i + 1:]:
            kind = unit(a.cand) != unit(b.cand) and rival_kind(a, b)
            shared = one_statement(a.cand.text, b.cand.text) if kind else []
            if shared:
                pairs.append((len(shared), a, b, kind))
    return [(a, b, kind) for _, a, b, kind in sorted(pairs, key=lambda p: -p[0])]


def pair_question(a: Stated, b: Stated, kind: str) -> str:
    """The question both sentences answer, as the conflict detector is asked it: the words of `a` that `b`
    also says (its values left out), asked for a value of `kind`.

    >>> s = lambda t: stated(Candidate(None, 0, 0, 0, t))
    >>> pair_question(s("The Service announced the arrest on 1 November."), s("On 2 November the Service announced an arrest."), "date")
    'When Service announced arrest?'
    """
    text = a.cand.text
    for start, end in sorted((m.span() for v in a.values for m in [re.search(re.escape(v.text), text)] if m),
                             reverse=True):
        text = text[:start] + text[end:]
    theirs = set(terms(b.cand.text))
    words = [w for w in WORD_RE.findall(text) if set(terms(w)) and set(terms(w)) <= theirs]
    return f"{SCANNED[kind]} {' '.join(dict.fromkeys(words))}?"
