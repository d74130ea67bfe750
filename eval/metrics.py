"""Scores: pure functions over one item (per-item score) and over many (aggregate). No LLM needed."""
from __future__ import annotations

import re
import string
from collections import Counter
from statistics import mean

import numpy as np

ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces.

    >>> normalize("The  $200,000 Offer!")
    '200000 offer'
    """
    text = text.lower().replace("’", "'")
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    return " ".join(ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, answers: list[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer.

    >>> exact_match("the Kapan", ["Kapan"]), exact_match("in Kapan", ["Kapan"])
    (1.0, 0.0)
    """
    return float(any(normalize(prediction) == normalize(a) for a in answers)) if answers else 0.0


def token_f1(prediction: str, answers: list[str]) -> float:
    """Best token-overlap F1 against the gold answers (SQuAD).

    >>> round(token_f1("Kamal Kharrazi, chairman", ["Kamal Kharrazi"]), 3)
    0.8
    """
    best = 0.0
    pred = normalize(prediction).split()
    for answer in answers:
        gold = normalize(answer).split()
        common = sum((Counter(pred) & Counter(gold)).values())
        if common:
            precision, recall = common / len(pred), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains(text: str, answers: list[str], max_words: int = 60) -> bool:
    """A normalised gold alias inside the answer, which must not exceed `max_words` words.

    >>> contains("$200,000 — he was offered $200,000 [1]", ["$200,000"]), contains("word " * 61 + "Kapan", ["Kapan"])
    (True, False)
    """
    if len(text.split()) > max_words:
        return False
    padded = f" {normalize(text)} "
    return any(f" {normalize(a)} " in padded for a in answers if normalize(a))


def retrieval_ranks(retrieved: list[str], gold: list[str]) -> int | None:
    """1-based rank of the first retrieved file that is a gold source (None if absent).

    >>> retrieval_ranks(["b.txt", "a.txt", "a.txt"], ["a.txt"])
    2
    """
    return next((i for i, name in enumerate(retrieved, 1) if name in set(gold)), None)


def reciprocal_rank(rank: int | None) -> float:
    """MRR term of one item.

    >>> reciprocal_rank(2), reciprocal_rank(None)
    (0.5, 0.0)
    """
    return 1.0 / rank if rank else 0.0


def cited_precision(cited: list[str], gold: list[str]) -> float | None:
    """Share of cited files that are gold sources (None when nothing is cited).

    >>> cited_precision(["a.txt", "b.txt"], ["a.txt"])
    0.5
    """
    return sum(name in set(gold) for name in cited) / len(cited) if cited else None


def citation_support(quotes: list[str], answers: list[str]) -> float | None:
    """1.0 when a gold alias appears inside a cited quote (None when nothing is cited).

    >>> citation_support(["was offered $200,000 to carry out"], ["$200,000"])
    1.0
    """
    if not quotes:
        return None
    return float(any(contains(q, answers, max_words=10**6) for q in quotes))


def quote_fidelity(citations: list[dict], text_of) -> float | None:
    """1.0 when every quote equals the stored text of its source at its offsets.

    >>> quote_fidelity([{"source": "s", "start": 0, "end": 5, "quote": "Hello"}], lambda s: "Hello world")
    1.0
    """
    if not citations:
        return None
    return float(all(text_of(c["source"])[c["start"]:c["end"]] == c["quote"] for c in citations))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `p` % of `values` at or below it, one of the
    values itself (numpy's "inverted_cdf" method); 0.0 without values.

    >>> percentile([40, 10, 30, 20], 50), percentile([10, 20, 30, 40], 95), percentile([0.5, 0.25], 50)
    (20, 40, 0.25)
    >>> percentile([], 95)
    0.0
    """
    if not values:
        return 0.0
    return np.percentile(values, p, method="inverted_cdf").item()


def refusal_scores(items: list[dict]) -> dict[str, float]:
    """Precision/recall of abstention on unanswerable items, and false refusals on answerable ones.

    >>> refusal_scores([{"kind": "unanswerable", "abstained": True}, {"kind": "name", "abstained": True},
    ...                 {"kind": "name", "abstained": False}])
    {'refusal_precision': 0.5, 'refusal_recall': 1.0, 'false_refusal_rate': 0.5}
    >>> refusal_scores([{"kind": "name", "abstained": False}])   # undefined figures are None, not a perfect score
    {'refusal_precision': None, 'refusal_recall': None, 'false_refusal_rate': 0.0}
    """
    refused = [i for i in items if i["abstained"]]
    unanswerable = [i for i in items if i["kind"] == "unanswerable"]
    answerable = [i for i in items if i["kind"] != "unanswerable"]
    hits = sum(i["kind"] == "unanswerable" for i in refused)
    return {
        "refusal_precision": hits / len(refused) if refused else None,
        "refusal_recall": hits / len(unanswerable) if unanswerable else None,
        "false_refusal_rate": sum(i["abstained"] for i in answerable) / len(answerable) if answerable else None,
    }


def average(items: list[dict], key: str) -> float | None:
    """Mean of a per-item score over the items that have it.

    >>> average([{"f1": 1.0}, {"f1": None}, {"f1": 0.0}], "f1")
    0.5
    """
    values = [i[key] for i in items if i.get(key) is not None]
    return mean(values) if values else None


ITEM_SCORES = ["correct", "short_correct", "strict_correct", "hit_at_1", "hit_at_k", "mrr", "exact_match", "f1",
               "words", "cited_precision", "citation_support", "quote_fidelity"]


def aggregate(items: list[dict]) -> dict:
    """The summary of a run: every per-item score averaged, refusal scores, latency percentiles."""
    answerable = [i for i in items if i["kind"] != "unanswerable"]
    summary = {"n": len(items), "n_answerable": len(answerable), "n_unanswerable": len(items) - len(answerable),
               "accuracy": average(items, "correct"), "conflict_flagged": average(items, "conflict_flagged")}
    summary.update({f"answerable_{k}": average(answerable, k) for k in ITEM_SCORES})
    summary.update(refusal_scores(items))
    latencies = [i["latency_ms"] for i in items]
    firsts = [i["first_text_ms"] for i in items if "first_text_ms" in i]
    summary.update({"latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95),
                    "latency_max_ms": max(latencies, default=None)})
    if firsts:
        summary.update({"first_text_p50_ms": percentile(firsts, 50), "first_text_p95_ms": percentile(firsts, 95)})
    summary.update(llm_outcomes(items))
    if any(i.get("confidence") is not None for i in items):
        summary["tradeoff"] = tradeoff(items)
    summary["by_kind"] = {kind: {"n": len(group), "accuracy": average(group, "correct")}
                          for kind, group in by_kind(items).items()}
    summary["by_question_kind"] = by_question_kind(items)
    return summary


def by_question_kind(items: list[dict]) -> dict[str, dict]:
    """Figures by the kind of question the assistant took each item for (fact, summary, reasons, list, ...):
    how many, the share answered right, the share refused, and the share of answerable ones answered right.

    >>> by_question_kind([{"question_kind": "list", "kind": "name", "correct": True, "abstained": False},
    ...                   {"question_kind": "list", "kind": "unanswerable", "correct": True, "abstained": True}])
    {'list': {'n': 2, 'accuracy': 1.0, 'refused': 0.5, 'answerable_correct': 1.0}}
    """
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item.get("question_kind") or "unknown", []).append(item)
    return {kind: {"n": len(group), "accuracy": _share(group, "correct"), "refused": _share(group, "abstained"),
                   "answerable_correct": _share([i for i in group if i["kind"] != "unanswerable"], "correct")}
            for kind, group in sorted(groups.items())}


def _share(items: list[dict], key: str) -> float | None:
    """`average` of a yes/no score as a float (None without items)."""
    value = average(items, key)
    return None if value is None else float(value)


def llm_outcomes(items: list[dict]) -> dict:
    """What LLM mode did with each question (nothing when no question went to an LLM): the share answered by
    the LLM, refused by the evidence gate without asking it, and given the offline answer instead (with how
    many for each reason); of the LLM's answers, the share of its [n] markers that pointed at a passage and
    the share of its (non-refusal) answers with every sentence cited.

    >>> items = [{"mode": "llm", "notice": "", "abstained": False, "markers": 3, "invalid_markers": 1, "unsupported": 0},
    ...          {"mode": "llm", "notice": "no passage is strong enough evidence: the LLM was not asked"},
    ...          {"mode": "offline", "notice": "LLM reply withdrawn (it imitates the prompt ('Question:')): "
    ...                                         "showing the offline answer"}]
    >>> out = llm_outcomes(items)
    >>> out["llm_answers_kept"], out["llm_fallbacks_by_reason"], out["llm_marker_validity"]
    (0.333, {'withdrawn: it imitates the prompt': 1}, 0.75)
    """
    asked = [i for i in items if i.get("mode") == "llm" or i.get("notice", "").startswith("LLM ")]
    if not asked:
        return {}
    kept = [i for i in asked if i["mode"] == "llm" and not i["notice"]]
    fallbacks = [i for i in asked if i["mode"] != "llm"]
    written = sum(i["markers"] + i["invalid_markers"] for i in kept)
    cited = [i for i in kept if not i["abstained"]]
    return {"llm_answers_kept": round(len(kept) / len(items), 3),
            "llm_not_asked": round((len(asked) - len(kept) - len(fallbacks)) / len(items), 3),
            "llm_fallbacks": round(len(fallbacks) / len(items), 3),
            "llm_fallbacks_by_reason": dict(Counter(fallback_reason(i["notice"]) for i in fallbacks).most_common()),
            "llm_marker_validity": round(sum(i["markers"] for i in kept) / written, 3) if written else None,
            "llm_answers_all_cited": round(sum(not i["unsupported"] for i in cited) / len(cited), 3) if cited else None}


def fallback_reason(notice: str) -> str:
    """The reason of an offline-fallback notice, without its particulars (which markers, which form).

    >>> fallback_reason("LLM unavailable (the reply was cut short (finish_reason length)): showing the offline answer")
    'unavailable: the reply was cut short'
    >>> fallback_reason("LLM reply withdrawn (it cites passages that do not exist ([9], [12])): showing the offline answer")
    'withdrawn: it cites passages that do not exist'
    """
    kind = "withdrawn" if notice.startswith("LLM reply withdrawn") else "unavailable"
    inner = notice[notice.find("(") + 1:notice.rfind("):")] if "(" in notice and "):" in notice else notice
    return f"{kind}: {re.sub(r' [(].*[)]$', '', inner)}"


def tradeoff(items: list[dict], points: int = 11) -> list[dict]:
    """The refusal trade-off the answerer's evidence threshold moves along: at each threshold, the share of
    answerable items answered right and of unanswerable items refused (items need `confidence` and
    `would_be_correct`: the answer shown, or the one withheld, holds a gold answer).

    >>> rows = tradeoff([{"kind": "a", "confidence": 0.9, "would_be_correct": True},
    ...                  {"kind": "unanswerable", "confidence": 0.3, "would_be_correct": False}], points=3)
    >>> [(r["threshold"], r["answerable_right"], r["unanswerable_refused"]) for r in rows]
    [(0.0, 1.0, 0.0), (0.5, 1.0, 1.0), (1.0, 0.0, 1.0)]
    """
    scored = [i for i in items if i.get("confidence") is not None]
    has = [i for i in scored if i["kind"] != "unanswerable"]
    no = [i for i in scored if i["kind"] == "unanswerable"]
    rows = []
    for k in range(points):
        t = k / (points - 1)
        right = sum(i["would_be_correct"] and i["confidence"] >= t for i in has)
        refused = sum(i["confidence"] < t for i in no)
        rows.append({"threshold": round(t, 3), "answerable_right": right / len(has) if has else None,
                     "unanswerable_refused": refused / len(no) if no else None,
                     "accuracy": (right + refused) / len(scored) if scored else None})
    return rows


def by_kind(items: list[dict]) -> dict[str, list[dict]]:
    """The items grouped by their gold `kind`, kinds in alphabetical order, items in their order.

    >>> by_kind([{"id": 1, "kind": "name"}, {"id": 2, "kind": "date"}, {"id": 3, "kind": "name"}])
    {'date': [{'id': 2, 'kind': 'date'}], 'name': [{'id': 1, 'kind': 'name'}, {'id': 3, 'kind': 'name'}]}
    """
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item["kind"], []).append(item)
    return dict(sorted(groups.items()))
