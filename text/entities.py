"""Entities: names, places, organisations, amounts, counts and dates as spans of a sentence.

The span grammar (`PATTERNS`) is defined here once; answer typing, follow-up
entities and near-duplicate detection all read it.
"""
from __future__ import annotations

import re

from text.dates import MONTH
from text.terms import STOPWORDS

NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                "twenty|thirty|forty|fifty|hundred|hundreds|thousand|thousands|dozens?|million|billion")

PATTERNS = {
    "money": re.compile(r"(?:US)?\$\s?\d[\d,.]*(?:\s?(?:million|billion|thousand|[mbk]n?)\b)?|"
                        r"\b\d[\d,.]*\s?(?:million|billion)?\s?(?:dollars|euros|manat|rials?|USD|EUR)\b|"
                        r"\b(?:billions|millions) of dollars\b", re.I),
    "date": re.compile(rf"\b(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),?\s+)?"
                       rf"(?:(?:{MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|"
                       rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTH})(?:,?\s+\d{{4}})?|(?:{MONTH})\s+\d{{4}}|"
                       rf"(?:in|since|by|until|of)\s+(?:1[0-9]|20)\d{{2}}|(?:19|20)\d{{2}})\b"),
    "number": re.compile(rf"\b\d[\d,.]*\d\s?(?:%|percent|per cent)|\b\d+\s?(?:%|percent|per cent)|"
                         rf"\b(?!(?:19|20)\d\d\b)\d[\d,.]*(?<![,.])(?:\s(?:million|billion|thousand))?"
                         rf"(?:\s(?!(?:and|or|the|of|to|in|on|at|by|for|with|from)\b)[a-z]{{3,}})?|"
                         rf"\b(?:{NUMBER_WORDS})\b(?:\s(?!(?:and|or|the|of|to|in|on|at|by|for|with|from)\b)[a-z]{{3,}})?", re.I),
    "entity": re.compile(r"\b(?:[A-Z][\w’'.-]*[a-z][\w’'-]*|[A-Z]{2,})"
                         r"(?:\s+(?:[A-Z][\w’'.-]*|(?:al|bin|ibn|de|of|the|for|and)\b))*(?<![\s.])"),
}


def typed_spans(sentence: str, kind: str, locative: bool = True) -> list[tuple[int, int]]:
    """Spans in `sentence` that could be the short answer of type `kind`.

    >>> s = "He was offered $200,000 on January 25, 2025 in Baku."
    >>> [s[a:b] for a, b in typed_spans(s, "money")], [s[a:b] for a, b in typed_spans(s, "date")]
    (['$200,000'], ['January 25, 2025'])
    >>> typed_spans("2- The attack on the embassy:", "number")
    []
    >>> s = "The canal opened to barges in 1794."
    >>> [s[a:b] for a, b in typed_spans(s, "date")]
    ['in 1794']
    """
    pattern = PATTERNS["entity" if kind in ("person", "place") else kind] if kind in (
        "money", "date", "number", "person", "place") else None
    if pattern is None:
        return []
    spans = [m.span() for m in pattern.finditer(sentence)]
    if kind == "number":
        dates = [m.span() for m in PATTERNS["date"].finditer(sentence)]
        spans = [(a, b) for a, b in spans if not any(a < d1 and d0 < b for d0, d1 in dates)
                 and not LIST_MARKER_RE.match(sentence, a)]
    if kind in ("person", "place"):
        spans = [_trim_entity(sentence, a, b) for a, b in spans]
        spans = [(a, b) for a, b in spans if b > a and sentence[a].isupper() and not _sentence_opener(sentence, a, b)
                 and not CALENDAR_RE.fullmatch(sentence[a:b])]
    if kind == "place":
        spans = [_with_place_noun(sentence, a, b) for a, b in spans
                 if (not locative or LOCATIVE_RE.search(sentence[:a])) and not ROLE_RE.search(sentence[a:b])]
    if kind == "person":
        spans = [(a, b) for a, b in spans if not IN_PLACE_RE.search(sentence[:a])]
    return spans


LIST_MARKER_RE = re.compile(r"(?<![\s\S])\d{1,2}\s?[-.)]\s")  # "2- The attack ...": a heading's number, no count
CALENDAR_RE = re.compile(rf"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|{MONTH})\W*)+")


IN_PLACE_RE = re.compile(r"\b(?:in|at|near|from|into|inside|outside|across)\s+(?:the\s+)?$", re.I)


LOCATIVE_RE = re.compile(r"\b(?:in|at|near|from|into|inside|outside|across|towards?|on|of)\s+(?:the\s+|a\s+|an\s+)?$",
                         re.I)
PLACE_NOUN_RE = re.compile(r"\s+(?:center|centre|city|province|region|border|village|town|capital|airport|embassy|"
                           r"consulate|shrine|corridor|highlands|territory|district|square|port|base)\b")
ORG_RE = re.compile(r"\b(?:Service|Ministry|Agency|Company|Corps|Council|Organi[sz]ation|Movement|Office|Party|"
                    r"Group|Department|Committee|Forces?|University|Embassy|Bank|Industries|Post|Times|Republic|"
                    r"State|Assembly|Parliament|Government|Media|News|Desk)\b")
PERSON_NOUN_RE = re.compile(r"\b(?:person|man|woman|member|individual|leader|official|minister|president|spokes\w+|"
                            r"citizen|journalist|editor|author|suspect|victim|businessman|cleric|scientist|ambassador|"
                            r"advis[eo]r|chairman|assistant|diplomat|gunman|attacker|killer|director|his|her|he|she)\b", re.I)


def is_organisation(span: str) -> bool:
    """An institution, an acronym or a role ('President of ...') rather than a person's name.

    >>> is_organisation("State Security Service"), is_organisation("DTX"), is_organisation("Aqil Aslanov")
    (True, True, False)
    """
    return bool(ORG_RE.search(span) or span.isupper() or ROLE_RE.search(span))


def is_person_like(span: str, question: str) -> bool:
    """When a question asks about a person, an organisation's name or a lone word is no answer.

    >>> is_person_like("State Security Service", "What is the name of the member who was targeted?")
    False
    >>> is_person_like("Aqil Aslanov", "Who was the suspect recruited abroad?")
    True
    >>> is_person_like("Iran", "What was the name of the gunman?")
    False
    >>> is_person_like("Political Advisor", "What is the name of the Iranian president?")  # a role, no name
    False
    """
    if not PERSON_NOUN_RE.search(question):
        return True
    words = span.split()
    return not is_organisation(span) and len(words) > 1 and not PERSON_NOUN_RE.fullmatch(words[-1])


ROLE_RE = re.compile(r"^(?:President|Minister|Assistant|Chairman|Secretary|Head|Director|Ambassador|Prime Minister|"
                     r"Supreme Leader|Spokes\w+)\b.*\bof\b")


def _with_place_noun(sentence: str, a: int, b: int) -> tuple[int, int]:
    """'near a Jewish center': the place is 'Jewish center', not 'Jewish'."""
    match = PLACE_NOUN_RE.match(sentence, b)
    return (a, match.end()) if match else (a, b)


def _sentence_opener(sentence: str, a: int, b: int) -> bool:
    """A lone capitalised word opening the sentence ('During', 'Countries') is no name."""
    return a == 0 and " " not in sentence[a:b] or sentence[a:b].lower() in STOPWORDS


def _trim_entity(sentence: str, a: int, b: int) -> tuple[int, int]:
    """Drop leading function words ('On January', 'The Ministry') and month names from an entity span."""
    text = sentence[a:b]
    lead = re.match(rf"^(?:(?:of|the|and|for|al|de|on|in|at|during|after|before|since|by|from|{MONTH})\b\s*)+",
                    text, re.I)
    a2 = a + (lead.end() if lead else 0)
    tail = re.search(r"(?:\s+(?:of|the|and|for))+$", sentence[a2:b])
    return a2, (a2 + tail.start()) if tail else b


def entities(text: str) -> list[str]:
    """Names, numbers and dates mentioned in a text, in order, without repeats.

    >>> entities("Who offered Aqil Aslanov $200,000 in January?")
    ['Aqil Aslanov', '$200,000', 'January']
    """
    found: list[str] = []
    spans = sorted([m.span() for kind in ("money", "date") for m in PATTERNS[kind].finditer(text)] +
                   [m.span() for m in PATTERNS["entity"].finditer(text)])
    taken = -1
    for a, b in spans:
        piece = _drop_leading_stopwords(text[a:b].strip(" ,.;:?"))
        if a >= taken and piece and piece.lower() not in STOPWORDS and piece not in found:
            found.append(piece)
            taken = b
    return found


def _drop_leading_stopwords(piece: str) -> str:
    words = piece.split()
    while words and words[0].lower() in STOPWORDS:
        words.pop(0)
    return " ".join(words)


def names(text: str) -> set[str]:
    """The capitalised names a text mentions (longer than three characters).

    >>> sorted(names("Kamal Kharrazi met Hikmet Hajiyev in Baku."))
    ['Baku', 'Hikmet Hajiyev', 'Kamal Kharrazi']
    """
    return {m.group() for m in PATTERNS["entity"].finditer(text) if len(m.group()) > 3}
