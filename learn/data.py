"""Training data: SQuAD 2.0 articles split train / validation / test, each split its own real index, and every
question retrieved through the assistant's own retriever, in the constructions a RAG assistant meets:

- `plain`: the question against every article of its split, each ingested as one document as people have
  them (chunked by the real pipeline; the other articles are distractors; the NoAns questions of SQuAD 2.0
  must be refused);
- `removed`: an answerable question with every passage that overlaps its gold paragraph taken out of the
  results (must be refused).

Near-copies are a property of the corpus, not of a question: the stability tests cover them.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from core.records import ScoredChunk
from eval.benchmarks import safe_name, write_corpus

SPLITS = ("train", "validation", "test")


@dataclass
class Example:
    id: str
    question: str
    answers: list[str]
    impossible: bool
    gold: str                  # the article's file name
    paragraph: str             # the gold paragraph's text
    construction: str          # plain | removed
    ranked: list[ScoredChunk]
    vector: list[float]

    @property
    def answerable(self) -> bool:
        return not self.impossible and self.construction == "plain"


def split_articles(titles: list[str], seed: int, sizes: tuple[int, int, int] = (8, 4, 4)) -> dict[str, list[str]]:
    """Articles shuffled with `seed` and cut into train / validation / test (no article in two splits).

    >>> s = split_articles([f"a{i}" for i in range(16)], 7)
    >>> [len(s[k]) for k in SPLITS], sorted(sum(s.values(), [])) == sorted(f"a{i}" for i in range(16))
    ([8, 4, 4], True)
    """
    order = sorted(titles)
    random.Random(seed).shuffle(order)
    a, b = sizes[0], sizes[0] + sizes[1]
    return {"train": order[:a], "validation": order[a:b], "test": order[b:b + sizes[2]]}


def read_squad(root: Path) -> list[dict]:
    return json.loads((Path(root) / "squad-v2-dev-subset" / "dev-v2.0.json").read_text(encoding="utf-8"))["data"]


def article_name(title: str) -> str:
    return f"{safe_name(title)}.txt"


def split_corpus(articles: list[dict], folder: Path) -> Path:
    """Each article one file: its title, then its paragraphs."""
    return write_corpus(folder, {article_name(a["title"]): a["title"].replace("_", " ") + "\n\n" + "\n\n".join(
        para["context"] for para in a["paragraphs"]) + "\n" for a in articles})


def overlaps(passage: str, paragraph: str, window: int = 40) -> bool:
    """Whether a passage holds any part of a paragraph (a window of its text).

    >>> overlaps("... the end of one. Start of two ...", "Para one ends at the end of one.", window=10)
    True
    """
    step = max(1, window // 2)
    pieces = [paragraph[i:i + window] for i in range(0, max(1, len(paragraph) - window + 1), step)]
    return passage in paragraph or any(p in passage for p in pieces)


def questions(articles: list[dict], limit: int | None, seed: int) -> list[tuple[str, str, dict]]:
    """(article file, gold paragraph, qa) of the articles, a fixed sample of `limit` when given."""
    found = [(article_name(a["title"]), para["context"], qa) for a in articles for para in a["paragraphs"]
             for qa in para["qas"]]
    if limit and limit < len(found):
        found = random.Random(seed).sample(found, limit)
    return found


def collect(assistant, articles: list[dict], limit: int | None, seed: int, progress=None) -> list[Example]:
    """Every question of `articles` retrieved by `assistant` (whose index holds exactly their paragraphs)."""
    retriever = assistant.retriever()
    wide = assistant.retriever(top_k=retriever.top_k * 2)
    out: list[Example] = []
    chosen = questions(articles, limit, seed)
    for n, (gold, paragraph, qa) in enumerate(chosen, 1):
        vector = assistant.embedder.encode_one(qa["question"])
        answers = sorted({a["text"] for a in qa["answers"]})
        impossible = bool(qa.get("is_impossible"))
        out.append(Example(qa["id"], qa["question"], answers, impossible, gold, paragraph, "plain",
                           retriever.search(qa["question"], vector), vector))
        if not impossible:
            kept = [s for s in wide.search(qa["question"], vector)
                    if not (Path(s.chunk.source).name == gold and overlaps(s.chunk.text, paragraph))]
            out.append(Example(qa["id"], qa["question"], answers, False, gold, paragraph, "removed",
                               kept[:retriever.top_k], vector))
        if progress and n % 200 == 0:
            progress(n, len(chosen))
    return out
