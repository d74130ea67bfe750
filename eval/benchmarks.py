"""Adapters: each public benchmark becomes a corpus folder plus gold items, with its own conventions."""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from eval import metrics
from eval.gold import GoldItem
from core.errors import GoldFileError

@dataclass
class Bench:
    corpus: Path
    items: list[GoldItem]
    extra_metrics: Callable[[list[dict]], dict]


def safe_name(text: str, limit: int = 80) -> str:
    """A file name made from a title.

    >>> safe_name("Scott Derrickson / Ed Wood?")
    'Scott_Derrickson_Ed_Wood'
    """
    return re.sub(r"[^\w.-]+", "_", text).strip("_")[:limit] or "untitled"


def sample(items: list, limit: int | None, seed: int) -> list:
    """A fixed random sample (all items, in order, without a limit).

    >>> sample([1, 2, 3, 4], 2, 13) == sample([1, 2, 3, 4], 2, 13)
    True
    """
    if not limit or limit >= len(items):
        return list(items)
    return random.Random(seed).sample(items, limit)


def write_corpus(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wanted = set(files)
    for stale in folder.glob("*.txt"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in files.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return folder


def _read(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise GoldFileError(f"{path}: cannot read the benchmark ({err})") from None


# --- SQuAD 2.0
def squad(folder: Path, limit: int | None, seed: int, root: Path, titles: set[str] | None = None) -> Bench:
    """SQuAD 2.0's questions (of the articles `titles`, else all), each paragraph a document."""
    data = [a for a in _read(root / "squad-v2-dev-subset" / "dev-v2.0.json")["data"]
            if titles is None or a["title"] in titles]
    questions = [(article["title"], p, qa) for article in data for p, para in enumerate(article["paragraphs"])
                 for qa in para["qas"]]
    chosen = sample(questions, limit, seed)
    titles = {title for title, _, _ in chosen}
    files = {f"{safe_name(a['title'])}_{p:03d}.txt": para["context"] for a in data if a["title"] in titles
             for p, para in enumerate(a["paragraphs"])}
    items = [GoldItem(qa["id"], qa["question"], sorted({a["text"] for a in qa["answers"]}),
                      [] if qa.get("is_impossible") else [f"{safe_name(t)}_{p:03d}.txt"],
                      "unanswerable" if qa.get("is_impossible") else "squad") for t, p, qa in chosen]
    return Bench(write_corpus(folder, files), items, squad_metrics)


def squad_test(folder: Path, limit: int | None, seed: int, root: Path) -> Bench:
    """SQuAD 2.0 on the test articles of the shipped answerer (`rag train` never fitted or chose anything on them)."""
    from rag.evidence.model import ARTEFACT

    record = json.loads(ARTEFACT.read_text(encoding="utf-8"))["training"]
    return squad(folder, limit, seed, root, set(record["articles"]["test"]))


def squad_metrics(items: list[dict]) -> dict:
    """SQuAD 2.0 convention: HasAns and NoAns reported apart; a NoAns item scores 1 when refused."""
    has = [i for i in items if i["kind"] != "unanswerable"]
    no = [i for i in items if i["kind"] == "unanswerable"]
    overall_em = [i["exact_match"] if i["kind"] != "unanswerable" else float(i["abstained"]) for i in items]
    overall_f1 = [i["f1"] if i["kind"] != "unanswerable" else float(i["abstained"]) for i in items]
    return {"squad_HasAns_exact": metrics.average(has, "exact_match"), "squad_HasAns_f1": metrics.average(has, "f1"),
            "squad_NoAns_accuracy": metrics.average(no, "correct"),
            "squad_overall_exact": sum(overall_em) / len(items) if items else None,
            "squad_overall_f1": sum(overall_f1) / len(items) if items else None}


# --- HotpotQA distractor
def hotpotqa(folder: Path, limit: int | None, seed: int, root: Path) -> Bench:
    rows = _read(root / "hotpotqa-dev-distractor-100" / "dev_distractor_100.json")
    chosen = sample(list(enumerate(rows)), limit, seed)
    files, support = {}, {}
    for index, row in chosen:
        for title, sentences in zip(row["context"]["title"], row["context"]["sentences"]):
            files[f"{safe_name(title)}.txt"] = " ".join(s.strip() for s in sentences)
        support[str(index)] = [_sentence(row, t, s) for t, s in zip(row["supporting_facts"]["title"],
                                                                     row["supporting_facts"]["sent_id"])]
    items = [GoldItem(str(i), r["question"], [r["answer"]],
                      sorted({f"{safe_name(t)}.txt" for t in r["supporting_facts"]["title"]}), r["type"])
             for i, r in chosen]
    return Bench(write_corpus(folder, files), items, lambda scored: hotpot_metrics(scored, support))


def _sentence(row: dict, title: str, sent_id: int) -> str:
    sentences = row["context"]["sentences"][row["context"]["title"].index(title)]
    return sentences[sent_id].strip() if sent_id < len(sentences) else ""


def supporting_fact_scores(quotes: list[str], facts: list[str]) -> tuple[float | None, float]:
    """(precision, recall): cited quotes that hold a supporting sentence, supporting sentences that are cited.

    >>> supporting_fact_scores(["A b c. D e f."], ["A b c.", "X y."])
    (1.0, 0.5)
    """
    facts = [f for f in facts if f]
    covered = [f for f in facts if any(f in q or q in f for q in quotes)]
    useful = [q for q in quotes if any(f in q or q in f for f in facts)]
    precision = len(useful) / len(quotes) if quotes else None
    return precision, len(covered) / len(facts) if facts else 0.0


def hotpot_metrics(items: list[dict], support: dict[str, list[str]]) -> dict:
    pairs = [supporting_fact_scores([c["quote"] for c in i["citations"]], support[i["id"]]) for i in items]
    precisions = [p for p, _ in pairs if p is not None]
    return {"hotpot_sp_precision": sum(precisions) / len(precisions) if precisions else None,
            "hotpot_sp_recall": sum(r for _, r in pairs) / len(pairs) if pairs else None,
            "hotpot_answer_em": metrics.average(items, "exact_match"), "hotpot_answer_f1": metrics.average(items, "f1")}


# --- MultiHop-RAG
def multihop(folder: Path, limit: int | None, seed: int, root: Path) -> Bench:
    queries = _read(root / "multihop-rag-500" / "queries.json")["queries"]
    truth = _read(root / "multihop-rag-500" / "ground_truth.json")
    chosen = sample(queries, limit, seed)
    articles: dict[str, dict] = {}
    for query in chosen:
        for ev in truth[query["id"]]["evidence_list"]:
            entry = articles.setdefault(ev["url"], {**ev, "facts": []})
            if ev["fact"] not in entry["facts"]:
                entry["facts"].append(ev["fact"])
    names = {url: f"{safe_name(a['source'], 30)}_{safe_name(a['title'], 60)}.txt" for url, a in articles.items()}
    files = {names[url]: _article_text(a) for url, a in articles.items()}
    items = [_multihop_item(q, truth[q["id"]], names) for q in chosen]
    return Bench(write_corpus(folder, files), items, multihop_metrics)


def _article_text(article: dict) -> str:
    head = f"{article['title']}\nBy {article['author']} - {article['published_at'][:10]}\n{article['source']}\n\n"
    return head + "\n\n".join(article["facts"]) + "\n"


def _multihop_item(query: dict, truth: dict, names: dict[str, str]) -> GoldItem:
    answer = truth["answer"].strip()
    if answer.lower().startswith("insufficient information"):
        return GoldItem(query["id"], query["question"], [], [], "unanswerable")
    sources = sorted({names[ev["url"]] for ev in truth["evidence_list"]})
    return GoldItem(query["id"], query["question"], [answer], sources, query["question_type"])


def multihop_metrics(items: list[dict]) -> dict:
    yes_no = [i for i in items if i["answers"] and i["answers"][0].lower() in ("yes", "no")]
    return {"multihop_yes_no_items": len(yes_no), "multihop_yes_no_accuracy": metrics.average(yes_no, "correct")}


ADAPTERS = {"squad": squad, "squad-test": squad_test, "hotpotqa": hotpotqa, "multihop": multihop}


def prepare(name: str, folder: Path, root: Path, limit: int | None = None, seed: int = 13) -> Bench:
    """The corpus (written into `folder`) and gold items of benchmark `name`, read from `root`."""
    if name not in ADAPTERS:
        raise GoldFileError(f"unknown benchmark {name!r}: choose one of {', '.join(ADAPTERS)}")
    return ADAPTERS[name](Path(folder), limit, seed, Path(root))
