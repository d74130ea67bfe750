"""Paired statistics for comparing two eval runs on the same items: deterministic, no LLM judge.

A run is better or worse only when the difference is unlikely under noise: an exact McNemar test on the items
whose correctness flipped, and a paired bootstrap interval for the change of each metric.
"""
from __future__ import annotations

import math
import random

ALPHA = 0.05
RESAMPLES = 2000


def mcnemar_exact(better: int, worse: int) -> float:
    """Two-sided exact McNemar p-value for `better` items that went wrong -> right and `worse` right -> wrong.

    >>> mcnemar_exact(0, 0), round(mcnemar_exact(1, 9), 4), round(mcnemar_exact(5, 5), 4)
    (1.0, 0.0215, 1.0)
    """
    n = better + worse
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(better, worse) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired_bootstrap(old: list[float], new: list[float], resamples: int = RESAMPLES,
                     seed: int = 0) -> tuple[float, float, float]:
    """(mean of new - old, 2.5th and 97.5th percentile of the resampled mean difference), items paired.

    >>> paired_bootstrap([0, 0, 1, 1], [0, 0, 1, 1])
    (0.0, 0.0, 0.0)
    >>> diff, lo, hi = paired_bootstrap([1.0] * 50, [0.0] * 10 + [1.0] * 40)
    >>> diff, lo < 0 and hi < 0
    (-0.2, True)
    """
    diffs = [b - a for a, b in zip(old, new)]
    if not diffs:
        return 0.0, 0.0, 0.0
    rng, n = random.Random(seed), len(diffs)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    low, high = means[int(0.025 * resamples)], means[min(resamples - 1, int(0.975 * resamples))]
    return round(sum(diffs) / n, 6), round(low, 6), round(high, 6)


def verdict(better: int, worse: int, alpha: float = ALPHA) -> str:
    """'better', 'worse' or 'no significant change' for the correctness flips of a paired comparison.

    >>> verdict(2, 3), verdict(0, 12), verdict(12, 1)
    ('no significant change', 'worse', 'better')
    """
    if mcnemar_exact(better, worse) >= alpha:
        return "no significant change"
    return "better" if better > worse else "worse"
