"""The public API: `Assistant` ingests folders and answers questions with citations.

Wiring only: the stages live in `index` (ingest), `rag.retrieve`, `rag.rerank`
and `rag.answer`. The CLI, the UI and the eval harness all call this class;
there is no second code path.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Iterator

from core.errors import RagError
from core.records import Answer, DocumentInfo, Event, Filters, IngestReport, Message
from core.settings import Settings
from index.embed import Embedder
from index.lexicon import Lexicon
from index.lock import generation, index_lock, no_writer
from index.store import Store
from rag.answer import ANSWERERS, Answerer, Tools, ready, resolve
from rag.rerank import make_reranker
from rag.retrieve import Corpus, HybridRetriever
from text.questions import clean_question

STALE_CHECK_SECONDS = 2.0


class Assistant:
    def __init__(self, index_dir: str | Path | None = None, *, settings: Settings | None = None,
                 store: Store | None = None, embedder: Embedder | None = None, llm=None, **overrides):
        if index_dir is not None:
            overrides["index_dir"] = Path(index_dir)
        self.settings = settings.replace(**overrides) if settings else Settings(**overrides)
        resolve(None, self.settings.answer.mode, True)   # an unknown RAG_MODE fails here, naming the choices
        self.reranker = make_reranker(self.settings.retrieval.reranker)
        self.store = store or Store(self.settings.store)
        self.lexicon = Lexicon.for_store(self.settings.store)
        self.embedder = embedder or Embedder.from_settings(self.settings.ingest)
        self._llm = llm
        self._answerers: dict[str, Answerer] = {}
        self._corpus: Corpus | None = None
        self._corpus_stamp, self._checked = None, 0.0
        self._loading = threading.Lock()      # one snapshot load at a time; questions use the current one
        self._ingest_lock = threading.Lock()

    # --- the index
    def ingest(self, paths, progress=None) -> IngestReport:
        """Index files and folders; `progress(done, total, note)` is called as it goes."""
        from index.pipeline import Ingestor   # not imported by a question: the readers load slowly

        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        with self._ingest_lock, index_lock(self.settings.store):
            report = Ingestor(self.settings.ingest, self.store, self.embedder, self.lexicon).run(paths, progress)
            self.refresh()
        return report

    def remove(self, source: str) -> str:
        """Remove a document by path or file name; its passages stop appearing at once. The path removed,
        or "" when no indexed document matches."""
        match = self.indexed_source(source)
        if not match:
            return ""
        from index.pipeline import remove_document

        with self._ingest_lock, index_lock(self.settings.store):
            remove_document(self.store, match, self.lexicon)
            self.refresh()
        return match

    def indexed_source(self, source: str, docs: list[str] | None = None) -> str:
        """The indexed document `source` names (a path or a unique file name), or ''."""
        docs = docs if docs is not None else [d.source for d in self.store.documents()]
        if source in docs:
            return source
        absolute = os.path.abspath(source)
        named = [d for d in docs if d == absolute or Path(d).name == source]
        return named[0] if len(named) == 1 else ""

    def documents(self) -> list[DocumentInfo]:
        return self.store.documents()

    def document_text(self, source: str) -> str:
        return self.store.document_text(self.indexed_source(source) or source)

    def page_image(self, source: str, page: int, width: int = 900) -> bytes:
        """Page `page` (1-based) of an indexed PDF as a PNG `width` pixels wide (the UI shows cited pages).
        Only indexed documents are rendered; the file is read where it was indexed from."""
        from core.errors import BadDocument
        from index.readers.pdf import render_page

        indexed = self.indexed_source(source)
        if not indexed:
            raise BadDocument(f"{source} is not an indexed document")
        return render_page(indexed, page, width)

    @staticmethod
    def supported_types() -> list[str]:
        """The file suffixes that can be indexed ('.docx', '.html', ...)."""
        from index.readers import supported

        return supported()

    def refresh(self) -> None:
        """Load the committed snapshot now (after a write of this process, which holds the write lock)."""
        with self._loading:
            self._load()

    def _load(self) -> None:
        stamp = self._stamp()  # read first: a write during the load makes the next check reload
        self._corpus_stamp, self._checked, self._corpus = stamp, time.monotonic(), Corpus.load(self.store, self.lexicon)

    def _stamp(self) -> tuple[int, int, str]:
        return self.store.count(), self.store.document_count(), generation(self.settings.store)

    @property
    def corpus(self) -> Corpus:
        """The committed snapshot; re-read when another process changed the store (checked every 2 s).

        Questions never wait for a load in progress once a snapshot exists: they use the current one."""
        if self._corpus is None:
            with self._loading:
                if self._corpus is None:
                    self._load()
        elif time.monotonic() - self._checked > STALE_CHECK_SECONDS:
            self._reload_if_stale()
        return self._corpus

    def _reload_if_stale(self) -> None:
        """Reload when the store changed, unless a load or a write (in any process) is under way."""
        if not self._loading.acquire(blocking=False):
            return
        try:
            self._checked = time.monotonic()
            with no_writer(self.settings.store) as quiet:
                if quiet and not self._ingest_lock.locked() and self._stamp() != self._corpus_stamp:
                    self._load()
        finally:
            self._loading.release()

    # --- answering
    @property
    def llm(self):
        """The LLM client passed in (a `rag.llm_client.LLMClient`), or None (then the llm answer mode builds one
        from the settings when asked)."""
        return self._llm

    @property
    def llm_available(self) -> bool:
        return self._llm is not None or self.settings.llm.configured

    def available_modes(self) -> list[str]:
        """The registered answer modes this assistant can use now (a mode needing an LLM only with one)."""
        return [m for m in ANSWERERS if ready(m, self.llm_available, self.settings.answer)]

    def mode_for(self, requested: str | None = None) -> str:
        """The answer mode a question asked with `requested` (None: the configured one) is answered in."""
        return resolve(requested, self.settings.answer.mode, self.llm_available, self.settings.answer)

    def answerer(self, mode: str) -> Answerer:
        """The answer mode's instance, built once."""
        if mode not in self._answerers:
            tools = Tools(self.settings.answer, self.settings.llm, self.embedder.encode, self._llm,
                          self.embedder.token_vectors)
            self._answerers[mode] = ANSWERERS[mode](tools)
        return self._answerers[mode]

    def retriever(self, top_k=None, sources=None, since=None, until=None) -> HybridRetriever:
        """The retriever a question uses (also a llama-index retriever for pipelines of your own)."""
        r = self.settings.retrieval
        docs = [d.source for d in self.store.documents()] if sources else []
        resolved = tuple(self.indexed_source(x, docs) or x for x in (sources or ()))
        filters = Filters(resolved, str(since or ""), str(until or ""))
        k = top_k or r.top_k
        return HybridRetriever(self.store, self.corpus, self.embedder.encode_one, k, max(r.candidates, k * 2),
                               r.rrf_k, filters, self.reranker)

    def as_retriever(self, **filters):
        """This assistant's retriever for llama-index pipelines (a `BaseRetriever`; filters as `retriever`)."""
        return self.retriever(**filters).as_llama_index()

    def as_query_engine(self, **options):
        """A llama-index query engine answering through `ask` with these options; its responses carry the
        citations as source nodes (see `rag.query_engine`)."""
        from rag.query_engine import AssistantQueryEngine, check_options

        return AssistantQueryEngine(assistant=self, options=check_options(options))

    def ask(self, question: str, *, sources=None, since=None, until=None, top_k=None, mode=None,
            history: list[Message] | None = None) -> Answer:
        answer = None
        for event in self.stream(question, sources=sources, since=since, until=until, top_k=top_k,
                                 mode=mode, history=history):
            answer = event
        return answer

    def chat(self, message: str, history: list[Message], **options) -> Answer:
        return self.ask(message, history=history or [], **options)

    def stream(self, question: str, *, history: list[Message] | None = None, sources=None, since=None,
               until=None, top_k=None, mode=None) -> Iterator[Event]:
        """`Delta` events as the answer is produced, then the final `Answer`."""
        asked = clean_question(question)
        answerer = self.answerer(self.mode_for(mode))
        yield from answerer.stream(asked, history or [], self.retriever(top_k, sources, since, until))


__all__ = ["Assistant", "RagError"]
