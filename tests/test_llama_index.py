"""The assistant inside llama-index's own classes, offline (MockLLM): `as_retriever()` in a RetrieverQueryEngine
and a QueryFusionRetriever, `as_query_engine()` as a QueryEngineTool, its responses carrying the citations."""
from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.tools import QueryEngineTool

from core.errors import SettingsError
from test_answers import CRADLE, JPOST

QUESTION, FACT = "How much money was Aslanov offered to carry out the hit?", "$200,000"


def files(nodes) -> list[str]:
    return [Path(n.node.metadata["source"]).name for n in nodes]


def test_retriever_composes_with_retriever_query_engine(sample):
    retriever = sample.as_retriever(top_k=3)
    assert isinstance(retriever, BaseRetriever)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = engine.query(QUESTION)
    assert files(response.source_nodes)[0] in JPOST and len(response.source_nodes) <= 3 + 2   # + kept variants
    assert FACT in str(response)                 # MockLLM echoes its prompt: the retrieved passages reached it


def test_retriever_composes_with_query_fusion_and_keeps_filters(sample):
    fusion = QueryFusionRetriever([sample.as_retriever(sources=[CRADLE[0]])], llm=MockLLM(), num_queries=1,
                                  use_async=False, similarity_top_k=4)
    nodes = fusion.retrieve("Why is Iran worried?")
    assert nodes and set(files(nodes)) == {CRADLE[0]}


def test_query_engine_response_carries_the_citations(sample):
    response = sample.as_query_engine(mode="offline").query(QUESTION)
    assert FACT in response.response and "[1]" in response.response
    assert response.metadata["refused"] is False and files(response.source_nodes)[0] in JPOST
    for node in response.source_nodes:
        meta = node.node.metadata
        assert sample.document_text(meta["source"])[meta["start"]:meta["end"]] == meta["quote"] == node.node.text
    refused = sample.as_query_engine().query("What is the population of Canada?")
    assert refused.metadata["refused"] is True and refused.source_nodes == []


def test_query_engine_is_a_llama_index_tool(sample):
    tool = QueryEngineTool.from_defaults(sample.as_query_engine(top_k=4), name="documents",
                                         description="Answers questions about the indexed documents, with sources")
    output = tool(QUESTION)
    assert FACT in output.content and files(output.raw_output.source_nodes)[0] in JPOST


def test_unknown_query_engine_option_is_named(sample):
    with pytest.raises(SettingsError, match="'topk'"):
        sample.as_query_engine(topk=3)
