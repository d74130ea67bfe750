"""Typed records that flow between the stages: index -> rag -> ui / eval.

They are plain dataclasses so every stage can build, compare and serialise
them without importing an outside library. `Assistant.stream` yields
`Delta` events and then the final `Answer` (together: `Event`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Union

from core import places

Message = dict  # one conversation turn: {"role": "user" | "assistant", "content": str}


def plain(value: Any) -> Any:
    """A record's dict as JSON gives it back: tuples (a citation's rectangles) become lists.

    >>> plain({"rects": ((3, 0.1, 0.2, 0.3, 0.4),), "n": [1]})
    {'rects': [[3, 0.1, 0.2, 0.3, 0.4]], 'n': [1]}
    """
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document: its identity, metadata and cleaned text length."""

    source: str            # absolute file path (the document's identity)
    content_hash: str      # sha256 of the raw file bytes
    title: str = ""
    date: str = ""         # ISO date (YYYY-MM-DD) when the text states one
    author: str = ""
    url: str = ""
    language: str = ""
    chars: int = 0
    chunks: int = 0
    duplicate_of: str = ""  # source of an earlier near-duplicate document, if any
    pages: int = 0          # pages of a paged document (PDF); 0 for flowing text
    ocr_pages: str = ""     # pages whose text was read by OCR, e.g. "1-3,5" ('' = none)

    @property
    def name(self) -> str:
        return self.source.rsplit("/", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: `text == doc_text[start:end]` of the cleaned text."""

    id: str
    source: str
    text: str
    start: int
    end: int
    doc_hash: str
    title: str = ""
    date: str = ""
    ordinal: int = 0
    layout: str = ""   # where the text lies: pages, line and word boxes, headings (see `core.places`)


@dataclass(frozen=True)
class ScoredChunk:
    chunk: Chunk
    score: float              # fused retrieval score (rank-based)
    similarity: float = 0.0   # cosine of the chunk with the question


@dataclass(frozen=True)
class Citation:
    """A quoted passage: `quote == cleaned_text(source)[start:end]`."""

    source: str
    title: str
    quote: str
    start: int
    end: int
    score: float
    date: str = ""
    chunk_id: str = ""
    page: int | None = None                 # 1-based page where the quote starts (paged documents)
    rects: tuple[places.Rect, ...] = ()     # (page, x0, y0, x1, y1) a line of the quote, fractions of the page
    heading: str = ""                       # the nearest heading before the quote (DOCX)

    @property
    def name(self) -> str:
        return self.source.rsplit("/", 1)[-1]

    def place(self, heading_chars: int = 60) -> str:
        """Where in its document the quote is: 'p. N' for a page, else '§ ' and its section heading (cut to
        `heading_chars`), else ''.

        >>> Citation("/d/a.pdf", "T", "q", 0, 1, 1.0, page=7).place(), Citation("/d/a.docx", "T", "q", 0, 1, 1.0,
        ...     heading="Results").place(), Citation("/d/a.txt", "T", "q", 0, 1, 1.0).place()
        ('p. 7', '§ Results', '')
        """
        return f"p. {self.page}" if self.page else f"§ {self.heading[:heading_chars]}" if self.heading else ""

    def to_dict(self) -> dict[str, Any]:
        return plain(asdict(self))

    @classmethod
    def of(cls, chunk: Chunk, start: int, end: int, score: float) -> "Citation":
        """The verbatim span [start, end) of a chunk's document (offsets into the cleaned text), with its page,
        rectangles and heading when the chunk records them.

        >>> Citation.of(Chunk("c", "/a.txt", "One. Two.", 10, 19, "h", "T"), 15, 19, 0.71234).quote
        'Two.'
        >>> Citation.of(Chunk("c", "/a.pdf", "One. Two.", 10, 19, "h", layout='{"p": [[3, 0]]}'), 15, 19, 1).page
        3
        """
        return cls(source=chunk.source, title=chunk.title, quote=chunk.text[start - chunk.start:end - chunk.start],
                   start=start, end=end, score=round(score, 4), date=chunk.date, chunk_id=chunk.id,
                   page=places.page_at(chunk.layout, start), rects=places.rects(chunk.layout, start, end),
                   heading=places.heading_at(chunk.layout, start))

    @classmethod
    def passage(cls, scored: ScoredChunk) -> "Citation":
        """A whole retrieved passage as a citation (the closest passages shown with an answer or a refusal)."""
        return cls.of(scored.chunk, scored.chunk.start, scored.chunk.end, scored.score)


@dataclass(frozen=True)
class ConflictValue:
    """One source's value in a disagreement, with the passage that states it."""

    value: str
    citation: Citation


@dataclass(frozen=True)
class Conflict:
    """Sources that answer the same question with different values of one kind (date, amount, count, name,
    phrase), newest source first where its date is known."""

    kind: str
    values: list[ConflictValue]

    def to_dict(self) -> dict[str, Any]:
        return plain(asdict(self))


@dataclass(frozen=True)
class Filters:
    """What a question may be answered from: some documents, a date range (ISO dates, inclusive).

    >>> Filters(since="2024-01-01").allows(Chunk("c", "/a", "x", 0, 1, "h", date="2023-05-25"))
    False
    """

    sources: tuple[str, ...] = ()
    since: str = ""
    until: str = ""

    def allows(self, chunk: Chunk) -> bool:
        return self.allows_document(chunk.source, chunk.date)

    def allows_document(self, source: str, date: str) -> bool:
        if self.sources and source not in self.sources:
            return False
        if (self.since or self.until) and not date:
            return False
        return (not self.since or date >= self.since) and (not self.until or date <= self.until)


@dataclass(frozen=True)
class Delta:
    """A piece of answer text as it is produced (streamed before the final `Answer`). A `provisional` piece
    (an LLM's reply, not yet validated) may be withdrawn: the final `Answer` replaces everything streamed, so
    show it as unconfirmed until then. A `restart` piece starts the text over: what was streamed before it
    (the offline answer shown while a model writes its own) is replaced by it and what follows."""

    text: str
    provisional: bool = False
    restart: bool = False


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    abstained: bool
    question: str
    standalone_question: str
    mode: str = "offline"           # "offline" or "llm"
    short_answer: str = ""
    notice: str = ""                # e.g. "LLM unavailable: offline answer shown"
    unsupported_sentences: list[str] = field(default_factory=list)
    passages: list[Citation] = field(default_factory=list)  # closest passages, also on refusal
    confidence: float | None = None  # the evidence probability that the documents answer (offline model)
    withheld: str = ""              # on a refusal: the answer the evidence was too weak for (for eval curves)
    conflicts: list[Conflict] = field(default_factory=list)  # where the sources disagree on the answer
    invalid_markers: int = 0         # an LLM reply's [n] markers that pointed at no passage (removed)
    kind: str = ""                   # the kind of question answered: fact, summary, reasons, list, ... (rag.answer.kinds)

    def to_dict(self) -> dict[str, Any]:
        return plain(asdict(self))


Event = Union[Delta, "Answer"]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    ocr_pages: int = 0                 # pages read by OCR (scans), over all documents
    ocr_seconds: float = 0.0
    unreadable_pages: list[tuple[str, str]] = field(default_factory=list)  # (source, "page 4: reason")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
