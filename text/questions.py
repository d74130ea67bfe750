"""Questions: what a question asks for (its answer type, its key terms, the relation it names)
and the rules that relate a candidate span to it.
"""
from __future__ import annotations

import re

from core.errors import BadQuestion
from text.terms import STOPWORDS, TYPE_WORDS, WORD_RE, stem, terms

MAX_QUESTION_CHARS = 2000


def clean_question(question: str) -> str:
    """The question without control characters, squeezed, capped; BadQuestion if nothing is left.

    >>> clean_question("  When\\x00 did it\\nhappen? ")
    'When did it happen?'
    >>> clean_question("Who \\udce9 is it?")       # invalid UTF-8 in a command-line argument
    'Who is it?'
    """
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]+", " ", question or "")  # controls, lone surrogates
    text = " ".join(text.split())[:MAX_QUESTION_CHARS]
    if not re.search(r"\w", text):
        raise BadQuestion("the question is empty: type a question with at least one word")
    return text


ACCORDING_RE = re.compile(r",?\s*\b(according to|as reported by|per)\s+[^,?;]+", re.I)


def strip_attribution(question: str) -> str:
    """The question without an 'according to X' clause, which names a source, not what to find.

    >>> strip_attribution("When did it open, according to The Cradle?")
    'When did it open?'
    """
    return ACCORDING_RE.sub("", question)


def question_terms(question: str) -> list[str]:
    """Terms of a question that its answer sentence should contain (answer-type words dropped).

    >>> question_terms("What percentage of arms imports came from Israel?")
    ['arms', 'import', 'came', 'israel']
    """
    type_stems = {stem(w) for w in TYPE_WORDS}
    return [t for t in terms(strip_attribution(question)) if t not in type_stems]


def key_entities(question: str) -> list[str]:
    """Stemmed terms of the names and numbers in a question (capitalised words after the first, digits).

    >>> key_entities("What is the population of Canada in 2020?")
    ['canada', '2020']
    """
    words = WORD_RE.findall(strip_attribution(question))
    keys = [w for i, w in enumerate(words) if (i > 0 and w[:1].isupper()) or w.isdigit()]
    return [stem(w) for w in keys if w.lower() not in STOPWORDS]


# "how much water/oil/land": a quantity of a thing, not a sum of money ("how much was he paid" is money)
QUANTITY_RE = re.compile(r"\bhow much (?!money\b|(?:did|does|do|was|is|were|are|will|would|has|have|had|can|could|"
                         r"should|cost|costs|worth)\b)[a-z]+")


def answer_type(question: str) -> str:
    """The kind of short answer a question asks for.

    >>> [answer_type(q) for q in ["How much was he offered?", "When did it open?", "Who warned Baku?",
    ...   "Where did Tehran open a consulate?", "How many were arrested?", "Why is Iran worried?"]]
    ['money', 'date', 'person', 'place', 'number', 'reason']
    >>> answer_type("How much water does the reservoir hold?"), answer_type("How much did the stake cost?")
    ('number', 'money')
    """
    q = question.lower().strip()
    if QUANTITY_RE.search(q):
        return "number"
    rules = [
        (r"\bhow much (money|did .* (pay|cost|spend)|was .* (paid|offered|worth))|\b(price|cost|worth|paid|pay|"
         r"how much money|amount|value)\b.*\?|\bhow much\b", "money"),
        (r"\b(when|what date|which date|what year|which year|what month|which month|what day|since when)\b", "date"),
        (r"\b(how many|what percentage|what percent|what share|what proportion|how far|how long|how large|"
         r"how big|what number|how old|population)\b", "number"),
        (r"\b(where|(which|what) (\w+ ){0,2}(city|country|countries|province|region|town|village|place|border|"
         r"territory|capital))\b|\bin what (city|country|place)\b", "place"),
        (r"\b(who|whom|whose)\b|\bwhat (is|was) the name\b|\bwhich (\w+ )?(person|official|minister|president|"
         r"leader|spokes\w+|businessman|journalist|editor|cleric|newspaper|agency|organi[sz]ation|group|company|"
         r"movement)\b", "person"),
        (r"^(why|how)\b|\bwhat (are|were|is|was) the (reasons?|motives?|causes?|concerns?)\b", "reason"),
    ]
    for pattern, kind in rules:
        if re.search(pattern, q):
            return "money" if kind == "money" and not re.search(r"much|price|cost|worth|paid|pay|amount|value", q) \
                else kind
    return "other"


RELATION_RE = re.compile(r"\b(?:what|who) (?:is|was|are|were) (?:the|its|their) ([a-z-]+) of\b", re.I)


def relation_word(question: str) -> str:
    """The relation a 'what/who is the X of Y?' question asks about, unless X only names the answer's type.

    >>> relation_word("Who is the editor of the news site Pravda?")
    'editor'
    >>> relation_word("What is the capital of Armenia?"), relation_word("What is the population of Azerbaijan?")
    ('capital', 'populat')
    """
    match = RELATION_RE.search(question)
    word = match.group(1).lower() if match else ""
    return "" if not word or word in TYPE_WORDS or word in STOPWORDS else stem(word)
