"""Run a gold set through an Assistant and score every item."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from eval import metrics
from eval.gold import GoldItem
from text.sentences import split_sentences
from core.errors import RagError
from core.records import Answer, Delta
from rag.citations import markers


@dataclass
class EvalReport:
    summary: dict
    items: list[dict] = field(default_factory=list)
    run: dict = field(default_factory=dict)     # the fingerprint: what produced these figures (eval.fingerprint)

    def to_dict(self) -> dict:
        return {"run": self.run, "summary": self.summary, "items": self.items}


def score_item(item: GoldItem, answer: Answer, latency_ms: float, text_of: Callable[[str], str],
               k: int, max_words: int = 60) -> dict:
    """Every per-item score of one answered gold item."""
    cited = [Path(c.source).name for c in answer.citations]
    retrieved = [Path(p.source).name for p in answer.passages]
    rank = metrics.retrieval_ranks(retrieved[:k], item.sources) if item.answerable else None
    short = answer.short_answer or answer.text
    correct = answer.abstained if not item.answerable else (
        not answer.abstained and metrics.contains(answer.text, item.answers, max_words))
    return {
        "id": item.id, "question": item.question, "kind": item.kind, "question_kind": answer.kind,
        "answers": item.answers,
        "sources": item.sources, "answer": answer.text, "short_answer": answer.short_answer,
        "abstained": answer.abstained, "withheld": answer.withheld, "mode": answer.mode, "notice": answer.notice,
        "standalone_question": answer.standalone_question,
        "citations": [c.to_dict() for c in answer.citations], "retrieved_sources": retrieved,
        "correct": bool(correct), "confidence": answer.confidence,
        "would_be_correct": bool(item.answerable and metrics.contains(answer.withheld or answer.text, item.answers,
                                                                       max_words)),
        "latency_ms": round(latency_ms, 1), "words": len(answer.text.split()),
        "conflict_flagged": bool(answer.conflicts), "conflicts": [c.to_dict() for c in answer.conflicts],
        "markers": len(markers(answer.text)), "invalid_markers": answer.invalid_markers,
        "unsupported": len(answer.unsupported_sentences),
        **_answerable_scores(item, answer, short, cited, rank, text_of),
    }


def _answerable_scores(item, answer, short, cited, rank, text_of) -> dict:
    if not item.answerable:
        return {"hit_at_1": None, "hit_at_k": None, "mrr": None, "exact_match": None, "f1": None,
                "short_correct": None, "strict_correct": None, "cited_precision": None, "citation_support": None,
                "quote_fidelity": metrics.quote_fidelity([c.to_dict() for c in answer.citations], text_of)}
    return {
        "retrieval_rank": rank, "hit_at_1": float(rank == 1), "hit_at_k": float(rank is not None),
        "mrr": metrics.reciprocal_rank(rank),
        "exact_match": metrics.exact_match(short, item.answers), "f1": metrics.token_f1(short, item.answers),
        "short_correct": float(not answer.abstained and metrics.contains(opening(answer), item.answers)),
        "strict_correct": float(not answer.abstained and metrics.contains(answer.text, item.answers) and any(
            metrics.contains(c.quote, item.answers, max_words=10 ** 6) for c in answer.citations)),
        "cited_precision": metrics.cited_precision(cited, item.sources),
        "citation_support": metrics.citation_support([c.quote for c in answer.citations], item.answers),
        "quote_fidelity": metrics.quote_fidelity([c.to_dict() for c in answer.citations], text_of),
    }


def opening(answer: Answer) -> str:
    """What a person reads first: the short answer, else the first sentence.

    >>> opening(Answer("Baku. It was then [1].", [], False, "q", "q")), opening(Answer("x", [], False, "q", "q", short_answer="765 km"))
    ('Baku.', '765 km')
    """
    if answer.short_answer:
        return answer.short_answer
    spans = split_sentences(answer.text)
    return answer.text[spans[0][0]:spans[0][1]] if spans else ""


def document_texts(assistant) -> Callable[[str], str]:
    """The stored text of a document, read from the store once per run."""
    texts: dict[str, str] = {}

    def text_of(source: str) -> str:
        if source not in texts:
            texts[source] = assistant.document_text(source)
        return texts[source]
    return text_of


def ask(assistant, item: GoldItem) -> tuple[Answer, float, float]:
    """The final answer to a gold item, the milliseconds it took, and those until its first text was shown
    (the extractive answer streams at once; a reader's answer replaces it later)."""
    began, first, answer = time.perf_counter(), None, None
    for event in assistant.stream(item.question, history=item.history or None):
        if isinstance(event, Delta) and first is None:
            first = time.perf_counter()
        answer = event
    done = time.perf_counter()
    return answer, (done - began) * 1000, ((first or done) - began) * 1000


def run(gold_items: list[GoldItem], assistant, progress: Callable[[int, int, str], None] | None = None) -> EvalReport:
    """Answer and score every gold item; an item whose question is refused as invalid counts as an abstention."""
    k = assistant.settings.retrieval.top_k
    text_of = document_texts(assistant)

    scored = []
    for number, item in enumerate(gold_items, 1):
        try:
            answer, latency, first = ask(assistant, item)
        except RagError as err:
            answer, latency, first = Answer(str(err), [], True, item.question, item.question), 0.0, 0.0
        scored.append(score_item(item, answer, latency, text_of, k, assistant.settings.answer.max_answer_words))
        scored[-1]["first_text_ms"] = round(first, 1)
        if progress:
            progress(number, len(gold_items), item.id)
    return EvalReport(metrics.aggregate(scored), scored)
