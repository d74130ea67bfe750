"""Robustness suites built from any gold set with its corpus (the sample suite and the public benchmarks alike).

- negative: each answerable item asked again without its gold documents (the retriever may use every other
  document): it must be refused.
- noise: distractor documents on other topics (HotpotQA's Wikipedia paragraphs) added: it must still answer.
- duplication: three near-copies of every gold document added: the answer must not change.
- conflict: a copy of each gold document with the gold value altered added, alone or (every other document)
  between the texts of two other documents: the answer should show both values and flag the disagreement
  (`Answer.conflicts`). Only items whose gold document states a gold value are asked.
- unaltered: the same copies with nothing altered (the control): a flag here is a false flag.

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

SUITES = ("negative", "noise", "duplication", "conflict", "unaltered")
COPIES = 3
FICTIONAL_NAME = "Alderic Venn"


def parse_suites(value: str) -> list[str]:
    """The suites named by `--robustness` ('all' or a comma-separated list).

    >>> parse_suites("all") == list(SUITES), parse_suites("noise, negative")
    (True, ['noise', 'negative'])
    >>> parse_suites("speed")
    Traceback (most recent call last):
    core.errors.RagError: unknown robustness suite 'speed'; choose from all, negative, noise, duplication, conflict, unaltered
    """
    names = list(SUITES) if value.strip() == "all" else [v.strip() for v in value.split(",") if v.strip()]
    for name in names:
        if name not in SUITES:
            raise RagError(f"unknown robustness suite {name!r}; choose from all, {', '.join(SUITES)}")
    return names


def altered(value: str) -> str:
    """A different value of the same kind that still reads as one: a year moved by seven years, other
    numbers with their digits shifted (never opening with a zero), a name replaced.

    >>> altered("765 kilometers"), altered("$200,000"), altered("1 November 2022"), altered("Aqil Aslanov")
    ('198 kilometers', '$533,333', '4 November 2029', 'Alderic Venn')
    """
    if re.search(r"\d", value):
        return re.sub(r"\d[\d,.]*", _other_number, value)
    return FICTIONAL_NAME


def _other_number(match: re.Match) -> str:
    text = match.group()
    if re.fullmatch(r"1[0-9]{3}|20[0-9]{2}", text):
        return str(int(text) + 7)
    shifted = re.sub(r"\d", lambda m: str((int(m.group()) + 3) % 10), text)
    return "1" + shifted[1:] if shifted.startswith("0") else shifted


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
    ('The border is 198 km long.', [('765 km', '198 km')])
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
    elif suite in ("conflict", "unaltered"):
        files.update(copies(files, gold_names, items, altered=suite == "conflict"))
    return write_corpus(folder / suite, files)


def copies(files: dict[str, str], gold_names: list[str], items: list[GoldItem], altered: bool) -> dict[str, str]:
    """For each gold document that states a gold value, a copy (the value altered, or not): alone for every
    other document, else with the texts of the next two documents of the corpus around it.

    >>> files = {"a.txt": "It is 765 km long.", "b.txt": "Bee.", "c.txt": "Sea."}
    >>> items = [GoldItem("1", "How long?", ["765 km"], ["a.txt"], "fact")]
    >>> copies(files, ["a.txt"], items, altered=True)
    {'altered_a.txt': 'It is 198 km long.'}
    >>> copies({**files, "d.txt": "It is 12 m long."}, ["a.txt", "d.txt"],
    ...        items + [GoldItem("2", "How long?", ["12 m"], ["d.txt"], "fact")], altered=False)["copy_d.txt"]
    'It is 765 km long.\\n\\nIt is 12 m long.\\n\\nBee.'
    """
    names, out = sorted(files), {}
    for k, name in enumerate(gold_names):
        answers = [a for i in items if i.answerable and name in i.sources for a in i.answers]
        text, changes = counterfeit(files[name], answers)
        if not changes:
            continue
        copy = text if altered else files[name]
        if k % 2:
            around = [names[(names.index(name) + d) % len(names)] for d in (1, 2)]
            copy = f"{files[around[0]]}\n\n{copy}\n\n{files[around[1]]}"
        out[f"{'altered' if altered else 'copy'}_{name}"] = copy
    return out


def asked(suite: str, items: list[GoldItem], corpus: Path) -> list[GoldItem]:
    """The items a suite asks: the answerable ones; for conflict and its control, those whose gold document
    states a gold value (so that there is something to alter)."""
    answerable = [i for i in items if i.answerable]
    if suite not in ("conflict", "unaltered"):
        return answerable
    files = corpus_files(corpus)
    return [i for i in answerable if any(counterfeit(files[s], i.answers)[1] for s in i.sources if s in files)]


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
    if suite == "unaltered":
        return {"suite": suite, "n": n, "false_flags": share(lambda i: bool(i.get("conflicts"))),
                "answerable_correct": share(lambda i: i["correct"])}
    answered = [i for i in scored if not i["abstained"]]
    return {"suite": suite, "n": n, "conflict_flagged": share(lambda i: bool(i.get("conflicts"))),
            "flagged_when_answered": round(sum(bool(i.get("conflicts")) for i in answered) / len(answered), 4)
            if answered else None,
            "shows_both_values": share(lambda i: i.get("shows_both", False)),
            "answerable_correct": share(lambda i: i["correct"])}


def _same(item: dict, before: dict | None) -> bool:
    """The same short answer (or text, when there is none) and the same refusal decision as the plain run."""
    if before is None:
        return False
    key = "short_answer" if item.get("short_answer") or before.get("short_answer") else "answer"
    return item["abstained"] == before["abstained"] and \
        GROUP_RE.sub("", item[key]).split() == GROUP_RE.sub("", before[key]).split()
