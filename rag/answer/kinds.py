"""Question kinds: the shape of answer a question wants, decided from its wording.

One fact ('Who chairs the council?') is the default. The others are rules over how English asks for
them, each a class with a worked example and one registry line; the registry's order is their
precedence (a disagreement or a summary is recognised before a comparison, a comparison before a
yes/no question, ...). A new kind is one class and one `@kind("name")` line; it is answered by the
answerer registered for it in `rag.answer.kinded` (a kind without one is answered as a fact).

The rules were written from the language of each kind, not from any benchmark's items, and are tested on
labelled public questions they were not written from (HotpotQA's bridge/comparison types, MultiHop-RAG's
question types and yes/no answers: tests/test_question_kinds.py).
"""
from __future__ import annotations

import re

from core.registry import Registry
from text.grammar import A_QUANTITY, CURRENCY_SIGN, QUANTITY_WORD

FACT = "fact"
KINDS = Registry("question kind")
kind = KINDS.register

SOURCES = r"(?:sources?|documents?|articles?|reports?|accounts?|texts?|papers?|files?|outlets?|stories|story|" \
          r"versions?|collection|corpus)"
FUNCTION = r"(?:in|on|at|of|from|to|by|for|with|and|or|but|about|into|under|over|after|before|during|through|" \
           r"since|than|as|is|are|was|were|be|been|being|has|have|had|do|does|did)"
AUXILIARY = r"(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|shall|may|might|must)"
NOT_PLURAL = {"series", "species", "news", "means", "physics", "politics", "economics", "mathematics", "status",
              "campus", "bus", "census", "genus", "virus", "chorus", "corpus", "focus", "basis", "analysis",
              "crisis", "thesis", "axis", "process", "business", "address", "access", "class", "glass", "boss", "does",
              "has", "was", "is", "this", "his", "its", "hers", "ours", "yours", "theirs", "whose", "less", "unless",
              "always", "perhaps", "thus", "plus", "towards", "afterwards", "sometimes", "overseas", "nevertheless"}


def kind_of(question: str) -> str:
    """The kind of a question: the first registered kind whose rule it matches, else 'fact'.

    >>> [kind_of(q) for q in ("Who chairs the council?", "Summarize these articles.",
    ...   "Why is Iran worried about the ties?", "Is the border closed?")]
    ['fact', 'summary', 'reasons', 'yesno']
    """
    text = " ".join(question.split())
    return next((name for name, rule in KINDS.items() if rule.matches(text)), FACT)


class Rule:
    """A kind recognised by a regular expression (searched case-insensitively)."""

    pattern: re.Pattern

    @classmethod
    def matches(cls, question: str) -> bool:
        return bool(cls.pattern.search(question))


@kind("disagreements")
class Disagreements(Rule):
    """Where the sources contradict each other: a word of disagreement about the sources ('differ' only
    in a wh-question: 'do the articles differ?' compares them), or of inconsistency in itself.

    >>> [Disagreements.matches(q) for q in ("What do the sources disagree on?", "Are there discrepancies?",
    ...   "Where do the articles differ?", "Why do Iran and Azerbaijan disagree?", "Do the reports differ?")]
    [True, True, True, False, False]
    """

    pattern = re.compile(
        rf"\b{SOURCES}\b.*\b(?:disagree|conflict|contradict|inconsisten|diverg|dispute)\w*|"
        rf"\b(?:disagree|conflict|contradict|inconsisten|diverg)\w*\b.*\b{SOURCES}\b|"
        rf"^(?:what|where|how|which|on what)\b.*(?:\b{SOURCES}\b.*\bdiffer|\bdiffer\w*\b.*\b{SOURCES}\b)|"
        r"\b(?:discrepanc|inconsistenc|contradiction)\w*", re.I)


@kind("summary")
class Summary(Rule):
    """A summary of the collection, of named documents or of what they say on a topic.

    >>> [Summary.matches(q) for q in ("Summarize the main points of these articles.", "Give me an overview.",
    ...   "What is this document about?", "What do the reports say about the embassy?", "Who summarized it?")]
    [True, True, True, True, False]
    """

    pattern = re.compile(
        r"^(?:please\s+|can you\s+|could you\s+)?(?:summari[sz]e|sum up|recap|outline|brief me)\b|"
        r"\b(?:a|an|the|brief|short|quick)\s+(?:summary|overview|synopsis|rundown|recap|digest|gist)\b|"
        r"\b(?:main|key|central|principal|major|important)\s+(?:points?|takeaways?|ideas?|themes?|findings?|"
        r"messages?|arguments?|facts)\b|\btl;?\s?dr\b|"
        rf"\bwhat\s+(?:is|are|was|were)\s+(?:this|these|the|that|those)\s+(?:\w+\s+)?{SOURCES}\s+about\b|"
        rf"\bwhat\s+(?:do|does|did)\s+(?:this|these|the|that|those|my|our)\s+(?:\w+\s+)?{SOURCES}\s+"
        r"(?:say|tell|cover|report|discuss)\b", re.I)


@kind("comparison")
class Comparison(Rule):
    """Two or more things compared: a choice between alternatives ('A or B'), 'compare', 'difference
    between', 'in common', 'than'; in a yes/no question also 'both', 'the same', 'similar', 'while'.

    >>> [Comparison.matches(q) for q in ("Which is older, the castle or the abbey?",
    ...   "Were Ann and Bob of the same nationality?", "Are both films American?", "Is Rome larger than Oslo?",
    ...   "Did more than 300 people attend?", "Which firm, reported by both papers, won?", "Who founded it?")]
    [True, True, True, True, False, False, False]
    """

    pattern = re.compile(
        rf"^(?:which|who|what|whose|where|when|{AUXILIARY})\b.*\w,?\s+or\s+(?:the\s+|a\s+|an\s+)?[\w\"'“‘]|"
        r"\b(?:compare[sd]?|comparison|versus|vs\.?)\b|\bdifferences?\s+between\b|\bin common\b|"
        r"\band\s+[^,]*\bboth\b|"
        r"\b(?!(?:other|rather|whether|either|neither|never|ever|however|after|under|over|order|number|"
        r"member|letter|water|matter|power|paper)\b)(?:\w+er|more|less|fewer)\s+(?:\w+\s+)?than\s+"
        rf"(?!\d|{CURRENCY_SIGN}|a\s+(?:{A_QUANTITY}))(?!(?:{QUANTITY_WORD})\b)", re.I)   # not 'than 300', 'than ten'
    paired = re.compile(
        rf"^(?:{AUXILIARY})\b.*(?:\bboth\b|\beither\b|\bthe same\b|\bsimilar\b|\bdifferent\b|\balike\b|"
        r"\bwhile\b|\bwhereas\b|\bin contrast\b|\bas opposed to\b|\bcompared\b)", re.I)

    @classmethod
    def matches(cls, question: str) -> bool:
        return bool(cls.pattern.search(question) or cls.paired.search(question))


@kind("reasons")
class Reasons(Rule):
    """Causes, motives or concerns: 'why', 'how come', 'what are the reasons/concerns', 'what worries X'.

    >>> [Reasons.matches(q) for q in ("Why is Iran worried about Azerbaijan's ties with Israel?",
    ...   "What are Iran's main concerns about the alliance?", "What led to the escalation?",
    ...   "How did Baku respond?")]
    [True, True, True, False]
    """

    pattern = re.compile(
        r"\bwhy\b|\bhow come\b|"
        r"\bwhat\s+(?:is|are|was|were)\s+(?:\w+(?:'s|’s)\s+|the\s+|its\s+|their\s+|his\s+|her\s+)?"
        r"(?:main\s+|key\s+|chief\s+|primary\s+|underlying\s+)?(?:reasons?|causes?|motives?|motivations?|"
        r"grounds|rationale|concerns?|fears?|worries|objections?|purpose|aims?|goals?)\b|"
        r"\bwhat\s+(?:caused|causes|led|leads|drove|drives|motivated|motivates|prompted|prompts|explains|"
        r"worries|worried|concerns|concerned|alarms|alarmed|frightens|bothers|angers|angered)\b|"
        r"\breasons?\s+(?:for|behind|why)\b|"
        r"\bhow\s+(?:is|are|was|were)\b.*\b(?:worried|concerned|afraid|threatened|alarmed)\b", re.I)


@kind("list")
class Listing(Rule):
    """Every item of a kind: 'list/name all ...', 'all the X', 'which X-s' (a plural noun asked for).

    >>> [Listing.matches(q) for q in ("List the weapons Israel sold.", "What are all the arrests mentioned?",
    ...   "Which countries border Iran?", "What weapons has Israel sold?", "Which series has more books?",
    ...   "Which leader accused Baku?", "What does Iran fear?")]
    [True, True, True, True, False, False, False]
    """

    pattern = re.compile(
        r"^(?:please\s+)?(?:list|enumerate|name\s+(?:all|every|each|the\s+\w+s\b))|"
        r"\b(?:all|every|each)\s+(?:of\s+)?the\s+\w+|\bwhat\s+are\s+all\b", re.I)
    plural = re.compile(rf"^(?:which|what)\s+(?:are\s+(?:the\s+)?)?(?:kinds?\s+of\s+|types?\s+of\s+|sorts?\s+of\s+)?"
                        rf"(?:(?!{AUXILIARY}\b)[a-z-]+\s+){{0,2}}?(?P<head>[a-z-]+s)\b", re.I)

    @classmethod
    def matches(cls, question: str) -> bool:
        head = cls.plural.search(question)
        return bool(cls.pattern.search(question)) or bool(head) and plural(head.group("head"))


def plural(word: str) -> bool:
    """Whether a noun ending in s is a plural ('countries'), not a word that only looks like one ('series').

    >>> plural("countries"), plural("series"), plural("analysis"), plural("was")
    (True, False, False, False)
    """
    word = word.lower()
    return not (word in NOT_PLURAL or word.endswith(("ss", "us", "is")) or len(word) <= 3)


@kind("yesno")
class YesNo(Rule):
    """A question answered yes or no: it opens with an auxiliary verb and its subject, or does so after a
    fronted phrase ('After the vote, did the party split?').

    >>> [YesNo.matches(q) for q in ("Did Azerbaijan open an embassy in Israel?", "Has Iran denied it?",
    ...   "After the talks, was there a deal?", "When did it open?", "After the talks, what did Iran do?")]
    [True, True, True, False, False]
    """

    pattern = re.compile(rf"(?:^(?:and\s+|so\s+)?|^(?:between|after|before|following|given|since|in|on|during|"
                         rf"according to|based on|regarding|as for)\b[^?]*,\s+)(?:{AUXILIARY}|isn't|aren't|wasn't|"
                         r"weren't|don't|doesn't|didn't|hasn't|haven't|hadn't|can't|won't)\s+[\"'“‘]?(?:there|the|it|they|he|"
                         r"she|[A-Z]\w*)", re.I)


@kind("bridge")
class Bridge(Rule):
    """A fact about something the question only describes through another fact: a relative clause or a
    participle after a noun ('the woman who portrayed X', 'the film directed by Y').

    >>> [Bridge.matches(q) for q in ("What position was held by the woman who portrayed Corliss Archer?",
    ...   "Which airline is owned by the company founded by Ann Lee?", "Where was the founder of Tessel Works born?",
    ...   "Who founded the company?", "In which year was the castle built?")]
    [True, True, True, False, False]
    """

    role = re.compile(  # 'the founder of X': someone or something known by a relation to a name
        r"\b[Tt]he\s+(?:co-?)?(?:founder|creator|author|writer|director|producer|owner|builder|designer|inventor|"
        r"composer|publisher|developer|manufacturer|father|mother|son|daughter|wife|husband|brother|sister|parent|"
        r"spouse|successor|predecessor|leader|head|chairman|ceo|president|coach|captain|manager|host|"
        r"headquarters|birthplace|hometown|home town)\s+of\s+(?:the\s+)?[A-Z0-9\"'“‘]")

    @classmethod
    def matches(cls, question: str) -> bool:
        return bool(cls.pattern.search(question) or cls.role.search(question))

    pattern = re.compile(
        rf"\b(?!(?:{FUNCTION})\b)[a-z]+,?\s+(?:who|whom|whose|which|where)\s+(?!(?:is|are|was|were|did|does|do)\s*\?)\w|"
        r"\b(?!(?:is|are|was|were|be|been|being|has|have|had|do|does|did|that|it|he|she|they)\b)[a-z]+,?\s+"
        r"that\s+(?:is|are|was|were|has|have|had|\w+ed)\b|"
        r"\b[a-z]+s?\b(?<!\bis)(?<!\bare)(?<!\bwas)(?<!\bwere)(?<!\bbe)(?<!\bbeen)(?<!\bhas)(?<!\bhave)(?<!\bhad)"
        r",?\s+(?:directed|written|produced|founded|created|designed|developed|owned|operated|published|released|"
        r"hosted|starring|featuring|named|located|based|born|formed|established|composed|performed|"
        r"played|coached|managed|led|recorded|invented|discovered|portrayed|reported|described|mentioned)\s+"
        r"(?:by|in|as|for|at|on|from|with)\b", re.I)
