"""Robustness suites built from any gold set with its corpus (the sample suite and the public benchmarks alike).

- negative: each answerable item asked again without its gold documents (the retriever may use every other
  document): it must be refused.
- noise: distractor documents on other topics (HotpotQA's Wikipedia paragraphs) added: it must still answer.
- duplication: three near-copies of every gold document added: the answer must not change.
- conflict: a copy of each gold document with the gold value altered added, alone or (every other document)
  between the texts of two other documents: the answer should show both values and flag the disagreement
  (`Answer.conflicts`). Only items whose gold document states a gold value are asked.
- unaltered: the same copies with nothing altered (the control): a flag here is a false flag.
- versions[:N]: N versions of every document added (default 5), as a folder collects them: each renamed
  'name (k).txt', each line's first mention of the document's commonest name numbered '(k)'. Every item is
  asked again: accuracy and refusals must not change.
- distractors[:N]: N unrelated public paragraphs added (SQuAD 2.0's Wikipedia paragraphs of articles the corpus
  does not hold; default 200, at most 646). Every item is asked again: accuracy and refusals must not change.
  Both report the change from the plain run item by item, with exact McNemar tests on the flips
  (`eval.significance`).

Each suite is scored beside the plain run; the corpora are written under the eval cache, never the user's folder.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

from core.errors import RagError
from eval import metrics, significance
from rag.citations import GROUP_RE
from eval.benchmarks import write_corpus
from eval.gold import GoldItem
from text.terms import STOPWORDS

SUITES = ("negative", "noise", "duplication", "conflict", "unaltered", "versions", "distractors")
COUNTED = {"versions": 5, "distractors": 200}   # the suites that take a count (`versions:20`), and its default
COPIES = 3
FICTIONAL_NAME = "Alderic Venn"


def parse_suites(value: str) -> list[str]:
    """The suites named by `--robustness` ('all' or a comma-separated list), a counted suite with its count.

    >>> parse_suites("noise, negative"), parse_suites("versions,distractors:646")
    (['noise', 'negative'], ['versions:5', 'distractors:646'])
    >>> parse_suites("all")[-2:]
    ['versions:5', 'distractors:200']
    >>> parse_suites("speed")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.errors.RagError: unknown robustness suite 'speed'; choose from all, negative, noise, ..., versions[:N], distractors[:N]
    >>> parse_suites("distractors:many")
    Traceback (most recent call last):
    core.errors.RagError: robustness suite 'distractors:many': the count must be a whole number above 0, as in distractors:646
    """
    names = list(SUITES) if value.strip() == "all" else [v.strip() for v in value.split(",") if v.strip()]
    return [_suite(name) for name in names]


def _suite(text: str) -> str:
    """One suite of `--robustness` checked, a counted one as 'name:count'."""
    name, colon, count = text.partition(":")
    if name not in SUITES:
        known = [f"{s}[:N]" if s in COUNTED else s for s in SUITES]
        raise RagError(f"unknown robustness suite {text!r}; choose from all, {', '.join(known)}")
    if colon and name not in COUNTED:
        raise RagError(f"robustness suite {name!r} takes no count ({text!r}); only {', '.join(COUNTED)} do")
    if colon and not (count.isdigit() and int(count) > 0):
        raise RagError(f"robustness suite {text!r}: the count must be a whole number above 0, "
                       f"as in {name}:{646 if name == 'distractors' else 20}")
    return f"{name}:{int(count) if colon else COUNTED[name]}" if name in COUNTED else name


def split_suite(suite: str) -> tuple[str, int]:
    """A suite's name and count (0 for a suite without one).

    >>> split_suite("distractors:646"), split_suite("noise")
    (('distractors', 646), ('noise', 0))
    """
    name, _, count = suite.partition(":")
    return name, int(count or 0)


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


def public_paragraphs(shared: Path, count: int, taken: set[str], seed: int = 13) -> dict[str, str]:
    """`count` Wikipedia paragraphs of SQuAD 2.0's dev articles (a fixed sample; all 646 at most), as files
    'distractor_<title>_<n>.txt'. The articles of which the corpus holds a paragraph (`taken`: its texts) are left
    out: they are not unrelated."""
    from eval.benchmarks import _read, safe_name

    data = _read(shared / "benchmarks" / "squad-v2-dev-subset" / "dev-v2.0.json")["data"]
    paragraphs = {f"distractor_{safe_name(a['title'])}_{p:03d}.txt": para["context"] for a in data
                  if not any(para["context"] in taken for para in a["paragraphs"])
                  for p, para in enumerate(a["paragraphs"])}
    names = sorted(paragraphs)
    return {name: paragraphs[name] for name in sorted(random.Random(seed).sample(names, min(count, len(names))))}


def versions(files: dict[str, str], count: int) -> dict[str, str]:
    """`count` versions of every document: 'name (k).txt', each line's first mention of the document's commonest
    name numbered '(k)' (see `numbered`).

    >>> versions({"a.txt": "Baku met Tehran. Baku left."}, 2)
    {'a (1).txt': 'Baku (1) met Tehran. Baku left.', 'a (2).txt': 'Baku (2) met Tehran. Baku left.'}
    """
    return {f"{Path(name).stem} ({k}){Path(name).suffix}": numbered(text, k)
            for name, text in files.items() for k in range(1, count + 1)}


def numbered(text: str, k: int) -> str:
    """Version `k` of a text: each line's first mention of its commonest name (a capitalised word, not a
    stopword) reads 'name (k)'; a text without one gets a first line 'Version k.'.

    >>> numbered("Iran and Azerbaijan met.\\nAzerbaijan left. Azerbaijan won.\\nThe end.", 3)
    'Iran and Azerbaijan (3) met.\\nAzerbaijan (3) left. Azerbaijan won.\\nThe end.'
    """
    names = Counter(w for w in re.findall(r"\b[A-Z][a-z]{2,}\b", text) if w.lower() not in STOPWORDS)
    if not names:
        return f"Version {k}.\n\n{text}"
    name = min(names, key=lambda w: (-names[w], w))
    word = re.compile(rf"\b{re.escape(name)}\b")
    return "\n".join(word.sub(f"{name} ({k})", line, count=1) for line in text.split("\n"))


def corpus_files(corpus: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(corpus).iterdir())
            if p.is_file() and not p.name.startswith(".")}


def variant_corpus(suite: str, items: list[GoldItem], corpus: Path, folder: Path, shared: Path) -> Path:
    """The corpus a suite asks from: the original files plus what the suite adds."""
    files = corpus_files(corpus)
    gold_names = sorted({s for i in items if i.answerable for s in i.sources if s in files})
    counted, count = split_suite(suite)
    if suite == "noise":
        files.update(distractors(shared, max(10, 2 * len(files))))
    elif suite == "duplication":
        files.update({f"copy{k}_{name}": near_copy(files[name], k) for name in gold_names for k in range(1, COPIES + 1)})
    elif suite in ("conflict", "unaltered"):
        files.update(copies(files, gold_names, items, altered=suite == "conflict"))
    elif counted == "versions":
        files.update(versions(files, count))
    elif counted == "distractors":
        files.update(public_paragraphs(shared, count, set(files.values())))
    return write_corpus(folder / suite.replace(":", "-"), files)


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
    states a gold value (so that there is something to alter); for versions and distractors, every item."""
    if split_suite(suite)[0] in COUNTED:
        return items
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
    if split_suite(suite)[0] in COUNTED:
        return {"suite": suite, **shift([(plain[i["id"]], i) for i in scored if i["id"] in plain])}
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


def shift(pairs: list[tuple[dict, dict]]) -> dict:
    """How a suite changed the plain run's items (pairs of (plain, suite) scored items): accuracy and refusal
    recall before and after, the items that flipped, and an exact McNemar p-value for each kind of flip.

    >>> fact = {"id": "f", "correct": True, "abstained": False, "kind": "fact"}
    >>> refused = {"id": "u", "correct": True, "abstained": True, "kind": "unanswerable"}
    >>> figures = shift([(fact, fact), (refused, {**refused, "correct": False, "abstained": False})])
    >>> figures["accuracy_change"], figures["refusal_recall_change"], figures["newly_answered"], figures["verdict"]
    (-0.5, -1.0, 1, 'no significant change')
    """
    better = [new.get("id") for old, new in pairs if new["correct"] and not old["correct"]]
    worse = [new.get("id") for old, new in pairs if old["correct"] and not new["correct"]]
    refused = sum(1 for old, new in pairs if new["abstained"] and not old["abstained"])
    answered = sum(1 for old, new in pairs if old["abstained"] and not new["abstained"])
    figures = {"n": len(pairs), "better": len(better), "worse": len(worse),
               "accuracy_p": round(significance.mcnemar_exact(len(better), len(worse)), 4),
               "verdict": significance.verdict(len(better), len(worse)), "newly_refused": refused,
               "newly_answered": answered, "refusals_p": round(significance.mcnemar_exact(refused, answered), 4),
               "wrong_to_right": better, "right_to_wrong": worse}
    for key, rate in (("accuracy", _accuracy), ("refusal_recall", _refusal_recall)):
        before, after = rate([old for old, _ in pairs]), rate([new for _, new in pairs])
        figures.update({f"plain_{key}": before, key: after,
                        f"{key}_change": None if before is None else round(after - before, 4)})
    return figures


def _accuracy(items: list[dict]) -> float | None:
    return round(sum(bool(i["correct"]) for i in items) / len(items), 4) if items else None


def _refusal_recall(items: list[dict]) -> float | None:
    """The share of the unanswerable items that were refused."""
    unanswerable = [i for i in items if i["kind"] == "unanswerable"]
    return round(sum(bool(i["abstained"]) for i in unanswerable) / len(unanswerable), 4) if unanswerable else None
