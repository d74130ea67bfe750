"""Pure rendering for the UI: records in, markdown/HTML strings out. No gradio here.

Everything that comes from a document (answer text, titles, quotes, file names)
is escaped, so a document containing ``<script>`` or a markdown link cannot run
or render live in the page. The only markup in the output is the markup written
here: citation links, source cards, tables.

Citation links point at ``#src-<turn>-<n>``: the source card of citation ``n``
of conversation turn ``turn``, so the links of an earlier answer still lead to
that answer's sources.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from core.records import Answer, Citation, Conflict, DocumentInfo, IngestReport
from rag.citations import groups
from ui.uploads import outcomes

CONTEXT_CHARS = 300
REFUSAL_PREFIX = "Not in the documents:"
CLOSEST_SHOWN = 3
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Punctuation with a markdown meaning (links, emphasis, code, headings, lists, tables, math, autolinks
# through ':' '@' '.'); backslash-escaped. Plain punctuation such as , ; ? stays readable.
_MD_PUNCTUATION = set("\\`*_{}[]()#+-.!|~$:@=^")


# --- chat markdown

def escape_markdown(text: str) -> str:
    """Text that markdown shows literally: no links, emphasis, headings, lists or HTML.

    >>> escape_markdown("*hi* [x](javascript:alert(1)) <b>")
    '\\\\*hi\\\\* \\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\) &lt;b&gt;'
    """
    out = []
    for char in text:
        if char in _MD_ENTITIES:
            out.append(_MD_ENTITIES[char])
        elif char in _MD_PUNCTUATION:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def card_id(turn: int, n: int) -> str:
    """The HTML id of source card `n` of turn `turn`.

    >>> card_id(2, 1)
    'src-2-1'
    """
    return f"src-{turn}-{n}"


def citation_link(turn: int, n: int) -> str:
    """A markdown link from an inline marker to its source card.

    >>> citation_link(1, 3)
    '[\\\\[3\\\\]](#src-1-3)'
    """
    return f"[\\[{n}\\]](#{card_id(turn, n)})"


def link_markers(text: str, turn: int, count: int | None = None) -> str:
    """Escape `text` and link each cited number of every marker group ("[1]", "[1, 2]", "[1][2]",
    the grammar of `rag.citations`) to its source card when 1 <= n <= count.

    `count=None` links every marker (used while an answer streams in, before its citations are known).

    >>> link_markers("It cost $5 [1]. See [7].", turn=1, count=1)
    'It cost \\\\$5 [\\\\[1\\\\]](#src-1-1)\\\\. See \\\\[7\\\\]\\\\.'
    >>> link_markers("Both [1, 2].", turn=3, count=2)
    'Both \\\\[[1](#src-3-1), [2](#src-3-2)\\\\]\\\\.'
    """
    pieces, last = [], 0
    for start, end, numbers in groups(text):
        linked = [1 <= n and (count is None or n <= count) for n in numbers]
        if not any(linked):
            continue
        pieces.append(escape_markdown(text[last:start]))
        pieces.append(citation_link(turn, numbers[0]) if len(numbers) == 1 else
                      "\\[" + ", ".join(f"[{n}](#{card_id(turn, n)})" if ok else str(n)
                                        for n, ok in zip(numbers, linked)) + "\\]")
        last = end
    pieces.append(escape_markdown(text[last:]))
    return "".join(pieces)


PROVISIONAL_LABEL = "checking…"


def streaming_markdown(text: str, turn: int, provisional: bool = False) -> str:
    """The chat markdown of an answer that is still streaming in. A provisional reply (an LLM's, not yet
    validated: it may be withdrawn) is shown greyed after a "checking…" label, its markers not linked and
    its text on one line.

    >>> streaming_markdown("Kharrazi [1] said", turn=2)
    'Kharrazi [\\\\[1\\\\]](#src-2-1) said'
    >>> print(streaming_markdown("Kharrazi [1]\\n\\nsaid", turn=2, provisional=True))
    <span class="provisional-label">checking…</span> <span class="provisional">Kharrazi \\[1\\] said</span>
    """
    if not provisional:
        return link_markers(text, turn)
    return (f'<span class="provisional-label">{PROVISIONAL_LABEL}</span> '
            f'<span class="provisional">{escape_markdown(" ".join(text.split()))}</span>')


def answer_markdown(answer: Answer, turn: int) -> str:
    """The chat markdown of a finished answer: linked markers, a source line, a visible refusal.

    >>> from core.records import Answer, Citation
    >>> c = Citation("/d/a.txt", "A title", "quote", 0, 5, 0.9)
    >>> print(answer_markdown(Answer("It was $200,000 [1].", [c], False, "q", "q"), turn=1))
    It was \\$200,000 [\\[1\\]](#src-1-1)\\.
    <BLANKLINE>
    **Sources:** [\\[1\\]](#src-1-1) a\\.txt
    >>> print(answer_markdown(Answer("The documents do not answer this question.", [], True, "q", "q"), turn=1))
    > ⛔ **Not in the documents:** The documents do not answer this question\\.
    """
    parts = []
    if answer.notice:
        parts.append(f"*ℹ️ {escape_markdown(answer.notice)}*")
    if answer.abstained:
        parts.append(f"> ⛔ **{REFUSAL_PREFIX}** {link_markers(answer.text, turn, 0)}")
    else:
        parts.append(link_markers(answer.text, turn, len(answer.citations)))
        if answer.citations:
            listed = " · ".join(f"{citation_link(turn, n)} {escape_markdown(c.name)}"
                                for n, c in enumerate(answer.citations, 1))
            parts.append(f"**Sources:** {listed}")
    return "\n\n".join(parts)


def error_markdown(message: str) -> str:
    """A short error shown in the chat instead of an answer.

    >>> error_markdown("the question is empty")
    '> ⚠️ **Error:** the question is empty'
    """
    return f"> ⚠️ **Error:** {escape_markdown(message)}"


def user_markdown(question: str) -> str:
    """The user's own message, shown literally.

    >>> user_markdown("what is *this*")
    'what is \\\\*this\\\\*'
    """
    return escape_markdown(question)


# --- sources panel

def _snap_left(text: str, start: int) -> int:
    """Move a cut point right to the next word start so a word is not shown half."""
    if start <= 0:
        return 0
    space = re.search(r"\s", text[start:start + 40])
    return start + space.end() if space else start


def _snap_right(text: str, end: int) -> int:
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", max(0, end - 40), end)
    return space if space > 0 else end


def passage_context(text: str, start: int, end: int, quote: str,
                    width: int = CONTEXT_CHARS) -> tuple[str, str, str]:
    """(text before, the quote, text after): up to `width` characters each side, cut at word boundaries.

    When the document text no longer holds the quote at [start:end] (changed or removed since the
    answer), the quote is shown alone.

    >>> passage_context("one two three four five", 8, 13, "three", width=6)
    ('two ', 'three', ' four')
    >>> passage_context("changed text", 0, 5, "quote")
    ('', 'quote', '')
    """
    if not (0 <= start <= end <= len(text)) or text[start:end] != quote:
        return "", quote, ""
    left = _snap_left(text, start - width) if start > width else 0
    right = _snap_right(text, end + width) if end + width < len(text) else len(text)
    return text[left:start], quote, text[end:right]


def _paragraphs(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def highlighted_passage(text: str, citation: Citation, width: int = CONTEXT_CHARS) -> str:
    """The quote in <mark> inside its surrounding text, all escaped.

    >>> from core.records import Citation
    >>> doc = "Before. It cost <b>$5</b>. After."
    >>> highlighted_passage(doc, Citation("/d/a.txt", "t", "It cost <b>$5</b>.", 8, 26, 1.0))
    '<p class="passage">Before. <mark>It cost &lt;b&gt;$5&lt;/b&gt;.</mark> After.</p>'
    """
    before, quote, after = passage_context(text, citation.start, citation.end, citation.quote, width)
    lead = "… " if before and citation.start - len(before) > 0 else ""
    tail = " …" if after and citation.end + len(after) < len(text) else ""
    return (f'<p class="passage">{lead}{_paragraphs(before)}<mark>{_paragraphs(quote)}</mark>'
            f"{_paragraphs(after)}{tail}</p>")


def source_card(citation: Citation, text: str, element_id: str, label: str) -> str:
    """One source card: number, title, date, file name and the highlighted passage.

    >>> from core.records import Citation
    >>> c = Citation("/d/<x>.txt", "<script>alert(1)</script>", "q", 0, 1, 0.5, date="2025-02-03")
    >>> card = source_card(c, "q", "src-1-1", "[1]")
    >>> "<script>" in card, "&lt;script&gt;" in card, "2025-02-03" in card, "&lt;x&gt;.txt" in card
    (False, True, True, True)
    """
    title = html.escape(citation.title or citation.name)
    meta = " · ".join(html.escape(part) for part in (citation.date, citation.name) if part)
    return (f'<article class="source-card" id="{element_id}">'
            f'<header><span class="source-number">{html.escape(label)}</span> '
            f'<span class="source-title">{title}</span></header>'
            f'<div class="source-meta">{meta}</div>'
            f"{highlighted_passage(text, citation)}</article>")


def sources_section(answer: Answer, texts: Mapping[str, str], turn: int) -> str:
    """The sources of one answer: its citation cards, or the closest passages of a refusal.

    `texts` maps each cited source to its cleaned document text.

    >>> from core.records import Answer
    >>> sources_section(Answer("No.", [], True, "Who?", "Who?"), {}, 1)
    '<section class="sources-turn refused" data-turn="1"><h4>Who?</h4><p class="no-sources">No passage answers this question.</p></section>'
    """
    heading = f"<h4>{html.escape(answer.question)}</h4>"
    if answer.abstained:
        closest = answer.passages[:CLOSEST_SHOWN]
        body = (f'<p class="closest-note">Closest passages (they do not answer the question):</p>'
                + "".join(source_card(c, texts.get(c.source, ""), f"near-{turn}-{n}", f"~{n}")
                          for n, c in enumerate(closest, 1))
                if closest else '<p class="no-sources">No passage answers this question.</p>')
        return f'<section class="sources-turn refused" data-turn="{turn}">{heading}{body}</section>'
    cards = "".join(source_card(c, texts.get(c.source, ""), card_id(turn, n), f"[{n}]")
                    for n, c in enumerate(answer.citations, 1))
    box = "".join(disagreement_box(c, answer.citations, turn) for c in answer.conflicts)
    return f'<section class="sources-turn" data-turn="{turn}">{heading}{box}{cards}</section>'


def disagreement_box(conflict: Conflict, citations: list[Citation], turn: int) -> str:
    """The "Sources disagree" box shown above the sources: each value with its source's title and date,
    linked to its card when the answer cites it.

    >>> from core.records import ConflictValue
    >>> a = Citation("/d/a.txt", "Cradle", "q", 0, 1, 0.9, date="2022-11-02")
    >>> b = Citation("/d/b.txt", "<Analysis>", "q", 0, 1, 0.9)
    >>> box = disagreement_box(Conflict("date", [ConflictValue("1 November", a), ConflictValue("2 Nov", b)]), [a, b], 1)
    >>> "Sources disagree" in box, "&lt;Analysis&gt;" in box, 'href="#src-1-2"' in box, "2022-11-02" in box
    (True, True, True, True)
    """
    rows = []
    for value in conflict.values:
        n = next((k for k, c in enumerate(citations, 1) if c == value.citation), None)
        marker = f' <a class="citation-link" href="#{card_id(turn, n)}">[{n}]</a>' if n else ""
        meta = " · ".join(html.escape(p) for p in (value.citation.date or "date unknown", value.citation.name))
        rows.append(f'<li><strong class="conflict-value">{html.escape(value.value)}</strong>{marker} — '
                    f'<span class="source-title">{html.escape(value.citation.title or value.citation.name)}'
                    f'</span> <span class="source-meta">({meta})</span></li>')
    return (f'<div class="conflict-box" role="note"><strong>Sources disagree</strong> on this '
            f'{html.escape(conflict.kind)}:<ul>{"".join(rows)}</ul></div>')


def cited_sources(answer: Answer) -> list[str]:
    """The document sources whose text the sources section needs.

    >>> from core.records import Answer, Citation
    >>> c = Citation("/d/a.txt", "", "q", 0, 1, 1.0)
    >>> cited_sources(Answer("x [1] [2]", [c, c], False, "q", "q"))
    ['/d/a.txt']
    """
    shown = answer.passages[:CLOSEST_SHOWN] if answer.abstained else answer.citations
    return list(dict.fromkeys(c.source for c in shown))


def sources_panel(sections: list[str]) -> str:
    """All turns' sources, newest first and open; earlier turns folded so their links still resolve.

    >>> sources_panel([])
    '<div class="sources-empty">Sources of the answers appear here.</div>'
    >>> sources_panel(["<section>1</section>", "<section>2</section>"]).count("<details")
    1
    """
    if not sections:
        return '<div class="sources-empty">Sources of the answers appear here.</div>'
    newest, earlier = sections[-1], sections[-2::-1]
    folded = "".join(f'<details class="earlier-turn"><summary>Earlier question</summary>{s}</details>'
                     for s in earlier)
    return f'<div class="sources-list">{newest}{folded}</div>'


# --- documents tab

DOCUMENT_COLUMNS = ("file", "title", "date", "author", "language", "chunks", "duplicate of")


def document_rows(documents: Iterable[DocumentInfo]) -> list[list[str]]:
    """Plain-text table rows of the indexed documents (see DOCUMENT_COLUMNS).

    >>> from core.records import DocumentInfo
    >>> document_rows([DocumentInfo("/d/b.txt", "h", "Title", "2025-01-02", chunks=3, duplicate_of="/d/a.txt")])
    [['b.txt', 'Title', '2025-01-02', '', '', '3', 'a.txt']]
    """
    return [[d.name, d.title, d.date, d.author, d.language, str(d.chunks),
             Path(d.duplicate_of).name if d.duplicate_of else ""] for d in documents]


def documents_table(documents: Iterable[DocumentInfo]) -> str:
    """The documents as an escaped HTML table.

    >>> from core.records import DocumentInfo
    >>> "&lt;i&gt;" in documents_table([DocumentInfo("/d/a.txt", "h", "<i>x</i>")])
    True
    >>> documents_table([])
    '<p class="no-documents">No documents are indexed yet. Upload some below.</p>'
    """
    rows = document_rows(documents)
    if not rows:
        return '<p class="no-documents">No documents are indexed yet. Upload some below.</p>'
    head = "".join(f"<th>{html.escape(c)}</th>" for c in DOCUMENT_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return (f'<p class="documents-count">{len(rows)} document{"s" if len(rows) != 1 else ""} indexed</p>'
            f'<table class="documents"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def document_choices(documents: Iterable[DocumentInfo]) -> list[tuple[str, str]]:
    """(label, source) pairs for dropdowns: the file name, with the title when there is one.

    >>> from core.records import DocumentInfo
    >>> document_choices([DocumentInfo("/d/a.txt", "h", "A title")])
    [('a.txt — A title', '/d/a.txt')]
    """
    return [(f"{d.name} — {d.title[:60]}" if d.title else d.name, d.source) for d in documents]


def ingest_summary(report: IngestReport | None, refused: list[tuple[str, str]],
                   names: Mapping[str, str] | None = None) -> str:
    """Per-file outcome of an upload as escaped HTML: indexed, unchanged or failed with the reason.

    `refused` holds files turned away before indexing; `names` maps stored paths to uploaded names.

    >>> from core.records import IngestReport
    >>> r = IngestReport(added=["/u/a.txt"], failed=[("/u/b.pdf", "empty <file>")])
    >>> html_out = ingest_summary(r, [("c.exe", "unsupported file type")])
    >>> "a.txt" in html_out, "empty &lt;file&gt;" in html_out, "c.exe" in html_out
    (True, True, True)
    """
    rows = [(o.name, o.status, o.reason) for o in outcomes(report, refused, dict(names or {}))]
    if not rows:
        return '<p class="ingest-empty">No file was received.</p>'
    ok = sum(status in {"indexed", "updated", "unchanged"} for _, status, _ in rows)
    items = "".join(f'<li class="ingest-{status}"><b>{html.escape(name)}</b>: {status}'
                    f'{": " + html.escape(reason) if reason else ""}</li>' for name, status, reason in rows)
    seconds = f" in {report.seconds:.1f} s" if report is not None else ""
    return (f'<div class="ingest-result"><p>{ok} of {len(rows)} file{"s" if len(rows) != 1 else ""} '
            f"indexed{seconds}.</p><ul>{items}</ul></div>")


def status_html(message: str, kind: str = "info") -> str:
    """A one-line status or error message, escaped.

    >>> status_html("<b>gone</b>", "error")
    '<p class="status status-error">&lt;b&gt;gone&lt;/b&gt;</p>'
    """
    return f'<p class="status status-{html.escape(kind)}">{html.escape(message)}</p>'
