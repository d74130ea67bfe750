"""Ingest: load -> clean -> chunk -> embed -> store, incremental and crash-safe.

Order of writes for each window of documents: their chunks, then their
document records (the commit), then the deletion of their stale chunks. Chunk ids include the file's
content hash, so a new version never overwrites a chunk the committed version
serves: a crash at any point leaves either the old committed version or the
new one, whole; the next ingest finds the uncommitted work and finishes it,
reusing stored vectors.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core.errors import BadDocument, UnsupportedFile
from core.records import Chunk, DocumentInfo, IngestReport
from core.settings import IngestSettings
from index.chunk import chunk_spans
from index.clean import clean
from index.dedupe import NearDuplicates, mean_vector
from index.embed import Embedder
from index.layout import Layout, first_page_head, page_ranges, relocate_headings
from index.load import RawDocument, load, walk
from index.readers import ReadOptions
from index.meta import extract
from index.store import Store

Progress = Callable[[int, int, str], None]
WINDOW_CHUNKS = 256  # chunks embedded together across documents


@dataclass
class Prepared:
    info: DocumentInfo
    text: str
    chunks: list[Chunk]
    keys: list[str]  # passage_key of each chunk
    vectors: list[list[float]] | None = None
    ocr_pages: int = 0                                   # pages read by OCR, the seconds it took, and the
    ocr_seconds: float = 0.0                             # pages it could not read ([page, reason]): kept for
    unreadable_pages: list = field(default_factory=list)  # the report, not the whole layout


def passage_key(source: str, text: str, occurrence: int) -> str:
    """The same passage of the same file gets the same key, in whichever version of the file.

    >>> passage_key("/a.txt", "Hello.", 0) == passage_key("/a.txt", "Hello.", 0)
    True
    >>> passage_key("/a.txt", "Hello.", 0) == passage_key("/b.txt", "Hello.", 0)
    False
    """
    return hashlib.sha256(f"{source}\x00{occurrence}\x00{text}".encode()).hexdigest()[:32]


def chunk_id(key: str, content_hash: str) -> str:
    """A chunk's id: a passage of one version of a file (editing a file never reuses a served id).

    >>> chunk_id("k", "hash-1") == chunk_id("k", "hash-1"), chunk_id("k", "hash-1") == chunk_id("k", "hash-2")
    (True, False)
    """
    return hashlib.sha256(f"{key}\x00{content_hash}".encode()).hexdigest()[:32]


def prepare(raw: RawDocument, settings: IngestSettings) -> Prepared:
    """Clean, describe and chunk one loaded document (pure apart from langdetect). A paged document's text
    was laid out by its reader (furniture dropped, its offsets are the layout's) and is not cleaned again."""
    text, layout = _cleaned(raw)
    if not text.strip():
        raise BadDocument("nothing left after removing page debris")
    paged = layout is not None and bool(layout.page_starts)
    meta = extract(first_page_head(text, layout) if paged else raw.text, text, raw.hints)
    keys, chunks = _chunks(raw, text, meta, settings, layout)
    info = DocumentInfo(source=raw.source, content_hash=raw.content_hash, chars=len(text), chunks=len(chunks),
                        pages=len(layout.page_starts) if layout else 0,
                        ocr_pages=page_ranges(layout.ocr_pages) if layout else "",
                        **{k: meta.get(k, "") for k in ("title", "date", "author", "url", "language")})
    if layout is None:
        return Prepared(info, text, chunks, keys)
    return Prepared(info, text, chunks, keys, ocr_pages=len(layout.ocr_pages), ocr_seconds=layout.ocr_seconds,
                    unreadable_pages=layout.unreadable_pages)


def _cleaned(raw: RawDocument) -> tuple[str, Layout | None]:
    if raw.layout is not None and raw.layout.page_starts:
        return raw.text, raw.layout
    text = clean(raw.text)
    if raw.layout is not None and raw.layout.headings:
        return text, Layout(headings=relocate_headings(raw.layout.headings, text))
    return text, None


def _chunks(raw: RawDocument, text: str, meta: dict, settings: IngestSettings,
            layout: Layout | None = None) -> tuple[list[str], list[Chunk]]:
    seen: dict[str, int] = {}
    keys, chunks = [], []
    for ordinal, (start, end) in enumerate(chunk_spans(text, settings.chunk_words, settings.chunk_overlap_sentences)):
        piece = text[start:end]
        seen[piece] = seen.get(piece, -1) + 1
        keys.append(passage_key(raw.source, piece, seen[piece]))
        chunks.append(Chunk(chunk_id(keys[-1], raw.content_hash), raw.source, piece, start, end,
                            raw.content_hash, meta["title"], meta["date"], ordinal,
                            layout.slice(start, end) if layout else ""))
    return keys, chunks


class Ingestor:
    def __init__(self, settings: IngestSettings, store: Store, embedder: Embedder, lexicon=None):
        self.settings, self.store, self.embedder, self.lexicon = settings, store, embedder, lexicon
        self.duplicates = NearDuplicates(store, settings.duplicate_threshold)

    def run(self, paths: list[str | Path], progress: Progress | None = None) -> IngestReport:
        began = time.perf_counter()
        report = IngestReport()
        roots = [Path(os.path.abspath(p)) for p in paths]
        files, refused = walk(roots)
        report.failed += refused
        committed = {d.source: d for d in self.store.documents()}
        todo = self._plan(files, committed, report, progress)
        self._index(todo, committed, report, progress)
        self._remove_missing(roots, files, committed, report)
        self._sweep(committed)
        report.seconds = time.perf_counter() - began
        return report

    def _plan(self, files: list[Path], committed: dict[str, DocumentInfo], report: IngestReport,
              progress: Progress | None) -> list[Prepared]:
        todo: list[Prepared] = []
        for number, path in enumerate(files, 1):
            _tell(progress, number, len(files), f"reading {path.name}")
            outcome = self._load_one(path, committed)
            if isinstance(outcome, str):
                report.failed.append((str(path), outcome))
            elif outcome is None:
                report.unchanged.append(str(path))
            else:
                todo.append(outcome)
                _count_ocr(outcome, report)
        return todo

    def _load_one(self, path: Path, committed: dict[str, DocumentInfo]) -> Prepared | str | None:
        try:
            raw = load(path, int(self.settings.max_file_mb * 1e6),
                       ReadOptions(self.settings.fallback_encoding, self.settings.ocr_dpi))
            old = committed.get(raw.source)
            if old and old.content_hash == raw.content_hash:
                return None
            return prepare(raw, self.settings)
        except (BadDocument, UnsupportedFile) as err:
            return str(err)
        except Exception as err:  # a reader bug must not stop the other files
            return f"could not read ({type(err).__name__}: {err})"

    def _index(self, todo: list[Prepared], committed: dict[str, DocumentInfo], report: IngestReport,
               progress: Progress | None) -> None:
        total = sum(len(p.chunks) for p in todo)
        done = 0
        for window in _windows(todo, WINDOW_CHUNKS):
            report.chunks_embedded += self._embed(window, committed)
            self._write(window, committed, report)
            done += sum(len(p.chunks) for p in window)
            _tell(progress, done, total, f"embedded {done}/{total} chunks")

    def _embed(self, window: list[Prepared], committed: dict[str, DocumentInfo]) -> int:
        """Vectors for every chunk of the window; stored vectors are reused, not recomputed (and the encoder
        encodes a text it met recently once: a folder of near-copies repeats most of its chunks)."""
        wanted = [c for p in window for c in p.chunks]
        known = self._stored_vectors(window, committed)
        missing = [c for c in wanted if c.id not in known]
        known.update(zip((c.id for c in missing), self.embedder.encode([c.text for c in missing])))
        for prepared in window:
            prepared.vectors = [known[c.id] for c in prepared.chunks]
        return len(missing)

    def _stored_vectors(self, window: list[Prepared], committed: dict[str, DocumentInfo]) -> dict[str, list[float]]:
        """Stored vectors by chunk id: of this version's chunks, or of the same passages in the committed version."""
        aliases: dict[str, str] = {}  # stored id -> chunk id
        for prepared in window:
            old = committed.get(prepared.info.source)
            for key, chunk in zip(prepared.keys, prepared.chunks):
                aliases[chunk.id] = chunk.id
                if old:
                    aliases.setdefault(chunk_id(key, old.content_hash), chunk.id)
        return {aliases[stored]: vector for stored, vector in self.store.embeddings_of(list(aliases)).items()}

    def _write(self, window: list[Prepared], committed: dict[str, DocumentInfo], report: IngestReport) -> None:
        """One window in three store calls: its chunks, then its document records (the commit), then the
        stale chunks of the documents it updated (a Chroma write costs ~30 ms whatever its size)."""
        self.store.upsert_chunks([c for p in window for c in p.chunks], [v for p in window for v in p.vectors])
        infos, vectors = self._describe(window, report)
        self.store.put_documents(infos, [p.text for p in window], vectors)
        if self.lexicon is not None:   # after the commit: a crash in between is healed by the next sync
            self.lexicon.put([(info.source, info.content_hash, p.chunks) for info, p in zip(infos, window)])
        updated = [i.source for i in infos if i.source in committed]
        keep = {c.id for p in window for c in p.chunks}
        self.store.delete_chunks([cid for cid, _, _ in self.store.chunk_keys(updated) if cid not in keep])
        for info in infos:
            (report.updated if info.source in committed else report.added).append(info.source)
            committed[info.source] = info

    def _describe(self, window: list[Prepared], report: IngestReport) -> tuple[list[DocumentInfo], list]:
        """Each document's record and direction, with the earlier document it rewrites (stored or in the window)."""
        vectors = [mean_vector(p.vectors) for p in window]
        duplicates = self.duplicates.find([(p.info.source, p.text, v) for p, v in zip(window, vectors)])
        infos = []
        for prepared, duplicate in zip(window, duplicates):
            if duplicate:
                report.duplicates.append((prepared.info.source, duplicate))
            infos.append(DocumentInfo(**{**prepared.info.to_dict(), "duplicate_of": duplicate}))
        return infos, vectors

    def _remove_missing(self, roots: list[Path], files: list[Path], committed: dict[str, DocumentInfo],
                        report: IngestReport) -> None:
        """Documents under an ingested folder whose file is gone are deleted, vectors included."""
        present = {str(f) for f in files}
        folders = [str(r) + os.sep for r in roots if r.is_dir()]
        for source in sorted(committed):
            if source not in present and any(source.startswith(f) for f in folders) \
                    and not os.path.lexists(source):
                remove_document(self.store, source, self.lexicon)
                report.removed.append(source)


    def _sweep(self, committed: dict[str, DocumentInfo]) -> None:
        """Delete chunks left by an interrupted ingest: of no committed document, or of an old version."""
        hashes = {source: info.content_hash for source, info in committed.items()}
        stale = [cid for cid, source, digest in self.store.chunk_keys() if hashes.get(source) != digest]
        self.store.delete_chunks(stale)


def remove_document(store: Store, source: str, lexicon=None) -> None:
    """Uncommit first, then delete the lexicon's postings and the vectors, so no reader sees half a document."""
    store.delete_document(source)
    if lexicon is not None:
        lexicon.drop([source])
    store.delete_chunks([cid for cid, _, _ in store.chunk_keys([source])])


def _count_ocr(prepared: Prepared, report: IngestReport) -> None:
    """The report's OCR figures: pages read, seconds, and the pages OCR could not read (named)."""
    report.ocr_pages += prepared.ocr_pages
    report.ocr_seconds += prepared.ocr_seconds
    report.unreadable_pages += [(prepared.info.source, f"page {page}: {why}") for page, why in prepared.unreadable_pages]


def _windows(todo: list[Prepared], size: int):
    window, count = [], 0
    for prepared in todo:
        window.append(prepared)
        count += len(prepared.chunks)
        if count >= size:
            yield window
            window, count = [], 0
    if window:
        yield window


def _tell(progress: Progress | None, done: int, total: int, note: str) -> None:
    if progress:
        progress(done, total, note)
