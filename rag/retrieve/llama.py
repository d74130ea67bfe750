"""The project's retriever as a llama-index `BaseRetriever`; the only retrieval module importing llama-index
(imported when a pipeline asks for it, not by a question)."""
from __future__ import annotations

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from core.records import Chunk, ScoredChunk

CHUNK_FIELDS = ("source", "start", "end", "doc_hash", "title", "date", "ordinal", "layout")
HIDDEN_FROM_MODELS = ["start", "end", "doc_hash", "ordinal", "similarity", "layout"]  # offsets mean nothing to an LLM


class LlamaIndexRetriever(BaseRetriever):
    """Any `Retriever` (`search(query, vector)`) behind llama-index's retriever interface."""

    def __init__(self, retriever):
        super().__init__()
        self.inner = retriever

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [to_node(s) for s in self.inner.search(query_bundle.query_str, query_bundle.embedding)]


def to_node(scored: ScoredChunk) -> NodeWithScore:
    """A passage as a llama-index node; `from_node` reverses it.

    >>> s = ScoredChunk(Chunk("c1", "/a.txt", "Text.", 4, 9, "h", "T", "2024-01-02", 3), 0.5, 0.8)
    >>> from_node(to_node(s)) == s
    True
    """
    c = scored.chunk
    metadata = {field: getattr(c, field) for field in CHUNK_FIELDS} | {"similarity": scored.similarity}
    node = TextNode(id_=c.id, text=c.text, metadata=metadata, excluded_llm_metadata_keys=HIDDEN_FROM_MODELS,
                    excluded_embed_metadata_keys=HIDDEN_FROM_MODELS)
    return NodeWithScore(node=node, score=scored.score)


def from_node(node: NodeWithScore) -> ScoredChunk:
    meta = node.node.metadata
    chunk = Chunk(node.node.node_id, text=node.node.get_content(), **{f: meta[f] for f in CHUNK_FIELDS if f in meta})
    return ScoredChunk(chunk, float(node.score or 0.0), float(meta.get("similarity", 0.0)))
