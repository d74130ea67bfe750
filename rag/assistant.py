"""The public API: `Assistant` ingests folders and answers questions with citations.

The CLI, the UI and the eval harness all call this class; there is no second
code path.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
import time
from pathlib import Path
from typing import Iterator

from index.embed import Embedder
from index.pipeline import Ingestor, Progress, remove_document
from index.store import Store
from rag import extractive
from rag.conversation import Message, standalone
from rag.errors import BadQuestion, RagError, StoreError
from rag.records import Answer, DocumentInfo, IngestReport
from rag.retrieve import Corpus, Filters, HybridRetriever
from rag.settings import Settings

MAX_QUESTION_CHARS = 2000
STALE_CHECK_SECONDS = 2.0


def clean_question(question: str) -> str:
    """The question without control characters, squeezed, capped; BadQuestion if nothing is left.

    >>> clean_question("  When\\x00 did it\\nhappen? ")
    'When did it happen?'
    >>> clean_question("Who \\udce9 is it?")       # invalid UTF-8 in a command-line argument
    'Who is it?'
    """
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]+", " ", question or "")  # controls, lone surrogates
    text = " ".join(text.split())[:MAX_QUESTION_CHARS]
    if not re.search(r"\w", text):
        raise BadQuestion("the question is empty: type a question with at least one word")
    return text


LOCK_FILE = ".write.lock"
GENERATION_FILE = ".generation"


def _lock_file(index_dir: Path):
    """The index's lock file, open (shared by writers and readers), or a StoreError naming the folder."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        return open(index_dir / LOCK_FILE, "a")
    except OSError as err:
        raise StoreError(f"cannot write to the index folder {index_dir}: {err.strerror}") from None


@contextlib.contextmanager
def index_lock(settings: Settings):
    """One writer at a time on an embedded index, across processes (a server store is shared: no lock).
    Each writer changes the index's generation first: readers compare it, once no writer is at work."""
    if settings.chroma_host:
        yield
        return
    with _lock_file(settings.index_dir) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            (settings.index_dir / GENERATION_FILE).write_text(os.urandom(8).hex())
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _open_lock(settings: Settings):
    """The lock file of an embedded index, open; None for a server store or an index that cannot be written."""
    if settings.chroma_host:
        return None
    try:
        return _lock_file(settings.index_dir)
    except StoreError:
        return None


@contextlib.contextmanager
def no_writer(settings: Settings):
    """True while no writer is at work on the index, keeping writers out meanwhile (a shared lock);
    False at once, without waiting, when one is."""
    handle = _open_lock(settings)
    if handle is None:
        yield True
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def generation(settings: Settings) -> str:
    """The embedded index's write generation ("" for a server store or an index never written)."""
    try:
        return "" if settings.chroma_host else (settings.index_dir / GENERATION_FILE).read_text()
    except OSError:
        return ""


class Assistant:
    def __init__(self, index_dir: str | Path | None = None, *, settings: Settings | None = None,
                 store: Store | None = None, embedder: Embedder | None = None, llm=None, **overrides):
        if index_dir is not None:
            overrides["index_dir"] = Path(index_dir)
        self.settings = settings.model_copy(update=overrides) if settings else Settings(**overrides)
        self.store = store or Store(self.settings)
        s = self.settings
        self.embedder = embedder or Embedder(int8=s.embed_int8, threads=s.threads, batch_size=s.embed_batch)
        self._llm = llm
        self._corpus: Corpus | None = None
        self._corpus_stamp, self._checked = None, 0.0
        self._loading = threading.Lock()      # one snapshot load at a time; questions use the current one
        self._ingest_lock = threading.Lock()

    # --- the index
    def ingest(self, paths, progress: Progress | None = None) -> IngestReport:
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        with self._ingest_lock, index_lock(self.settings):
            report = Ingestor(self.settings, self.store, self.embedder).run(paths, progress)
            self.refresh()
        return report

    def remove(self, source: str) -> bool:
        """Remove a document by path or file name; its passages stop appearing at once."""
        match = self._resolve(source)
        if not match:
            return False
        with self._ingest_lock, index_lock(self.settings):
            remove_document(self.store, match)
            self.refresh()
        return True

    def _resolve(self, source: str) -> str:
        docs = [d.source for d in self.store.documents()]
        if source in docs:
            return source
        absolute = os.path.abspath(source)
        named = [d for d in docs if d == absolute or Path(d).name == source]
        return named[0] if len(named) == 1 else ""

    def documents(self) -> list[DocumentInfo]:
        return self.store.documents()

    def document_text(self, source: str) -> str:
        return self.store.document_text(self._resolve(source) or source)

    def refresh(self) -> None:
        """Load the committed snapshot now (after a write of this process, which holds the write lock)."""
        with self._loading:
            self._load()

    def _load(self) -> None:
        stamp = self._stamp()  # read first: a write during the load makes the next check reload
        self._corpus_stamp, self._checked, self._corpus = stamp, time.monotonic(), Corpus.load(self.store)

    def _stamp(self) -> tuple[int, int, str]:
        return self.store.count(), self.store.docs.count(), generation(self.settings)

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
            with no_writer(self.settings) as quiet:
                if quiet and not self._ingest_lock.locked() and self._stamp() != self._corpus_stamp:
                    self._load()
        finally:
            self._loading.release()

    # --- answering
    @property
    def llm(self):
        """The LLM passed in, or None (then rag.llm builds one from the settings when asked)."""
        return self._llm

    @property
    def llm_available(self) -> bool:
        return self._llm is not None or self.settings.llm_configured

    def retriever(self, top_k=None, sources=None, since=None, until=None) -> HybridRetriever:
        s = self.settings
        resolved = tuple(self._resolve(x) or x for x in (sources or ()))
        filters = Filters(resolved, str(since or ""), str(until or ""))
        return HybridRetriever(self.store, self.corpus, self.embedder.encode_one, top_k or s.top_k,
                               max(s.candidates, (top_k or s.top_k) * 2), s.rrf_k, filters)

    def ask(self, question: str, *, sources=None, since=None, until=None, top_k=None, mode=None,
            history: list[Message] | None = None) -> Answer:
        answer = None
        for piece in self.stream(question, sources=sources, since=since, until=until, top_k=top_k,
                                 mode=mode, history=history):
            answer = piece
        return answer

    def chat(self, message: str, history: list[Message], **options) -> Answer:
        return self.ask(message, history=history or [], **options)

    def stream(self, question: str, *, history: list[Message] | None = None, sources=None, since=None,
               until=None, top_k=None, mode=None) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the full Answer."""
        asked = clean_question(question)
        use_llm = (mode == "llm" or (mode in (None, "auto") and self.settings.use_llm)) and self.llm_available
        retriever = self.retriever(top_k, sources, since, until)
        if use_llm:
            yield from self._llm_stream(asked, history or [], retriever)
            return
        answer = self._offline(asked, standalone(asked, history or []), retriever)
        yield from _words(answer.text)
        yield answer

    def _offline(self, question: str, query: str, retriever: HybridRetriever) -> Answer:
        vector = self.embedder.encode_one(query)
        ranked = retriever.search(query, vector)
        corpus, s = retriever.corpus, self.settings
        return extractive.answer(question, query, ranked, corpus.idf, corpus.max_idf, s.abstain_threshold,
                                 s.max_answer_words, vector, self.embedder.encode, s.sentence_rerank)

    def _llm_stream(self, question: str, history: list[Message], retriever: HybridRetriever):
        from rag.llm import LLMAnswerer

        answerer = LLMAnswerer(self.settings, self._llm)
        yield from answerer.stream(question, history, retriever, self._offline)


def _words(text: str) -> Iterator[str]:
    for match in re.finditer(r"\S+\s*", text):
        yield match.group()


__all__ = ["Assistant", "RagError"]
