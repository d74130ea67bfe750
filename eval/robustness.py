"""Robustness suites built from any gold set with its corpus (the sample suite and the public benchmarks alike).

- negative: each answerable item asked again without its gold documents (the retriever may use every other
  document): it must be refused.
- noise: distractor documents on other topics (HotpotQA's Wikipedia paragraphs) added: it must still answer.
- duplication: three near-copies of every gold document added: the answer must not change.
- conflict: a copy of each gold document with the gold value altered added: the answer should show both values
  and flag the disagreement (`Answer.conflicts`, once the assistant has it).

Each suite is scored beside the plain run; the corpora are written under the eval cache, never the user's folder.
"""
from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

from core.errors import RagError
from eval import metrics
from rag.citations import GROUP_RE
from eval.benchmarks import write_corpus
from eval.gold import GoldItem

SUITES = ("negative", "noise", "duplication", "conflict")
COPIES = 3
FICTIONAL_NAME = "Alderic Venn"


def parse_suites(value: str) -> list[str]:
    """The suites named by `--robustness` ('all' or a comma-separated list).

    >>> parse_suites("all") == list(SUITES), parse_suites("noise, negative")
    (True, ['noise', 'negative'])
    >>> parse_suites("speed")
    Traceback (most recent call last):
    core.errors.RagError: unknown robustness suite 'speed'; choose from all, negative, noise, duplication, conflict
    """
    names = list(SUITES) if value.strip() == "all" else [v.strip() for v in value.split(",") if v.strip()]
    for name in names:
        if name not in SUITES:
            raise RagError(f"unknown robustness suite {name!r}; choose from all, {', '.join(SUITES)}")
    return names


def altered(value: str) -> str:
    """A different value of the same kind: digits shifted (a date or amount stays one), a name replaced.

    >>> altered("765 kilometers"), altered("$200,000"), altered("1 November"), altered("Aqil Aslanov")
    ('098 kilometers', '$533,333', '4 November', 'Alderic Venn')
    """
    if re.search(r"\d", value):
        return re.sub(r"\d", lambda m: str((int(m.group()) + 3) % 10), value)
    return FICTIONAL_NAME


def near_copy(text: str, k: int) -> str:
    """A rewrite that keeps every fact: a line of its own on top, paragraphs rejoined with other spacing.

    >>> near_copy("One.\\n\\nTwo.", 1)
    'Republished copy 1.\\n\\nOne.\\n\\n\\nTwo.'
    """
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return f"Republished copy {k}.\n\n" + "\n\n\n".join(paragraphs)


def counterfeit(text: str, answers: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """The text with every gold alias it states replaced by an altered value, and the (gold, altered) pairs.

    >>> counterfeit("The border is 765 km long.", ["765 km"])
    ('The border is 098 km long.', [('765 km', '098 km')])
    """
    changes = []
    for answer in sorted(answers, key=len, reverse=True):
        if answer and answer in text:
            fake = altered(answer)
            text = text.replace(answer, fake)
            changes.append((answer, fake))
    return text, changes


def distractors(shared: Path, count: int, seed: int = 13) -> dict[str, str]:
    """`count` Wikipedia paragraphs from the HotpotQA file, on other topics than the suite's own documents."""
    from eval.benchmarks import _read, safe_name

    rows = _read(shared / "benchmarks" / "hotpotqa-dev-distractor-100" / "dev_distractor_100.json")
    paragraphs = {f"noise_{safe_name(t)}.txt": " ".join(s.strip() for s in sentences)
                  for row in rows for t, sentences in zip(row["context"]["title"], row["context"]["sentences"])}
    names = sorted(paragraphs)
    return {name: paragraphs[name] for name in random.Random(seed).sample(names, min(count, len(names)))}


def corpus_files(corpus: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(corpus).iterdir())
            if p.is_file() and not p.name.startswith(".")}


def variant_corpus(suite: str, items: list[GoldItem], corpus: Path, folder: Path, shared: Path) -> Path:
    """The corpus a suite asks from: the original files plus what the suite adds."""
    files = corpus_files(corpus)
    gold_names = sorted({s for i in items if i.answerable for s in i.sources if s in files})
    if suite == "noise":
        files.update(distractors(shared, max(10, 2 * len(files))))
    elif suite == "duplication":
        files.update({f"copy{k}_{name}": near_copy(files[name], k) for name in gold_names for k in range(1, COPIES + 1)})
    elif suite == "conflict":
        for name in gold_names:
            answers = [a for i in items if i.answerable and name in i.sources for a in i.answers]
            text, changes = counterfeit(files[name], answers)
            if changes:
                files[f"altered_{name}"] = text
    return write_corpus(folder / suite, files)


def negative_items(items: list[GoldItem], corpus: Path) -> list[tuple[GoldItem, list[str]]]:
    """Each answerable item with the documents it may be answered from: all but its gold sources
    (items whose gold sources are the whole corpus are left out: nothing would be left to ask)."""
    names = sorted(corpus_files(corpus))
    out = []
    for item in items:
        rest = [n for n in names if n not in item.sources]
        if item.answerable and rest:
            out.append((replace(item, kind="unanswerable", answers=[], sources=[]), rest))
    return out


def shows_both(text: str, pairs: list[tuple[str, str]]) -> bool:
    """Whether an answer states a gold value and its altered counterpart.

    >>> shows_both("765 km says one source, 098 km the other", [("765 km", "098 km")])
    True
    """
    padded = f" {metrics.normalize(text)} "
    return any(f" {metrics.normalize(a)} " in padded and f" {metrics.normalize(b)} " in padded for a, b in pairs)


def summarise(suite: str, scored: list[dict], plain: dict[str, dict]) -> dict:
    """The suite's headline figure and its companions, over the items it asked.

    >>> summarise("negative", [{"abstained": True, "id": "a"}, {"abstained": False, "id": "b"}], {})
    {'suite': 'negative', 'n': 2, 'refused': 0.5}
    """
    n = len(scored)
    share = (lambda f: round(sum(1 for i in scored if f(i)) / n, 4) if n else None)
    if suite == "negative":
        return {"suite": suite, "n": n, "refused": share(lambda i: i["abstained"])}
    if suite == "noise":
        return {"suite": suite, "n": n, "answerable_correct": share(lambda i: i["correct"]),
                "plain_answerable_correct": share(lambda i: plain.get(i["id"], {}).get("correct"))}
    if suite == "duplication":
        return {"suite": suite, "n": n, "same_answer": share(lambda i: _same(i, plain.get(i["id"]))),
                "answerable_correct": share(lambda i: i["correct"])}
    return {"suite": suite, "n": n, "conflict_flagged": share(lambda i: bool(i.get("conflicts"))),
            "shows_both_values": share(lambda i: i.get("shows_both", False)),
            "answerable_correct": share(lambda i: i["correct"])}


def _same(item: dict, before: dict | None) -> bool:
    """The same short answer (or text, when there is none) and the same refusal decision as the plain run."""
    if before is None:
        return False
    key = "short_answer" if item.get("short_answer") or before.get("short_answer") else "answer"
    return item["abstained"] == before["abstained"] and \
        GROUP_RE.sub("", item[key]).split() == GROUP_RE.sub("", before[key]).split()
