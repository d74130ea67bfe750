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


def answer_type(question: str) -> str:
    """The kind of short answer a question asks for.

    >>> [answer_type(q) for q in ["How much was he offered?", "When did it open?", "Who warned Baku?",
    ...   "Where did Tehran open a consulate?", "How many were arrested?", "Why is Iran worried?"]]
    ['money', 'date', 'person', 'place', 'number', 'reason']
    """
    q = question.lower().strip()
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


NAME_OF_RE = re.compile(r"\bname of (?:the |a |an |this |that |its |his |her )?((?:[\w’'-]+ ){0,3}?[\w’'-]+)"
                        r"(?= (?:who|that|which|whom|was|is|did|does)\b| [A-Z]|\?|$)")


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


def named_words(question: str) -> list[str]:
    """For 'what is the name of the X Y?' questions, the terms X Y the name must stand next to.

    >>> named_words("What was the name of the gunman who attacked the embassy?")
    ['gunman']
    >>> named_words("What is the name of the Iranian president?")
    ['iran', 'president']
    >>> named_words("What is the name of the airport Baku rehabilitated?")
    ['airport']
    """
    match = NAME_OF_RE.search(question)
    return terms(match.group(1)) if match else []


def stands_next_to(sentence: str, span: tuple[int, int], words: list[str], reach: int = 30) -> bool:
    """True when every word of `words` occurs within `reach` characters of the span.

    >>> s = "Azerbaijani President Ilham Aliyev condemned remarks from an Iranian cleric."
    >>> stands_next_to(s, (22, 34), ["president"]), stands_next_to(s, (22, 34), ["iran", "president"])
    (True, False)
    >>> s = "He met an advisor to the Iranian President, and Foreign Minister Abbas Araghchi."
    >>> stands_next_to(s, (65, 79), ["iran", "president"])
    False
    """
    before = COORDINATION_RE.split(sentence[max(0, span[0] - reach):span[0]])[-1]
    after = COORDINATION_RE.split(sentence[span[1]:span[1] + reach])[0]
    return set(words) <= set(terms(before + " " + sentence[span[0]:span[1]] + " " + after))


GENERIC_COUNTED = {"people", "persons", "individuals", "men", "women"}
GOVERNED_RE = re.compile(r"\bthe ([a-z]+) of\s+$")


def counts_what_is_asked(sentence: str, span: tuple[int, int], question: str) -> bool:
    """Whether a number counts what a 'how many' question asks about.

    'the death of 13 people' counts deaths: no answer to how many were injured. A count of people in
    general does not answer how many of a named group ('how many Azerbaijani nationals').

    >>> s = "The attack resulted in the death of 13 people and injury of others."
    >>> counts_what_is_asked(s, (36, 45), "How many people died?"), counts_what_is_asked(s, (36, 45), "How many people were injured?")
    (True, False)
    >>> counts_what_is_asked(s, (36, 45), "How many Azerbaijani nationals died?")
    False
    """
    asked = set(terms(question))
    governed = GOVERNED_RE.search(sentence[:span[0]])
    if governed and stem(governed.group(1)) not in asked:
        return False
    counted = sentence[span[0]:span[1]].split()[-1].lower()
    group = re.search(r"\bhow many\s+(\w+)", question, re.I)
    return counted not in GENERIC_COUNTED or not group or group.group(1).lower() in GENERIC_COUNTED


# A name joined to the words by "and"/"or"/";" is another item of a list, not the one they describe.
COORDINATION_RE = re.compile(r",?\s+(?:and|or)\s+|;\s*")
FUTURE_RE = re.compile(r"\bwhen (?:will|shall|is \w+(?: \w+){0,5} (?:expected|due|going|scheduled|set) to)\b", re.I)


def fits_tense(span: str, question: str, published: str) -> bool:
    """A question about the future ('when will ...') is not answered by a year before the article's own.

    >>> fits_tense("September 2022", "When will the corridor be completed?", "2023-05-25")
    False
    >>> fits_tense("2026", "When will the corridor be completed?", "2023-05-25")
    True
    >>> fits_tense("September 2022", "When was the corridor planned?", "2023-05-25")
    True
    """
    years = re.findall(r"\b(?:19|20)\d\d\b", span)
    if not FUTURE_RE.search(question) or not years or not published[:4].isdigit():
        return True
    return max(int(y) for y in years) >= int(published[:4])
