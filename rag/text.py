"""Pure text helpers shared by retrieval and answering: terms, answer types, spans."""
from __future__ import annotations

import re

STOPWORDS = set("""
a an the and or but if of to in on at by for with from into onto over under about as is are was were be been
being am do does did doing have has had having it its it's this that these those there here then than so such
what which who whom whose when where why how whether not no nor can could should would may might must will shall
i me my we our you your he him his she her they them their one ones any some all each both either neither also
very more most much many just only own same other another again further once up down out off too s t
according said say says tell told mention mentioned article articles document documents text report reported
analysis story piece version website site page
did does do happen happened take took give gave name named called per cent
""".split())
# Words that say what kind of answer is wanted; they do not appear in the answering sentence.
TYPE_WORDS = set("""money amount price cost sum percentage percent proportion share number date year month day
time long far distance name person place country city many much big large old value""".split())
PRONOUNS = set("he him his she her it its they them their that this those these there then".split())
WORD_RE = re.compile(r"[\w’']+", re.UNICODE)

NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                "twenty|thirty|forty|fifty|hundred|hundreds|thousand|thousands|dozens?|million|billion")
MONTH = ("January|February|March|April|May|June|July|August|September|October|November|December|"
         "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec")
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


# English irregular forms a suffix stripper cannot join (a general table, not this corpus's words).
IRREGULAR = {form: base for base, forms in {
    "die": "died dies dying dead death deaths", "buy": "bought buys buying", "sell": "sold sells selling sale sales",
    "lead": "led leads leading", "speak": "spoke spoken speaks speech", "win": "won wins winning",
    "meet": "met meets meeting meetings", "pay": "paid pays paying", "tell": "told tells", "make": "made makes",
    "take": "took taken takes", "give": "gave given gives", "go": "went gone goes", "begin": "began begun begins",
    "build": "built builds", "send": "sent sends", "hold": "held holds", "bring": "brought brings",
    "think": "thought thinks", "fight": "fought fights", "seek": "sought seeks", "teach": "taught teaches",
    "steal": "stole stolen steals", "fly": "flew flown flies", "choose": "chose chosen chooses",
    "arise": "arose arisen", "flee": "fled flees", "shoot": "shot shoots", "strike": "struck strikes",
}.items() for form in [base, *forms.split()]}


def stem(word: str) -> str:
    """A light suffix stripper so 'arrested'/'arrests'/'arrest' and 'injury'/'injured' meet.

    >>> [stem(w) for w in ["arrested", "arrests", "countries", "cooperation", "Iranian", "shares", "share"]]
    ['arrest', 'arrest', 'countr', 'cooperat', 'iran', 'shar', 'shar']
    >>> [stem(w) for w in ["injury", "injured", "plotting", "plot", "issued", "issue", "completed"]]
    ['injur', 'injur', 'plot', 'plot', 'issu', 'issu', 'complet']
    >>> [stem(w) for w in ["died", "death", "bought", "buy", "sold", "selling"]]
    ['die', 'die', 'buy', 'buy', 'sell', 'sell']
    """
    w = word.lower().replace("’", "'")
    w = re.sub(r"'s$", "", w)
    if w in IRREGULAR:
        return IRREGULAR[w]
    if re.search(r"(sh|ch|x|ss|z)es$", w):
        return w[:-2]
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("ions", ""), ("ion", ""), ("ian", ""),
                         ("s", ""), ("ly", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            w = w[: len(w) - len(suffix)] + repl
            break
    if len(w) >= 5 and re.search(r"([bdfgmnprt])\1$", w):
        w = w[:-1]
    if len(w) >= 5 and w[-1] in "ey":
        w = w[:-1]
    return w


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


def terms(text: str) -> list[str]:
    """Content terms (stemmed, stopwords dropped) in order.

    >>> terms("Who arrested the two suspects near the Jewish center?")
    ['arrest', 'two', 'suspect', 'near', 'jewish', 'center']
    >>> terms("the ’s and 's of it")
    []
    """
    stems = [stem(w) for w in WORD_RE.findall(text) if w.lower() not in STOPWORDS and len(w) > 1 or w.isdigit()]
    return [t for t in stems if t.strip("'’")]


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


def word_count(text: str) -> int:
    return len(text.split())
