"""Terms: the words that carry meaning (stemmed, stopwords dropped), and their IDF over passages.

One tokenisation serves BM25, coverage scoring and the answer rules, so a word
means the same thing in every stage.
"""
from __future__ import annotations

import math
import re
from typing import Callable

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
TOKEN_RE = re.compile(r"[$£€]?\d[\d,.]*\d%?|[$£€]?\d%?|\w+(?:[-’'.]\w+)*|[^\w\s]")   # words, numbers, punctuation


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


def terms(text: str) -> list[str]:
    """Content terms (stemmed, stopwords dropped) in order.

    >>> terms("Who arrested the two suspects near the Jewish center?")
    ['arrest', 'two', 'suspect', 'near', 'jewish', 'center']
    >>> terms("the ’s and 's of it")
    []
    """
    stems = [stem(w) for w in WORD_RE.findall(text) if w.lower() not in STOPWORDS and len(w) > 1 or w.isdigit()]
    return [t for t in stems if t.strip("'’")]


def word_count(text: str) -> int:
    return len(text.split())


def idf_table(chunk_terms: list[set[str]], weights: list[float] | None = None) -> tuple[Callable[[str], float], float]:
    """IDF over chunks; a term absent from the corpus gets the maximum. `weights` counts a chunk as a
    fraction (a family of k near-copies of one document counts once: each of its chunks weighs 1/k).

    >>> idf, top = idf_table([{"iran"}, {"iran", "tamar"}])
    >>> round(idf("iran"), 3), round(idf("tamar"), 3), idf("canada") == top
    (0.182, 0.693, True)
    >>> copies, _ = idf_table([{"iran"}, {"iran", "tamar"}, {"iran", "tamar"}], [1.0, 0.5, 0.5])
    >>> round(copies("tamar"), 3)
    0.693
    """
    weights = weights or [1.0] * len(chunk_terms)
    n = sum(weights)
    df: dict[str, float] = {}
    for ts, w in zip(chunk_terms, weights):
        for t in ts:
            df[t] = df.get(t, 0.0) + w
    top = math.log((n + 1) / 0.5)

    def idf(term: str) -> float:
        return math.log((n + 1) / (df.get(term, 0) + 0.5)) if term in df else top

    return idf, top


def tokens(sentence: str) -> list[tuple[int, int]]:
    """Word, number and punctuation tokens of a sentence as character spans.

    >>> s = "It cost $4.5m in 1998, (twice)."
    >>> [s[a:b] for a, b in tokens(s)]
    ['It', 'cost', '$4.5', 'm', 'in', '1998', ',', '(', 'twice', ')', '.']
    """
    return [m.span() for m in TOKEN_RE.finditer(sentence)]


def whole_words(sentence: str, start: int, end: int) -> tuple[int, int]:
    """A span widened to whole words: a token cut from a word ('th' of '30th', '5' of 'F5') takes the word.

    >>> s = "The 30th anniversary of F5 jets"
    >>> whole_words(s, 6, 8), whole_words(s, 4, 20), whole_words(s, 25, 26)
    ((4, 8), (4, 20), (24, 26))
    """
    while start > 0 and sentence[start - 1].isalnum() and sentence[start].isalnum():
        start -= 1
    while end < len(sentence) and sentence[end].isalnum() and sentence[end - 1].isalnum():
        end += 1
    return start, end
