"""The learned weights of the offline answerer, read from a small JSON file (`answerer.json`).

Three logistic models over named features:
- `sentence`: which retrieved sentence answers the question (features: `SENTENCE_FEATURES`; linear);
- `span`: which words of that sentence are the short answer (`SPAN_FEATURES`; boosted trees, since what
  makes a span the answer depends on the kind of question and on the span's shape together);
- `evidence`: the probability that the chosen sentence answers the question at all (`QUESTION_FEATURES`);
  the assistant refuses under `threshold`, chosen on validation questions (RAG_ABSTAIN_THRESHOLD moves it);
- `conflict_gap`: how close another document's sentence must score to count as a rival answer (see
  `rag.evidence.conflicts`), chosen on training questions for a false-flag budget;
- `read_gate` (optional, `learn.read_gate`): where a reader is installed, the probability of answering from the
  evidence probability and the reader's own probability that the best sentence answers (`READ_GATE_FEATURES`),
  refusing under `read_threshold`; both learned on validation questions.

`learn/` writes the file; nothing here trains. The file also records the data, split, seed and figures.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from core.errors import RagError

ARTEFACT = Path(__file__).with_name("answerer.json")
READ_GATE_FEATURES = ["evidence_logit", "reader_yes_logit"]


def sigmoid(z: float) -> float:
    """The logistic function (0 far below -30, where exp would overflow).

    >>> sigmoid(0.0), sigmoid(-100.0)
    (0.5, 0.0)
    """
    return 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0


def logit(p: float, floor: float = 1e-4) -> float:
    """Log-odds of a probability, kept off the infinities.

    >>> round(logit(0.5), 3), round(logit(0.9), 3), round(logit(1.0), 2)
    (0.0, 2.197, 9.21)
    """
    p = min(max(p, floor), 1.0 - floor)
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class Linear:
    """score(x) = bias + sum_i weight_i * (x_i - mean_i) / scale_i, over features named `names`.

    >>> m = Linear(("a", "b"), (0.0, 1.0), (1.0, 2.0), (2.0, -1.0), 0.5)
    >>> m.score([1.0, 3.0])
    1.5
    >>> round(m.probability([1.0, 3.0]), 3)
    0.818
    """

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def score(self, row: list[float]) -> float:
        return self.bias + sum(w * (x - m) / s for w, x, m, s in zip(self.weights, row, self.mean, self.scale))

    def probability(self, row: list[float]) -> float:
        return sigmoid(self.score(row))

    def scores(self, x: np.ndarray) -> np.ndarray:
        """The score of every row of `x` at once (rows × features)."""
        return self.bias + ((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.weights)

    @classmethod
    def of(cls, data: dict, expected: list[str]) -> "Linear":
        _check(data, expected)
        return cls(tuple(data["names"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]),
                   float(data["bias"]))

    def to_dict(self) -> dict:
        return {"names": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias}


@dataclass(frozen=True)
class Trees:
    """Boosted regression trees: score(x) = bias + the sum over trees of the leaf x reaches, over features
    named `names`. A tree is five equal-length lists over its nodes: the feature a node splits on, its
    threshold (x <= threshold goes left), its left and right children (-1 at a leaf) and its value (a leaf's).

    >>> stump = ((0, -1, -1), (2.0, 0.0, 0.0), (1, -1, -1), (2, -1, -1), (0.0, -1.0, 1.5))
    >>> m = Trees(("a",), 0.5, (stump, stump))
    >>> m.score([1.0]), m.score([3.0]), m.scores(np.array([[1.0], [3.0]])).tolist()
    (-1.5, 3.5, [-1.5, 3.5])
    """

    names: tuple[str, ...]
    bias: float
    trees: tuple[tuple[tuple, ...], ...]

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, ...]:
        """The trees as (tree, node) arrays padded to the largest tree, and the depth to walk."""
        width = max(len(t[0]) for t in self.trees)
        pad = lambda k, fill, kind: np.array([list(t[k]) + [fill] * (width - len(t[k])) for t in self.trees], kind)
        feature, threshold = pad(0, 0, np.int64), pad(1, 0.0, np.float64)
        left, right, value = pad(2, -1, np.int64), pad(3, -1, np.int64), pad(4, 0.0, np.float64)
        return feature, threshold, left, right, value, _depth(left, right)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """The score of every row of `x` at once (rows × features)."""
        feature, threshold, left, right, value, depth = self._arrays
        tree = np.arange(len(self.trees))[None, :]
        row = np.arange(len(x))[:, None]
        node = np.zeros((len(x), len(self.trees)), np.int64)
        for _ in range(depth):
            below = x[row, feature[tree, node]] <= threshold[tree, node]
            step = np.where(below, left[tree, node], right[tree, node])
            node = np.where(step < 0, node, step)
        return self.bias + value[tree, node].sum(axis=1)

    def score(self, row: list[float]) -> float:
        return float(self.scores(np.array([row], np.float64))[0])

    def probability(self, row: list[float]) -> float:
        return sigmoid(self.score(row))

    @classmethod
    def of(cls, data: dict, expected: list[str]) -> "Trees":
        _check(data, expected)
        return cls(tuple(data["names"]), float(data["bias"]), tuple(tuple(map(tuple, t)) for t in data["trees"]))

    def to_dict(self) -> dict:
        return {"kind": "trees", "names": list(self.names), "bias": self.bias,
                "trees": [[list(part) for part in t] for t in self.trees]}


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    """The most splits from a root to a leaf over all trees ((tree, node) children arrays; -1 at a leaf).

    >>> _depth(np.array([[1, -1, -1]]), np.array([[2, -1, -1]]))
    1
    """
    depth, frontier = 0, [(t, 0) for t in range(len(left))]
    while True:
        frontier = [(t, c) for t, n in frontier for c in (left[t, n], right[t, n]) if c >= 0]
        if not frontier:
            return depth
        depth += 1


def _check(data: dict, expected: list[str]) -> None:
    """The weights' feature names must be the code's, in the code's order: a row built by one and scored by
    the other would put every weight on another feature.

    >>> _check({"names": ["coverage", "length"]}, ["coverage", "length", "novelty"])
    Traceback (most recent call last):
    core.errors.RagError: answerer.json: the weights know 2 features and the code computes 3: feature 3 is 'novelty' in the code and absent in the weights; retrain with `rag train`
    """
    names, expected = list(data["names"]), list(expected)
    if names == expected:
        return
    at = next((k for k, (a, b) in enumerate(zip(names, expected)) if a != b), min(len(names), len(expected)))
    code, weights = (repr(row[at]) if at < len(row) else "absent" for row in (expected, names))
    raise RagError(f"{ARTEFACT.name}: the weights know {len(names)} features and the code computes {len(expected)}: "
                   f"feature {at + 1} is {code} in the code and {weights} in the weights; retrain with `rag train`")


Scorer = Linear | Trees   # what the answerer asks of a model: score(row), scores(rows), probability(row)


def scorer(data: dict, expected: list[str]) -> Scorer:
    """The model a JSON object describes: boosted trees when its `kind` says so, else a linear model."""
    return (Trees if data.get("kind") == "trees" else Linear).of(data, expected)


@dataclass(frozen=True)
class AnswererModel:
    sentence: Linear
    span: Scorer
    evidence: Linear
    threshold: float
    digest: str = ""
    conflict_gap: float = 0.0   # how far under the answer's sentence (in sentence-model log-odds) another source's
                                # sentence may score and still count as answering the same question (learned)
    read_gate: Linear | None = None
    read_threshold: float = 0.5

    @classmethod
    def from_dict(cls, data: dict, digest: str = "") -> "AnswererModel":
        from rag.evidence.features import QUESTION, SENTENCE
        from rag.evidence.spans import SPAN

        gate = data.get("read_gate")
        return cls(Linear.of(data["sentence"], SENTENCE.names), scorer(data["span"], SPAN.names),
                   Linear.of(data["evidence"], QUESTION.names), float(data["threshold"]), digest,
                   float(data.get("conflict_gap", 0.0)), Linear.of(gate, READ_GATE_FEATURES) if gate else None,
                   float(gate["threshold"]) if gate else 0.5)


@lru_cache(maxsize=4)
def load(path: Path = ARTEFACT) -> AnswererModel:
    """The model in `path` (read once per process); a missing or damaged file is a clear error."""
    try:
        raw = Path(path).read_bytes()
        return AnswererModel.from_dict(json.loads(raw), hashlib.sha256(raw).hexdigest()[:16])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RagError(f"{path}: cannot read the answerer's weights ({err}); restore it or run `rag train`") from None


def artefact_hash(path: Path = ARTEFACT) -> str:
    """sha256 (16 hex digits) of the weights file, or '' when there is none."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return ""
