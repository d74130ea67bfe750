"""Fitting the three models of the offline answerer on collected examples, and measuring them.

The sentence and evidence models are linear over standardised features, the span model boosted trees; the
answerer needs only their numbers. The order matters: the sentence model (listwise, scipy) ranks candidates;
the span model (scikit-learn) learns on the right sentences, its depth and rounds chosen on validation; the evidence model (logistic) learns on the best candidate of every construction; the
threshold comes from the validation split (`choose_threshold`: the one-standard-error rule on balanced
accuracy).
"""
from __future__ import annotations

from typing import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from eval import metrics
from rag.evidence import (Assessment, best_span, evidence_row, featurise, late_interaction, other_sources, rank,
                          short_answer)
from rag.evidence.features import analyse, candidates
from rag.evidence.conflicts import LIKELY, covers
from rag.evidence.model import AnswererModel, Linear, Scorer, Trees
from rag.evidence.spans import span_candidates, span_features, token_stems
from text.terms import tokens
from learn.data import Example

INVERSE_REGULARISATION = 1.0   # scikit-learn's C: its default, not tuned
FOLDS = 2                      # cross-fitting folds of the training articles for the span model


@dataclass
class Split:
    """The examples of one split with the reference rarity of terms (idf, max_idf), whether its corpus uses a
    term (known) and, after scoring, assessments."""

    examples: list[Example]
    idf: object
    max_idf: float
    known: object = None
    assessed: list[Assessment] = field(default_factory=list)
    prepared: list = field(default_factory=list)
    spans: list = field(default_factory=list)     # per example, a span model not fitted on it (training split)

    def span_for(self, k: int, span: Scorer) -> Scorer:
        """The span model to read example `k` with: its cross-fitted one when there is one, else `span`."""
        return self.spans[k] if self.spans else span


def contains_answer(text: str, answers: list[str]) -> bool:
    return any(a and a in text for a in answers)


def right(example: Example, cand) -> bool:
    """A sentence answers an example when it is part of the gold paragraph and holds a gold answer."""
    return (Path(cand.chunk.source).name == example.gold and contains_answer(cand.text, example.answers)
            and cand.text.strip() in example.paragraph)


def fit_linear(x: np.ndarray, y: np.ndarray, names: list[str], c: float = INVERSE_REGULARISATION,
               weight: np.ndarray | None = None) -> Linear:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((x - mean) / scale, y, sample_weight=weight)
    return Linear(tuple(names), tuple(map(float, mean)), tuple(map(float, scale)),
                  tuple(map(float, model.coef_[0])), float(model.intercept_[0]))


def fit_trees(x: np.ndarray, y: np.ndarray, names: list[str], depth: int, rounds: int, seed: int) -> Trees:
    """Boosted trees (scikit-learn's histogram gradient boosting, its defaults but for depth and rounds;
    early stopping on a seeded tenth of the rows), exported as plain lists and checked against
    scikit-learn's own scores, so a change in its internal tree layout fails here, not at question time."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=rounds, max_depth=depth, min_samples_leaf=40,
                                           early_stopping=True, random_state=seed).fit(x, y)
    trees = Trees(tuple(names), float(np.ravel(model._baseline_prediction)[0]),
                  tuple(_tree(p[0].nodes) for p in model._predictors))
    sample = x[::max(1, len(x) // 5000)]
    if not np.allclose(trees.scores(sample), model.decision_function(sample), atol=1e-3):
        raise RuntimeError("the exported trees do not reproduce scikit-learn's scores")
    return trees


def _tree(nodes) -> tuple[tuple, ...]:
    """One fitted tree as (feature, threshold, left, right, value) lists (-1 children at a leaf)."""
    leaf = nodes["is_leaf"].astype(bool)
    cut = lambda v: float(f"{v:.7g}")
    return (tuple(0 if lf else int(f) for lf, f in zip(leaf, nodes["feature_idx"])),
            tuple(0.0 if lf else cut(t) for lf, t in zip(leaf, nodes["num_threshold"])),
            tuple(-1 if lf else int(c) for lf, c in zip(leaf, nodes["left"])),
            tuple(-1 if lf else int(c) for lf, c in zip(leaf, nodes["right"])),
            tuple(cut(v) if lf else 0.0 for lf, v in zip(leaf, nodes["value"])))


def span_f1(split: Split, span) -> float:
    """Mean short-answer F1 of the span `span` picks in the best-ranked sentence, over answerable plain
    questions (what a user sees, refusals aside)."""
    f1 = []
    for ex, a in zip(split.examples, split.assessed):
        if ex.answerable and ex.construction == "plain" and a.ranked:
            found = best_span(a.question, a.ranked[0], span)
            f1.append(metrics.token_f1(a.ranked[0].text[found[0]:found[1]] if found else a.ranked[0].text, ex.answers))
    return round(float(np.mean(f1)), 4) if f1 else 0.0


def prepare(split: Split, pieces) -> None:
    """Every example's reading and candidates with their features (computed once; `pieces` as the encoder's)."""
    split.prepared = []
    for ex in split.examples:
        q = analyse(ex.question, ex.question, split.idf, split.max_idf, split.known)
        cands = candidates(ex.ranked)
        late_interaction(cands, ex.question, pieces)
        featurise(q, cands, split.idf, split.max_idf)
        split.prepared.append((q, cands))


def sentence_groups(split: Split) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, right?) of the candidates of each answerable plain example that has a right candidate."""
    groups = []
    for ex, (q, cands) in zip(split.examples, split.prepared):
        labels = np.array([right(ex, c) for c in cands], dtype=float)
        if ex.answerable and labels.any():
            groups.append((np.array([c.features for c in cands]), labels))
    return groups


def fit_listwise(groups: list[tuple[np.ndarray, np.ndarray]], names: list[str], l2: float = 1.0) -> Linear:
    """A linear score trained so that, within each group, a softmax over the scores puts its mass on the
    right candidates (listwise ranking: the objective is choosing the best sentence, not labelling each)."""
    from scipy.optimize import minimize

    x = np.vstack([g for g, _ in groups])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    data = [((g - mean) / scale, y / y.sum()) for g, y in groups]

    def loss(w):
        total, grad = 0.0, np.zeros_like(w)
        for g, target in data:
            z = g @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            total -= target @ np.log(p + 1e-12)
            grad -= g.T @ (target - p)
        return (total + l2 * w @ w / 2) / len(data), (grad + l2 * w) / len(data)

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return Linear(tuple(names), tuple(map(float, mean)), tuple(map(float, scale)), tuple(map(float, w)), 0.0)


def assess_all(split: Split, sentence: Linear) -> None:
    split.assessed = []
    for q, cands in split.prepared:
        split.assessed.append(Assessment(q, rank(cands, sentence), 0.0))


def cross_fitted(split: Split, fit_span: Callable[[np.ndarray, np.ndarray], Scorer]) -> list[Scorer]:
    """Per example, a span model fitted on the other articles' folds (FOLDS, articles dealt in name order):
    the evidence model learns from the span model's probability, and on the examples the span model was
    fitted on that probability is higher than it will be on new text (trees fit their training data closely)."""
    articles = sorted({ex.gold for ex in split.examples})
    fold = {name: k % FOLDS for k, name in enumerate(articles)}
    models = [fit_span(*span_rows(split, lambda ex: fold[ex.gold] != f)) for f in range(FOLDS)]
    return [models[fold[ex.gold]] for ex in split.examples]


def span_rows(split: Split, keep: Callable[[Example], bool] = lambda ex: True) -> tuple[np.ndarray, np.ndarray]:
    """Span candidates of the right sentences (of the examples `keep` keeps); a span is positive when it is
    the best match (F1 >= 0.5). Only the best: labelling every span of F1 >= 0.5 (or weighting rows by F1)
    raised validation F1 but made the short answer of a year question 'Thomas Newcomen around 1712', not
    '1712'."""
    xs, ys = [], []
    for ex, a in zip(split.examples, split.assessed):
        if not ex.answerable or not keep(ex):
            continue
        for cand in [c for c in a.ranked if right(ex, c)][:1]:
            toks = tokens(cand.text)
            stems = token_stems(cand.text, toks)
            spans = span_candidates(cand.text, toks)
            f1 = [metrics.token_f1(cand.text[toks[i][0]:toks[j - 1][1]], ex.answers) for i, j in spans]
            top = max(f1, default=0.0)
            for s, score in zip(spans, f1):
                xs.append(span_features(a.question, cand.text, toks, stems, s))
                ys.append(float(score >= 0.5 and score == top))
    return np.array(xs), np.array(ys)


def evidence_rows(split: Split, span: Scorer, noans_weight: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per example with candidates: positive when the question is answerable here and the best
    sentence is right. SQuAD's NoAns questions weigh `noans_weight` each: they are written to copy their
    paragraph's words, so overlap means the opposite there of what it means for the absent answers people
    meet (the gold-removed construction)."""
    xs, ys, ws = [], [], []
    for k, (ex, a) in enumerate(zip(split.examples, split.assessed)):
        if a.ranked:
            xs.append(evidence_row(a.question, a.ranked, split.span_for(k, span)))
            ys.append(float(ex.answerable and right(ex, a.ranked[0])))
            ws.append(noans_weight if ex.impossible else 1.0)
    return np.array(xs), np.array(ys), np.array(ws)


def confidences(split: Split, evidence: Linear, span: Scorer) -> None:
    for k, a in enumerate(split.assessed):
        a.confidence = (evidence.probability(evidence_row(a.question, a.ranked, split.span_for(k, span)))
                        if a.ranked else 0.0)


def outcomes(split: Split, model: AnswererModel) -> list[dict]:
    """Per example: construction, answerable, confidence, whether the best sentence is right, short-answer F1."""
    return [outcome(ex, a, split.span_for(k, model.span)) for k, (ex, a) in enumerate(zip(split.examples,
                                                                                          split.assessed))]


def outcome(ex: Example, a: Assessment, span_model: Scorer) -> dict:
    """One example's row of `outcomes`: its assessment's confidence, whether its best sentence is right and
    the short answer's F1 (answerable examples only)."""
    best = a.ranked[0] if a.ranked else None
    correct = bool(best and ex.answerable and right(ex, best))
    f1 = 0.0
    if best and ex.answerable:
        span = best_span(a.question, best, span_model)
        f1 = metrics.token_f1(best.text[span[0]:span[1]] if span else best.text, ex.answers)
    return {"construction": ex.construction, "answerable": ex.answerable, "confidence": a.confidence,
            "correct": correct, "f1": f1}


def figures(rows: list[dict], threshold: float) -> dict:
    """The issue's figures at one threshold: sentence acc@1, overall accuracy of the plain questions,
    short-answer F1 of the answered answerable ones, and how often the gold-removed ones are refused."""
    plain = [r for r in rows if r["construction"] == "plain"]
    has = [r for r in plain if r["answerable"]]
    no = [r for r in plain if not r["answerable"]]
    removed = [r for r in rows if r["construction"] == "removed"]
    answered = [r for r in has if r["confidence"] >= threshold]
    ok = sum(r["correct"] and r["confidence"] >= threshold for r in has) + sum(r["confidence"] < threshold for r in no)
    result = {
        "threshold": round(threshold, 4), "questions": len(plain), "answerable": len(has),
        "sentence_acc_at_1": _share(sum(r["correct"] for r in has), len(has)),
        "overall_accuracy": _share(ok, len(plain)),
        "hasans_answered_right": _share(sum(r["correct"] for r in answered), len(has)),
        "noans_refused": _share(sum(r["confidence"] < threshold for r in no), len(no)),
        "short_f1_answered": _share(sum(r["f1"] for r in answered), len(answered)),
        "removed_refused": _share(sum(r["confidence"] < threshold for r in removed), len(removed)),
    }
    result["balanced_accuracy"] = round(balanced(result), 4)
    return result


def _share(part: float, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def balanced(f: dict) -> float:
    """Half the answerable questions answered right, half the unanswerable ones refused (SQuAD's NoAns and the
    gold-removed construction alike): a criterion that does not depend on how many questions of a corpus
    happen to be unanswerable (47 % in SQuAD 2.0; few where people ask about their own documents)."""
    refused = [x for x in (f["noans_refused"], f["removed_refused"]) if x is not None]
    return ((f["hasans_answered_right"] or 0.0) + (sum(refused) / len(refused) if refused else 0.0)) / 2


def choose_threshold(rows: list[dict]) -> float:
    """The lowest threshold whose balanced accuracy on these (validation) rows is within one standard error
    of the best (the one-standard-error rule): among operating points the validation data cannot tell apart,
    the one that answers most, since a right answer is what people come for and refusing is the fallback."""
    grid = sorted({round(r["confidence"], 3) for r in rows} | {0.5})
    scores = {t: balanced(figures(rows, t)) for t in grid}
    best = max(scores.values())
    error = (best * (1 - best) / max(len(rows), 1)) ** 0.5
    return min(t for t, score in scores.items() if score >= best - error)


def curve(rows: list[dict], points: int = 21) -> list[dict]:
    """The HasAns/NoAns trade-off: the figures at evenly spaced thresholds."""
    return [figures(rows, t / (points - 1)) for t in range(points)]


FALSE_FLAG_BUDGET = 0.01   # share of answers that may report a disagreement that is not there (training data)
RESTATEMENT_RECALL = 0.9   # share of other passages restating the answer that must fall within the gap


def rival_gaps(split: Split, model: AnswererModel) -> list[float | None]:
    """Per answered plain question: how far under the answer's sentence the best-scoring rival sentence
    scores (a sentence of another passage answering alone with another value of the asked kind), or None
    when there is none. Every other passage counts as another source here: the training corpora hold one
    document per article, and passages of one article about other events are the hard negatives."""
    unbounded = replace(model, conflict_gap=float("inf"))
    gaps = []
    for k, (ex, a) in enumerate(zip(split.examples, split.assessed)):
        if ex.construction != "plain" or not a.ranked or a.confidence < model.threshold:
            continue
        here = replace(unbounded, span=split.span_for(k, model.span))
        short = short_answer(a, here)
        differ, _ = other_sources(a, here, short, unit=lambda c: c.chunk.id)
        rivals = [a.ranked[0].score - r.cand.score for r in differ if not r.copy]
        gaps.append(min(rivals) if rivals else None)
    return gaps


def restatement_gaps(split: Split, model: AnswererModel) -> list[float]:
    """How far under a right answer's sentence the sentences of other passages that state the same answer
    (a gold alias, the span model's pick, answering alone, naming what the answer names) score: what a
    rival sentence answering the same question in other words looks like, with the value unaltered."""
    gaps = []
    for k, (ex, a) in enumerate(zip(split.examples, split.assessed)):
        if not ex.answerable or not a.ranked or a.confidence < model.threshold or not right(ex, a.ranked[0]):
            continue
        best, span_model = a.ranked[0], split.span_for(k, model.span)
        for cand in a.ranked[1:]:
            if cand.chunk.id == best.chunk.id or not contains_answer(cand.text, ex.answers) or \
                    not covers(a.question.asked, best.text, cand.context):
                continue
            if model.evidence.probability(evidence_row(a.question, [cand], span_model)) >= LIKELY:
                span = best_span(a.question, cand, span_model)
                if span and contains_answer(cand.text[span[0]:span[1]], ex.answers):
                    gaps.append(best.score - cand.score)
    return gaps


def quantile(values: list[float], share: float) -> float:
    """The value under which `share` of `values` lie (0.0 when there are none).

    >>> quantile([0.1, 0.5, 0.2, 2.0, 1.0], 0.8), quantile([], 0.9)
    (1.0, 0.0)
    """
    return round(metrics.percentile(values, 100 * share), 4)


def choose_conflict_gap(gaps: list[float | None], budget: float = FALSE_FLAG_BUDGET) -> float:
    """The largest gap at which at most `budget` of the answers would report a disagreement (every rival in
    the training data is a false one: nothing there was altered).

    >>> choose_conflict_gap([None] * 97 + [0.05, 1.0, 2.0], budget=0.01)
    0.525
    >>> choose_conflict_gap([None] * 98 + [1.0, 3.0], budget=0.01), choose_conflict_gap([None] * 99 + [1.0])
    (2.0, inf)
    """
    found = sorted(g for g in gaps if g is not None)
    allowed = int(budget * len(gaps))
    if len(found) <= allowed:
        return float("inf")
    upper = found[allowed]
    lower = found[allowed - 1] if allowed else 0.0
    return round((lower + upper) / 2, 4)


def false_flags(gaps: list[float | None], gap: float) -> float | None:
    """Share of answers that would report a disagreement at `gap` (all false on unaltered data).

    >>> false_flags([None, 0.2, 3.0, None], 1.0)
    0.25
    """
    return round(sum(g is not None and g <= gap for g in gaps) / len(gaps), 4) if gaps else None
