"""Store: the only module that imports chromadb.

Two collections: `<name>` holds the chunks with their embeddings, and
`<name>-docs` holds one record per committed document (its cleaned text, its
metadata, and the mean of its chunk vectors, used to find near-duplicates).
A document is *committed* once its record is written; chunks of uncommitted
documents are never served, which keeps a crash mid-ingest invisible.
"""
from __future__ import annotations

from typing import Any, Iterable

import chromadb
from chromadb.config import Settings as ChromaSettings

from core.errors import StoreError
from core.records import Chunk, DocumentInfo, Filters, ScoredChunk
from core.settings import StoreSettings

PAGE = 2000
DOC_FIELDS = ("title", "date", "author", "url", "language", "duplicate_of", "ocr_pages")  # '' when absent


def make_client(settings: StoreSettings):
    """Embedded PersistentClient in index_dir, or HttpClient when RAG_CHROMA_HOST is set."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                       settings=chroma_settings)
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except Exception as err:  # chromadb raises plain Exception/ValueError for unreachable servers
        where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else settings.index_dir
        raise StoreError(f"cannot open the Chroma store at {where}: {err}") from None


def date_number(iso: str) -> int:
    """Sortable integer form of an ISO date for Chroma range filters (0 when unknown).

    >>> date_number("2023-05-25"), date_number("")
    (20230525, 0)
    """
    return int(iso.replace("-", "")[:8]) if iso else 0


def where(filters: Filters) -> dict | None:
    """The Chroma metadata filter of `filters` (None when nothing is filtered).

    >>> where(Filters(("/a.txt",), since="2024-01-01"))
    {'$and': [{'source': {'$in': ['/a.txt']}}, {'date_num': {'$gte': 20240101}}]}
    """
    clauses = []
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    if filters.since:
        clauses.append({"date_num": {"$gte": date_number(filters.since)}})
    if filters.until:
        clauses.append({"date_num": {"$lte": date_number(filters.until)}})
    return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return {"source": chunk.source, "start": chunk.start, "end": chunk.end, "doc_hash": chunk.doc_hash,
            "title": chunk.title, "date": chunk.date, "date_num": date_number(chunk.date),
            "ordinal": chunk.ordinal, "layout": chunk.layout}


def chunk_from(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(id=chunk_id, source=meta["source"], text=text, start=int(meta["start"]), end=int(meta["end"]),
                 doc_hash=meta["doc_hash"], title=meta.get("title", ""), date=meta.get("date", ""),
                 ordinal=int(meta.get("ordinal", 0)), layout=meta.get("layout", ""))


def doc_metadata(info: DocumentInfo) -> dict[str, Any]:
    meta = {field: getattr(info, field) for field in DOC_FIELDS}
    return {**meta, "source": info.source, "content_hash": info.content_hash, "chars": info.chars,
            "chunks": info.chunks, "date_num": date_number(info.date), "pages": info.pages}


def doc_from(meta: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo(source=meta["source"], content_hash=meta["content_hash"], chars=int(meta["chars"]),
                        chunks=int(meta["chunks"]), pages=int(meta.get("pages", 0)),
                        **{f: meta.get(f, "") for f in DOC_FIELDS})


class Store:
    def __init__(self, settings: StoreSettings, client=None):
        self.client = client or make_client(settings)
        name = settings.collection
        self.chunks = self.client.get_or_create_collection(name, embedding_function=None,
                                                           metadata={"hnsw:space": "cosine"})
        self.docs = self.client.get_or_create_collection(f"{name}-docs", embedding_function=None,
                                                         metadata={"hnsw:space": "cosine"})
        self.max_batch = self._max_batch()

    def _max_batch(self) -> int:
        try:
            return max(1, min(int(self.client.get_max_batch_size()), 1000))
        except Exception:
            return 500

    # --- chunks
    def upsert_chunks(self, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        for i in range(0, len(chunks), self.max_batch):
            part = chunks[i:i + self.max_batch]
            self.chunks.upsert(ids=[c.id for c in part], embeddings=embeddings[i:i + self.max_batch],
                               documents=[c.text for c in part], metadatas=[chunk_metadata(c) for c in part])

    def embeddings_of(self, ids: list[str]) -> dict[str, list[float]]:
        """Stored vectors of the ids that exist (lets re-ingest skip the encoder)."""
        found: dict[str, list[float]] = {}
        for i in range(0, len(ids), PAGE):
            got = self.chunks.get(ids=ids[i:i + PAGE], include=["embeddings"])
            found.update({cid: list(vec) for cid, vec in zip(got["ids"], got["embeddings"])})
        return found

    def chunk_keys(self, sources: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
        """(id, source, doc_hash) of stored chunks, optionally of some sources only."""
        where = None
        if sources is not None:
            where = {"source": {"$in": sorted(set(sources))}}
            if not where["source"]["$in"]:
                return []
        keys = []
        for page in self._pages(self.chunks, where, ["metadatas"]):
            keys += [(cid, m["source"], m["doc_hash"]) for cid, m in zip(page["ids"], page["metadatas"])]
        return keys

    def delete_chunks(self, ids: list[str]) -> None:
        for i in range(0, len(ids), self.max_batch):
            self.chunks.delete(ids=ids[i:i + self.max_batch])

    def chunks_of(self, sources: list[str]) -> dict[str, list[Chunk]]:
        """The stored chunks of some documents (any version), by source."""
        out: dict[str, list[Chunk]] = {}
        for page in self._pages(self.chunks, {"source": {"$in": sorted(set(sources))}}, ["metadatas", "documents"]):
            for c, t, m in zip(page["ids"], page["documents"], page["metadatas"]):
                out.setdefault(m["source"], []).append(chunk_from(c, t, m))
        return out

    def chunks_by_id(self, ids: list[str]) -> dict[str, tuple[Chunk, list[float]]]:
        """Stored chunks with their vectors, by id (ids that do not exist are left out)."""
        found: dict[str, tuple[Chunk, list[float]]] = {}
        for i in range(0, len(ids), PAGE):
            got = self.chunks.get(ids=ids[i:i + PAGE], include=["metadatas", "documents", "embeddings"])
            rows = zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
            found.update({c: (chunk_from(c, t, m), list(e)) for c, t, m, e in rows})
        return found

    def all_chunks(self) -> list[Chunk]:
        out = []
        for page in self._pages(self.chunks, None, ["metadatas", "documents"]):
            out += [chunk_from(c, t, m) for c, t, m in zip(page["ids"], page["documents"], page["metadatas"])]
        return out

    def count(self) -> int:
        """Stored chunks, committed or not."""
        return self.chunks.count()

    def document_count(self) -> int:
        """Committed documents."""
        return self.docs.count()

    def query(self, vector: list[float], n: int, filters: Filters = Filters()) -> list[tuple[ScoredChunk, list]]:
        """Nearest chunks with cosine similarity and their vectors."""
        n = min(n, self.count())
        if n <= 0:
            return []
        got = self.chunks.query(query_embeddings=[vector], n_results=n, where=where(filters),
                                include=["metadatas", "documents", "distances", "embeddings"])
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0],
                   got["embeddings"][0])
        return [(ScoredChunk(chunk_from(c, t, m), 1.0 - float(d)), list(e)) for c, t, m, d, e in rows]

    # --- documents
    def put_document(self, info: DocumentInfo, text: str, vector: list[float]) -> None:
        self.put_documents([info], [text], [vector])

    def put_documents(self, infos: list[DocumentInfo], texts: list[str], vectors: list[list[float]]) -> None:
        """Commit document records (in as few calls as the store allows)."""
        for i in range(0, len(infos), self.max_batch):
            part = slice(i, i + self.max_batch)
            self.docs.upsert(ids=[d.source for d in infos[part]], embeddings=vectors[part], documents=texts[part],
                             metadatas=[doc_metadata(d) for d in infos[part]])

    def delete_document(self, source: str) -> None:
        self.docs.delete(ids=[source])

    def documents(self) -> list[DocumentInfo]:
        docs = []
        for page in self._pages(self.docs, None, ["metadatas"]):
            docs += [doc_from(m) for m in page["metadatas"]]
        return sorted(docs, key=lambda d: d.source)

    def document_text(self, source: str) -> str:
        got = self.docs.get(ids=[source], include=["documents"])
        return got["documents"][0] if got["ids"] else ""

    def similar_documents(self, vector: list[float], n: int = 3) -> list[tuple[str, float]]:
        n = min(n, self.docs.count())
        if n <= 0:
            return []
        got = self.docs.query(query_embeddings=[vector], n_results=n, include=["distances"])
        return [(s, 1.0 - float(d)) for s, d in zip(got["ids"][0], got["distances"][0])]

    @staticmethod
    def _pages(collection, where, include):
        offset = 0
        while True:
            page = collection.get(where=where, include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])
