"""The reference IDF: how rare each term is in general English, fixed, whatever the folder holds.

The evidence features weigh a question's terms by their rarity. Counted over the user's folder, that rarity
moves with the folder: 646 unrelated paragraphs added beside five articles raise every term's IDF until most
reach the cap, the weights flatten and the gate answers what it refused (issue 29); a model trained on folders
of hundreds of passages also met folders of dozens. The reference table fixes the scale: each stemmed term's
chance of appearing in a passage of `passage_words` words, from a general English word-frequency list
(`learn/reference.py` builds `reference.tsv.gz`; its header names the source and licence).

    idf(t) = -ln(1 - (1 - f)^L)   f: the term's frequency per word, L: words in a passage

A term the list does not hold gets the table's maximum (the rarest listed term's value); a number gets that of
one number of its shape ('0000' for a year: the shape's frequency shared among the numbers of that shape).
"""
from __future__ import annotations

import functools
import gzip
import math
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).with_name("reference.tsv.gz")


def passage_idf(frequency: float, passage_words: int) -> float:
    """-ln of the chance that a term of per-word `frequency` appears in a passage of `passage_words` words.

    >>> round(passage_idf(1e-3, 120), 2), round(passage_idf(1e-6, 120), 2)
    (2.18, 9.03)
    """
    return -math.log(-math.expm1(passage_words * math.log1p(-frequency)))


@dataclass(frozen=True)
class Reference:
    """Stemmed term -> reference IDF; `max_idf` for a term the table does not hold."""

    table: dict[str, float]
    max_idf: float
    passage_words: int
    source: str

    def idf(self, term: str) -> float:
        """The term's reference IDF; a number's is that of one number of its shape (the row '0000' for a
        4-digit number: the shape's frequency shared among its 10,000 numbers).

        >>> r = Reference({"drone": 7.4, "0000": 12.2}, 13.0, 120, "test")
        >>> r.idf("drone"), r.idf("hovercraft"), r.idf("1998"), r.idf("765")
        (7.4, 13.0, 12.2, 13.0)
        """
        key = "0" * len(term) if term.isdigit() else term
        return self.table.get(key, self.max_idf)


def parse(text: str) -> Reference:
    """A table from its text: '#' header lines `key: value` (passage_words, max_idf, source), then
    `term<TAB>idf` rows (split all at once: 231k rows in ~0.1 s, a cold `rag ask` pays it).

    >>> r = parse("# passage_words: 120\\n# max_idf: 13.5\\n# source: x\\ndrone\\t7.4\\nbaku\\t9.0\\n")
    >>> r.idf("drone"), r.idf("baku"), r.max_idf, r.passage_words
    (7.4, 9.0, 13.5, 120)
    """
    head, header = text, {}
    while head.startswith("#"):
        line, _, head = head.partition("\n")
        key, _, value = line[1:].partition(":")
        header[key.strip()] = value.strip()
    body = head.split()
    table = dict(zip(body[0::2], map(float, body[1::2])))
    return Reference(table, float(header["max_idf"]), int(header["passage_words"]), header.get("source", ""))


@functools.lru_cache(maxsize=2)
def load(path: Path = TABLE) -> Reference:
    """The shipped table (read once per process)."""
    return parse(gzip.decompress(path.read_bytes()).decode("utf-8"))
