"""Build `rag/evidence/reference.tsv.gz`, the reference IDF, from wordfreq's English word frequencies.

    pip install wordfreq==3.1.1 && python -m learn.reference

wordfreq (Robyn Speer; code Apache-2.0, data CC-BY-SA 4.0) blends Wikipedia, subtitles, news, books, web text
and social media into one frequency per word. Each word is stemmed as the assistant stems (`text.terms`), the
frequencies of the words sharing a stem are added, and each stem's frequency becomes the IDF of a passage of the
chunker's size (`rag.evidence.reference.passage_idf`). Numbers are kept by shape: the row '0000' is one 4-digit
number's IDF, the shape's frequency shared among its 10,000 numbers. The table is data under CC-BY-SA 4.0, as
its header says; nothing here reads the benchmarks or the sample corpus.
"""
from __future__ import annotations

import gzip
from collections import defaultdict
from pathlib import Path

from core.settings import Settings
from rag.evidence.reference import TABLE, passage_idf
from text.terms import terms

SOURCE = "wordfreq 3.1.1, English, 'large' list (data CC-BY-SA 4.0, github.com/rspeer/wordfreq)"
FLOOR = 1e-8   # the list's smallest frequency: a term it does not hold is taken to be this rare


def stem_frequencies(frequencies: dict[str, float]) -> dict[str, float]:
    """Per-word frequencies added up by stem; a word of several terms (or none) is left out, numbers by shape.

    >>> sorted(stem_frequencies({"arrested": 1e-5, "arrests": 1e-5, "the": 0.05, "0000": 1e-3}).items())
    [('0000', 1e-07), ('arrest', 2e-05)]
    """
    by_stem: dict[str, float] = defaultdict(float)
    for word, frequency in frequencies.items():
        if word.strip("0") == "":
            by_stem[word] += frequency / 10 ** len(word)
            continue
        found = terms(word)
        if len(found) == 1 and not any(ch.isdigit() for ch in word):
            by_stem[found[0]] += frequency
    return dict(by_stem)


def rows(frequencies: dict[str, float], passage_words: int) -> tuple[list[str], float]:
    """The table's `term<TAB>idf` rows (rarest last) and its maximum, the IDF of the floor frequency.

    >>> rows({"drone": 5e-6, "year": 1e-3}, 120)
    (['year\\t2.18', 'drone\\t7.42'], 13.63)
    """
    top = round(passage_idf(FLOOR, passage_words), 2)
    ordered = sorted(frequencies.items(), key=lambda kv: -kv[1])
    return [f"{t}\t{min(round(passage_idf(f, passage_words), 2), top)}" for t, f in ordered], top


def build(out: Path = TABLE, passage_words: int | None = None) -> int:
    """Write the table; the number of terms written."""
    import wordfreq

    words = passage_words or Settings().ingest.chunk_words
    table, top = rows(stem_frequencies(wordfreq.get_frequency_dict("en", "large")), words)
    header = [f"# source: {SOURCE}", f"# passage_words: {words}", f"# max_idf: {top}",
              "# licence: CC-BY-SA 4.0 (derived from wordfreq's data); built by learn/reference.py"]
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as handle:
        handle.write("\n".join(header + table) + "\n")
    return len(table)


if __name__ == "__main__":
    print(f"wrote {build()} terms to {TABLE}")
