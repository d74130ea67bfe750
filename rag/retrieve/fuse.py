"""Fuse: reciprocal-rank fusion of several rankings of the same passages."""
from __future__ import annotations

ABSENT = 1 << 30    # the rank of an item a ranking does not hold


def rrf(rankings: list[list[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion of several ranked id lists, best first.

    Equal scores are common (ranks 3 and 5 in one list against 5 and 3 in the other); they are ordered by the
    items' ranks, the first ranking's first, never by the ids: a passage id is derived from its file's path, so a
    tie-break on ids would make the answer depend on where the folder lives. Two distinct items cannot hold the
    same rank in one ranking, so this order is total.

    >>> rrf([["a", "b"], ["b", "c"]], k=1)
    [('b', 0.8333333333333333), ('a', 0.5), ('c', 0.3333333333333333)]
    >>> [item for item, _ in rrf([["z", "y"], ["y", "z"]])]       # a tie: the first ranking's order decides
    ['z', 'y']
    """
    scores: dict[str, float] = {}
    ranks: dict[str, list[int]] = {}
    for at, ranking in enumerate(rankings):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(item, [ABSENT] * len(rankings))[at] = rank
    return sorted(scores.items(), key=lambda kv: (-kv[1], ranks[kv[0]]))
