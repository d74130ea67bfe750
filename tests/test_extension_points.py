"""The seams a newcomer extends: a reranker and an answer mode are each one class and one registry line,
chosen by a setting, and used by the assistant without touching anything else."""
from __future__ import annotations

import pytest

from core.errors import SettingsError
from core.records import Answer, Citation, Delta
from rag import answer as answer_modes
from rag import rerank
from rag.assistant import Assistant

QUESTION = "How long is the border between Iran and Azerbaijan?"


@pytest.fixture
def registries():
    """Registries restored after the test (a test's classes must not leak into others)."""
    saved = [(registry, dict(registry)) for registry in (rerank.RERANKERS, answer_modes.ANSWERERS)]
    yield
    for registry, entries in saved:
        registry.clear()
        registry.update(entries)


def test_a_new_reranker_is_one_class_and_one_line(registries, sample):
    seen = []

    @rerank.register("reverse")
    class Reverse:
        def __init__(self, tools=None):
            pass

        def rerank(self, question, passages):
            seen.append(question)
            return list(reversed(passages))

    plain = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder)
    reversed_ = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, reranker="reverse")
    first = [p.chunk.id for p in plain.retriever().search(QUESTION)]
    second = [p.chunk.id for p in reversed_.retriever().search(QUESTION)]
    assert seen and first != second                   # the reranker ran and changed what both modes receive
    assert reversed_.ask(QUESTION, mode="offline").passages[0].chunk_id == second[0]


def test_a_new_answer_mode_is_one_class_and_one_line(registries, sample):
    @answer_modes.register("first-passage")
    class FirstPassage:
        needs_llm = False

        def __init__(self, tools):
            self.tools = tools

        def stream(self, question, history, retriever):
            best = retriever.search(question)[0]
            cite = Citation.passage(best)
            yield Delta("See [1].")
            yield Answer("See [1].", [cite], False, question, question, mode="first-passage")

    assert "first-passage" in answer_modes.modes()
    events = list(sample.stream(QUESTION, mode="first-passage"))
    assert isinstance(events[0], Delta) and isinstance(events[-1], Answer)
    cite = events[-1].citations[0]
    assert events[-1].mode == "first-passage" and cite.chunk_id == sample.retriever().search(QUESTION)[0].chunk.id
    assert sample.document_text(cite.source)[cite.start:cite.end] == cite.quote
    chosen = Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, mode="first-passage")
    assert chosen.ask(QUESTION).mode == "first-passage"          # RAG_MODE takes the registered name


def test_unknown_reranker_or_mode_names_the_choices(sample):
    with pytest.raises(SettingsError, match="none, similarity"):
        Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, reranker="magic")
    with pytest.raises(SettingsError, match="auto, offline, llm"):
        Assistant(settings=sample.settings, store=sample.store, embedder=sample.embedder, mode="poetry")


def test_stream_yields_typed_events_then_one_answer(sample):
    *deltas, final = sample.stream(QUESTION)
    assert deltas and all(isinstance(d, Delta) for d in deltas) and isinstance(final, Answer)
    assert "".join(d.text for d in deltas) == final.text and "765" in final.text


def test_the_retriever_plugs_into_a_llama_index_pipeline(sample):
    """What a user's own llama-index code receives: nodes with the source and offsets of each passage."""
    nodes = sample.retriever(top_k=3).retrieve(QUESTION)
    assert len(nodes) == 3 and all(n.node.metadata["source"].endswith(".txt") for n in nodes)
    top = nodes[0].node
    text = sample.document_text(top.metadata["source"])
    assert text[top.metadata["start"]:top.metadata["end"]] == top.get_content()
    assert "start" not in top.get_content(metadata_mode="llm")   # offsets are kept out of an LLM's prompt
