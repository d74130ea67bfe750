"""`rag train --read-gate N`: learn when to answer once the local model has judged the best sentence.

The evidence model alone separates answerable questions from the rest only so far; the local model, asked
"Does the passage answer the question?", separates them better (the probability of "Yes", measured
2026-12-07 on 120 SQuAD validation questions: AUC 0.82 for a right answer, the evidence probability 0.66).
The read gate is a two-feature logistic model over both (as log-odds), fitted on `N` sampled questions of the
validation split (the split the threshold was already chosen on; the evidence model never saw it), its
threshold chosen there on cross-fitted probabilities with the rule the evidence threshold uses, and measured
on `N` sampled questions of the test split against the evidence model alone on the same questions. The
weights file gains a `read_gate` entry; `rag train` writes a file without one (a new evidence model needs a
new gate).
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np

from core.errors import RagError
from core.settings import Settings
from index.embed import Embedder
from learn import fit
from learn.data import read_squad, split_articles
from learn.train import SIZES, Remembered, dump, load_split, workdir
from rag.answer.reader import LocalReader
from rag.evidence import Assessment, Evidence, EvidenceRequest, read_row
from rag.evidence.model import ARTEFACT, READ_GATE_FEATURES, AnswererModel, load

FOLDS = 5


def judged_rows(split: fit.Split, evidence: Evidence, judge, indices: list[int], say=print) -> list[dict]:
    """Per sampled example: what `fit.figures` reads (construction, answerable, confidence, correct, f1) and
    the reader's probability that the best sentence answers (`reader_yes`)."""
    rows = []
    for n, k in enumerate(indices, 1):
        ex = split.examples[k]
        a = evidence.run(EvidenceRequest(ex.question, ex.question, ex.ranked))
        rows.append(row_of(ex, a, evidence.model, judge(ex.question, a.ranked[0].text) if a.ranked else None))
        if n % 25 == 0:
            say(f"  judged {n}/{len(indices)}")
    return rows


def row_of(ex, a: Assessment, model: AnswererModel, yes: float | None) -> dict:
    """`fit.outcome`'s row, with the evidence probability kept apart and the reader's judgement (0.5 unknown)."""
    row = fit.outcome(ex, a, model.span)
    return {**row, "evidence_confidence": row["confidence"], "reader_yes": 0.5 if yes is None else yes}


def gate_rows(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The gate's inputs and labels: a question is worth answering when its best sentence is right."""
    x = np.array([read_row(r["evidence_confidence"], r["reader_yes"]) for r in rows], np.float64)
    return x, np.array([r["correct"] for r in rows], np.int64)


def cross_fitted(rows: list[dict], seed: int, folds: int = FOLDS) -> list[float]:
    """Each row's gate probability from a gate fitted on the other folds (so the threshold is not chosen on
    probabilities its own rows shaped)."""
    x, y = gate_rows(rows)
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    out = [0.0] * len(rows)
    for f in range(folds):
        held = order[f::folds]
        kept = sorted(set(order) - set(held))
        gate = fit.fit_linear(x[kept], y[kept], READ_GATE_FEATURES)
        for i in held:
            out[i] = gate.probability(list(x[i]))
    return out


def with_confidence(rows: list[dict], values: list[float]) -> list[dict]:
    return [{**r, "confidence": v} for r, v in zip(rows, values)]


def sample(split: fit.Split, n: int, seed: int) -> list[int]:
    indices = list(range(len(split.examples)))
    random.Random(seed).shuffle(indices)
    return sorted(indices[:n])


def train_read_gate(settings: Settings, n: int, seed: int, out: Path = ARTEFACT, say=print) -> dict:
    """Fit the read gate on `n` validation questions, measure it on `n` test questions, add it to `out`."""
    if not LocalReader.ready(settings.answer):
        raise RagError("the read gate needs the local model: run `make model` (or `rag model install`) first")
    began = time.perf_counter()
    data = read_squad(settings.shared / "benchmarks")
    parts = split_articles([a["title"] for a in data], seed, SIZES)
    by_title = {a["title"]: a for a in data}
    model = load(out)
    pieces = Remembered(Embedder.from_settings(settings.ingest).token_vectors,
                        workdir(settings) / "pieces-read-gate.pkl")
    judge = LocalReader(settings.answer).judge
    rows = {}
    for name in ("validation", "test"):
        split = load_split(name, [by_title[t] for t in parts[name]], settings, None, seed, say)
        evidence = Evidence(model, split.idf, split.max_idf, model.threshold, pieces=pieces, known=split.known)
        say(f"{name}: judging {n} questions with the local model")
        rows[name] = judged_rows(split, evidence, judge, sample(split, n, seed), say)
    pieces.save()
    return write_gate(model, rows, seed, out, round(time.perf_counter() - began, 1))


def write_gate(model: AnswererModel, rows: dict[str, list[dict]], seed: int, out: Path, seconds: float) -> dict:
    validation, test = rows["validation"], rows["test"]
    crossed = with_confidence(validation, cross_fitted(validation, seed))
    threshold = fit.choose_threshold(crossed)
    x, y = gate_rows(validation)
    gate = fit.fit_linear(x, y, READ_GATE_FEATURES)
    gated_test = with_confidence(test, [gate.probability(list(r)) for r in gate_rows(test)[0]])
    record = {"fitted_on": f"{len(validation)} sampled validation questions (seed {seed})",
              "threshold_chosen_on": "validation, cross-fitted gate probabilities (learn.fit.choose_threshold)",
              "seconds": seconds,
              "test_questions": len(test),
              "test_evidence_alone": fit.figures(test, model.threshold),
              "test_with_read_gate": fit.figures(gated_test, threshold),
              "validation_with_read_gate": fit.figures(crossed, threshold)}
    payload = json.loads(Path(out).read_text())
    payload["read_gate"] = {**gate.to_dict(), "threshold": threshold, "training": record}
    dump(payload, Path(out))
    return record
