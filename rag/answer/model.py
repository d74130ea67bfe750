"""The learned weights of the offline answerer, read from a small JSON file (`answerer.json`).

Three logistic models, each a standardised linear score over named features:
- `sentence`: which retrieved sentence answers the question (features: `SENTENCE_FEATURES`);
- `span`: which words of that sentence are the short answer (`SPAN_FEATURES`);
- `evidence`: the probability that the chosen sentence answers the question at all (`QUESTION_FEATURES`);
  the assistant refuses under `threshold`, chosen on validation questions (RAG_ABSTAIN_THRESHOLD moves it);
- `conflict_gap`: how close another document's sentence must score to count as a rival answer (see
  `rag.answer.conflicts`), chosen on training questions for a false-flag budget.

`learn/` writes the file; nothing here trains. The file also records the data, split, seed and figures.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import RagError

ARTEFACT = Path(__file__).with_name("answerer.json")


def sigmoid(z: float) -> float:
    """The logistic function (0 far below -30, where exp would overflow).

    >>> sigmoid(0.0), sigmoid(-100.0)
    (0.5, 0.0)
    """
    return 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0


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

    @classmethod
    def of(cls, data: dict, expected: list[str]) -> "Linear":
        if list(data["names"]) != list(expected):
            raise RagError(f"{ARTEFACT.name}: the model's features do not match this code's; retrain with `rag train`")
        return cls(tuple(data["names"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]),
                   float(data["bias"]))

    def to_dict(self) -> dict:
        return {"names": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias}


@dataclass(frozen=True)
class AnswererModel:
    sentence: Linear
    span: Linear
    evidence: Linear
    threshold: float
    digest: str = ""
    conflict_gap: float = 0.0   # how far under the answer's sentence (in sentence-model log-odds) another source's
                                # sentence may score and still count as answering the same question (learned)

    @classmethod
    def from_dict(cls, data: dict, digest: str = "") -> "AnswererModel":
        from rag.answer.features import QUESTION_FEATURES, SENTENCE_FEATURES
        from rag.answer.spans import SPAN_FEATURES

        return cls(Linear.of(data["sentence"], SENTENCE_FEATURES), Linear.of(data["span"], SPAN_FEATURES),
                   Linear.of(data["evidence"], QUESTION_FEATURES), float(data["threshold"]), digest,
                   float(data.get("conflict_gap", 0.0)))


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
