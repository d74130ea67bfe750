"""The grammar of dates, years, numbers, number words, ordinals and amounts as running text writes them.

Every pattern here is composed from the named parts below (regex source strings: a month name, a day, a
year, an ordinal suffix, a figure, a scale word, a currency), and every word it knows comes from one of the
tables (months, number words, scale abbreviations, currencies). Where two readers accept different words
(the value parser counts 'sixteen', the entity spans do not; the spans take 'hundreds', the parser does not),
each reads a named subset of the one table. `text.dates`, `text.values` and `text.entities` parse and
compare with these patterns; `rag` reads its year, number, ordinal, month and number-word patterns here.

>>> [m.group() for m in DATE_RE.finditer("Signed Nov. 2, 2022, in force 2022-11-03.")]
['Nov. 2, 2022', '2022-11-03']
>>> [m.group() for m in MONEY_RE.finditer("It paid $1.5bn and 300 euros for 12 ships.")]
['$1.5bn', '300 euros']
"""
from __future__ import annotations

import re
from collections.abc import Iterable

# ---- Tables: the only word lists of the grammar ------------------------------------------------------------

ENGLISH_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}
ARABIC_MONTHS = {   # Levantine and Egyptian/Gulf names
    "يناير": 1, "فبراير": 2, "مارس": 3, "أبريل": 4, "ابريل": 4, "مايو": 5, "يونيو": 6, "يوليو": 7,
    "أغسطس": 8, "اغسطس": 8, "سبتمبر": 9, "أكتوبر": 10, "اكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
    "كانون الثاني": 1, "شباط": 2, "آذار": 3, "نيسان": 4, "أيار": 5, "حزيران": 6, "تموز": 7,
    "آب": 8, "أيلول": 9, "تشرين الأول": 10, "تشرين الثاني": 11, "كانون الأول": 12,
}
MONTHS = {**ENGLISH_MONTHS, **ARABIC_MONTHS}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NUMBER_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                           "thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split())}
NUMBER_WORDS.update({"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                     "ninety": 90, "dozen": 12, "hundred": 100, "thousand": 1000, "million": 10 ** 6,
                     "billion": 10 ** 9, "trillion": 10 ** 12})
MULTIPLIERS = ("thousand", "million", "billion", "trillion", "hundred", "dozen")   # number words that scale a figure
SCALE_ABBREVIATIONS = {"k": 1e3, "mn": 1e6, "m": 1e6, "mln": 1e6, "bn": 1e9, "b": 1e9, "tn": 1e12}
CURRENCY = {"$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "£": "GBP", "gbp": "GBP",
            "pound": "GBP", "pounds": "GBP", "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
            "manat": "AZN", "manats": "AZN", "azn": "AZN", "rial": "IRR", "rials": "IRR", "shekel": "ILS",
            "shekels": "ILS", "yen": "JPY", "yuan": "CNY", "rupee": "INR", "rupees": "INR"}


def alternation(words: Iterable[str], escape: bool = False) -> str:
    """A regex alternation of `words`, longest first (so that 'Sept' is tried before 'Sep'), else in order.

    >>> alternation(["Sep", "Sept", "May"]), alternation(["a.m", "p"], escape=True)
    ('Sept|Sep|May', 'a\\\\.m|p')
    """
    return "|".join(sorted((re.escape(w) if escape else w for w in words), key=len, reverse=True))


def counting(low: int, high: int) -> list[str]:
    """The number words that count (not the MULTIPLIERS) from `low` to `high`, in table order.

    >>> counting(0, 3), counting(17, 40)
    (['zero', 'one', 'two', 'three'], ['seventeen', 'eighteen', 'nineteen', 'twenty', 'thirty', 'forty'])
    """
    return [w for w, v in NUMBER_WORDS.items() if low <= v <= high and w not in MULTIPLIERS]


def with_plurals(*words: str) -> list[str]:
    """Each word and its plural in -s.

    >>> with_plurals("hundred", "dozen")
    ['hundred', 'hundreds', 'dozen', 'dozens']
    """
    return [form for w in words for form in (w, w + "s")]


# ---- Named subsets of the tables ---------------------------------------------------------------------------

# The words the value parser reads as a count ('seven', 'a hundred'): zero to twenty, the tens, hundred, dozen.
COUNT_WORDS = {w: NUMBER_WORDS[w] for w in [*counting(0, 90), "hundred", "dozen"]}
A_COUNT_WORDS = ["hundred", "thousand"]                        # ... and those said with 'a' ('a hundred')
COUNT_WORDS.update({f"a {w}": NUMBER_WORDS[w] for w in A_COUNT_WORDS})
# The words that scale the figure they follow ('1.5 bn', '3 thousand'), as factors.
SCALE = {**{w: float(NUMBER_WORDS[w]) for w in MULTIPLIERS}, **SCALE_ABBREVIATIONS}
# The number words an entity span takes as a count: one to fifteen, the tens to fifty, the multipliers
# hundred(s), thousand(s), dozen(s), million and billion (not 'sixteen'..'nineteen', as before the grammar was one).
SPAN_NUMBER_WORDS = [*counting(1, 15), *counting(20, 50), *with_plurals("hundred", "thousand", "dozen"), "million",
                     "billion"]
# The number words of a rough quantity ('more than ten', 'than thousands'): one to ten, the tens to fifty,
# hundred(s), thousand(s), million(s); the -teen words are matched by their ending (QUANTITY_WORD).
QUANTITY_WORDS = [*counting(1, 10), *counting(20, 50), *with_plurals("hundred", "thousand", "million")]
A_QUANTITY_WORDS = ["dozen", "hundred", "thousand", "million"]   # ... and those said with 'a' ('a dozen')
MONEY_CURRENCY_WORDS = ["dollars", "euros", "manat", "rial", "rials", "usd", "eur"]   # CURRENCY words ending a sum
LARGE_SCALE_WORDS = ["million", "billion"]                       # the scale words of large sums

# ---- Named parts (regex source strings) --------------------------------------------------------------------

MONTH_NAME = alternation(m.capitalize() for m in ENGLISH_MONTHS)   # an English month or abbreviation, capitalised
ANY_MONTH_NAME = alternation(MONTHS, escape=True)          # an English or Arabic month name (in case-blind patterns)
WEEKDAY = "|".join(WEEKDAYS)                               # a day of the week, capitalised
DAY = r"\d{1,2}"                                           # a day of the month in digits
ORDINAL_SUFFIX = r"(?:st|nd|rd|th)"                        # the ending of an ordinal in digits: 1st, 2nd, 3rd, 4th
YEAR_DIGITS = r"\d{4}"                                     # a date's year: four digits
TWO_DIGITS = r"\d{2}"                                      # an ISO date's month or day
DATE_SEPARATOR = r"[\s,،.]+"                               # between a month and its year: space, comma, ،, point
CENTURY = r"(?:1[0-9]|20)"                                 # the first two digits of a year from 1000 to 2099
MODERN_CENTURY = r"(?:19|20)"                              # ... of a year from 1900 to 2099
YEAR = rf"{CENTURY}[0-9]{{2}}"                             # a year from 1000 to 2099, in ASCII digits ('1794')
YEAR_ANY_DIGITS = r"(?:1\d{3}|20\d\d)"                     # the same, its last 3 digits of any script (\d)
YEAR_PREPOSITION = r"(?:in|since|by|until|of)"             # a word that makes a bare year a date ('since 1990')
DIGITS = r"\d+"                                            # a run of digits
DIGIT_RUN = r"\d[\d,.]*\d"                                 # digits with commas or points inside ('1,500', '1.2.3')
DIGITS_PUNCTUATED = r"\d[\d,.]*"                           # a digit, then digits, commas, points ('1,500', '3.')
FIGURE = r"(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)"             # a figure read as a value ('1,500.25', '.5')
PERCENT = r"(?:%|percent|per cent)"                        # the percent sign or word
CURRENCY_SIGN = r"[$£€]"                                   # a currency sign
DOLLAR = r"(?:US)?\$"                                      # the dollar sign, 'US$' too
SCALE_WORD = alternation(["million", "billion", "thousand"])  # a scale word written after a figure
SCALE_ABBREVIATION = r"[mbk]n?"                            # an abbreviated scale after a sum: k, m, b, mn, bn (and kn)
LARGE_SCALE = alternation(LARGE_SCALE_WORDS)               # million or billion
MONEY_CURRENCY = alternation(MONEY_CURRENCY_WORDS)         # a currency word after a sum ('300 euros')
SPAN_NUMBER_WORD = alternation(SPAN_NUMBER_WORDS)          # a number word of an entity span
QUANTITY_WORD = alternation(QUANTITY_WORDS) + r"|\w+teen"  # a number word of a rough quantity, or any word in -teen
A_QUANTITY = alternation(A_QUANTITY_WORDS)                 # a multiplier said with 'a' ('a dozen', 'a hundred')
FUNCTION_WORD = r"(?:and|or|the|of|to|in|on|at|by|for|with|from)"   # a word that is not a unit
UNIT = rf"(?:\s(?!{FUNCTION_WORD}\b)[a-z]{{3,}})"          # the unit after a number ('20 kilometers')

# ---- Patterns ----------------------------------------------------------------------------------------------

_MDY = rf"(?P<m1>{ANY_MONTH_NAME})\.?\s+(?P<d1>{DAY}){ORDINAL_SUFFIX}?,?\s+(?P<y1>{YEAR_DIGITS})"
_DMY = rf"(?P<d2>{DAY}){ORDINAL_SUFFIX}?\s+(?P<m2>{ANY_MONTH_NAME}){DATE_SEPARATOR}(?P<y2>{YEAR_DIGITS})"
_ISO = rf"(?P<y3>{YEAR_DIGITS})-(?P<m3>{TWO_DIGITS})-(?P<d3>{TWO_DIGITS})"
# A whole date (month, day and year; English or Arabic month names), its parts in named groups.
DATE_RE = re.compile(rf"(?<!\w)(?:{_MDY}|{_DMY}|{_ISO})(?!\d)", re.IGNORECASE)

# The ways an English date is written, finest first, as (day, month, year) groups read by `text.values`.
ISO_DATE_RE = re.compile(rf"\b({YEAR_DIGITS})-({TWO_DIGITS})-({TWO_DIGITS})\b")
DAY_MONTH_RE = re.compile(rf"\b({DAY}){ORDINAL_SUFFIX}?\s+(?:of\s+)?({MONTH_NAME})\b\.?,?(?:\s+({YEAR_DIGITS}))?", re.I)
MONTH_DAY_RE = re.compile(rf"\b({MONTH_NAME})\b\.?\s+({DAY}){ORDINAL_SUFFIX}?\b,?(?:\s+({YEAR_DIGITS}))?", re.I)
MONTH_YEAR_RE = re.compile(rf"\b({MONTH_NAME})\b\.?,?\s+({YEAR_DIGITS})\b", re.I)
DATE_RES = (ISO_DATE_RE, DAY_MONTH_RE, MONTH_DAY_RE, MONTH_YEAR_RE)
YEAR_ALONE_RE = re.compile(rf"^(?:in\s+|the\s+|by\s+)?({YEAR})s?$", re.I)   # a whole text that is a year or decade
YEAR_RE = re.compile(rf"\b({YEAR})s?\b")                   # a year or decade in running text, its digits captured
YEAR_WORD_RE = re.compile(rf"^{YEAR_ANY_DIGITS}$")         # a word that is a year
MONTH_WORD_RE = re.compile(rf"^(?:{MONTH_NAME})$")         # a word that is a month name, capitalised

FIGURE_RE = re.compile(rf"(?<![\w.])({FIGURE})(?![\d])")   # a figure on its own, not inside a word or a longer number
NUMBER_RE = re.compile(rf"\b{DIGIT_RUN}\b|\b\d\b")         # a number as written, commas and points kept
ORDINAL_RE = re.compile(rf"\b{DIGITS}{ORDINAL_SUFFIX}\b", re.I)   # an ordinal in digits ('3rd')
COUNT_PHRASE_RE = re.compile(rf"[a-z]+(?: (?:{alternation(A_COUNT_WORDS)}))?")   # a word; 'a hundred' as one
SCALE_AFTER_RE = re.compile(r"\s*([a-z]+)")                # the word after a figure, its scale if it is one
CURRENCY_TOKEN_RE = re.compile(rf"us\$|{CURRENCY_SIGN}|[a-z]+")   # a currency sign or a word (lower-cased text)

# Spans of a sentence (`text.entities`): a sum of money, a date (case-sensitive), a count with its unit.
MONEY_RE = re.compile(rf"{DOLLAR}\s?{DIGITS_PUNCTUATED}(?:\s?(?:{SCALE_WORD}|{SCALE_ABBREVIATION})\b)?|"
                      rf"\b{DIGITS_PUNCTUATED}\s?(?:{LARGE_SCALE})?\s?(?:{MONEY_CURRENCY})\b|"
                      rf"\b(?:{alternation(w + 's' for w in LARGE_SCALE_WORDS)}) of dollars\b", re.I)
DATE_SPAN_RE = re.compile(rf"\b(?:(?:{WEEKDAY}),?\s+)?"
                          rf"(?:(?:{MONTH_NAME})\.?\s+{DAY}{ORDINAL_SUFFIX}?(?:,?\s+{YEAR_DIGITS})?|"
                          rf"{DAY}{ORDINAL_SUFFIX}?\s+(?:{MONTH_NAME})(?:,?\s+{YEAR_DIGITS})?|"
                          rf"(?:{MONTH_NAME})\s+{YEAR_DIGITS}|"
                          rf"{YEAR_PREPOSITION}\s+{CENTURY}\d{{2}}|{MODERN_CENTURY}\d{{2}})\b")
NUMBER_SPAN_RE = re.compile(rf"\b{DIGIT_RUN}\s?{PERCENT}|\b{DIGITS}\s?{PERCENT}|"
                            rf"\b(?!{MODERN_CENTURY}\d\d\b){DIGITS_PUNCTUATED}(?<![,.])(?:\s(?:{SCALE_WORD}))?{UNIT}?|"
                            rf"\b(?:{SPAN_NUMBER_WORD})\b{UNIT}?", re.I)
