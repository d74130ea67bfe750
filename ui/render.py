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
EARLIER_TURNS_KEPT = 3     # earlier answers' sources kept (folded) under the current one
REFUSAL_ICON = "⊘"         # in DejaVu Sans and every common font (the ⛔ emoji needs an emoji font)
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


def source_link(turn: int, n: int, citation: Citation) -> str:
    """A marker link whose hover text is the cited file's name (its quotes escaped for the link title).

    >>> source_link(1, 2, Citation('/d/a "b".txt', "T", "q", 0, 1, 1.0))
    '[\\\\[2\\\\]](#src-1-2 "a \\'b\\'.txt")'
    """
    name = citation.name.replace('"', "'").replace("\\", "/")
    return f'[\\[{n}\\]](#{card_id(turn, n)} "{name}")'


def where(citation: Citation) -> str:
    """The place of a citation in its document, after a comma: ', p. 3', ', § Heading', or ''.

    >>> where(Citation("/d/a.pdf", "T", "q", 0, 1, 1.0, page=3)), where(Citation("/d/a.txt", "T", "q", 0, 1, 1.0))
    (', p. 3', '')
    """
    place = citation.place()
    return "" if not place else f", {place}" if citation.page else f", {escape_markdown(place)}"


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

    >>> streaming_markdown("The mayor [1] said", turn=2)
    'The mayor [\\\\[1\\\\]](#src-2-1) said'
    >>> print(streaming_markdown("The mayor [1]\\n\\nsaid", turn=2, provisional=True))
    <span class="provisional-label">checking…</span> <span class="provisional">The mayor \\[1\\] said</span>
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
    **Sources:** [\\[1\\]](#src-1-1 "a.txt") A title
    >>> print(answer_markdown(Answer("The documents do not answer this question.", [], True, "q", "q"), turn=1))
    > ⊘ **Not in the documents:** The documents do not answer this question\\.
    """
    parts = []
    if answer.notice:
        parts.append(f"*ℹ️ {escape_markdown(answer.notice)}*")
    if answer.abstained:
        parts.append(f"> {REFUSAL_ICON} **{REFUSAL_PREFIX}** {link_markers(answer.text, turn, 0)}")
    else:
        parts.append(link_markers(answer.text, turn, len(answer.citations)))
        if answer.citations:
            listed = " · ".join(f"{source_link(turn, n, c)} {escape_markdown(c.title or c.name)}{where(c)}"
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


def marked_passage(text: str, citations: list[Citation], width: int = CONTEXT_CHARS, highlight: bool = True) -> str:
    """Several quotes of one document in one passage, each marked (in <mark>, or in a plain
    <span class="near"> when `highlight` is off: closest passages that do not answer).

    >>> doc = "One two. Three four. Five six. Seven."
    >>> a, b = Citation("/d/a", "t", "Three four.", 9, 20, 1.0), Citation("/d/a", "t", "Five six.", 21, 30, 1.0)
    >>> marked_passage(doc, [b, a], width=6)
    '<p class="passage">… two. <mark>Three four.</mark> <mark>Five six.</mark> …</p>'
    >>> marked_passage(doc, [a], width=0, highlight=False)
    '<p class="passage">… <span class="near">Three four.</span> …</p>'
    """
    opening, closing = ("<mark>", "</mark>") if highlight else ('<span class="near">', "</span>")
    valid = sorted((c for c in citations if 0 <= c.start <= c.end <= len(text) and text[c.start:c.end] == c.quote),
                   key=lambda c: c.start)
    if not valid:   # the document changed since the answer: the quotes alone
        return f'<p class="passage">{" … ".join(opening + _paragraphs(c.quote) + closing for c in citations)}</p>'
    first, last = valid[0].start, max(c.end for c in valid)
    left = 0 if first <= width else _snap_left(text, first - width) if width else first
    right = len(text) if last + width >= len(text) else _snap_right(text, last + width) if width else last
    pieces, at = ["… " if left > 0 else ""], left
    for c in valid:
        start = max(c.start, at)
        pieces += [_paragraphs(text[at:start]), opening, _paragraphs(text[start:max(c.end, start)]), closing]
        at = max(at, c.end)
    pieces += [_paragraphs(text[at:right]), " …" if right < len(text) else ""]
    return f'<p class="passage">{"".join(pieces)}</p>'


def card_groups(citations: list[Citation], gap: int = CONTEXT_CHARS) -> list[list[int]]:
    """Indexes of citations shown in one card: of one document (and page), overlapping or close enough
    that their passages would repeat each other.

    >>> c = lambda s, e, src="/d/a": Citation(src, "t", "q", s, e, 1.0)
    >>> card_groups([c(0, 100), c(2000, 2100), c(90, 180), c(0, 100, "/d/b")])
    [[0, 2], [1], [3]]
    """
    groups: list[list[int]] = []
    for i, c in enumerate(citations):
        home = next((g for g in groups if any(_near(citations[j], c, gap) for j in g)), None)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return groups


def _near(a: Citation, b: Citation, gap: int) -> bool:
    return a.source == b.source and a.page == b.page and a.start < b.end + gap and b.start < a.end + gap


def page_view(citation: Citation, image: str, others: Iterable[Citation] = ()) -> str:
    """The cited page as an image (`image`: a data: URI) with the quotes' rectangles drawn over it.

    >>> c = Citation("/d/a.pdf", "t", "q", 0, 1, 1.0, page=3, rects=((3, 0.1, 0.2, 0.5, 0.25),))
    >>> view = page_view(c, "data:image/png;base64,AAAA")
    >>> 'left:10.00%;top:20.00%;width:40.00%;height:5.00%' in view, "Page 3" in view
    (True, True)
    """
    rects = [r for c in (citation, *others) for r in c.rects if r[0] == citation.page]
    boxes = "".join(f'<span class="page-highlight" style="left:{x0 * 100:.2f}%;top:{y0 * 100:.2f}%;'
                    f'width:{(x1 - x0) * 100:.2f}%;height:{(y1 - y0) * 100:.2f}%"></span>'
                    for _, x0, y0, x1, y1 in rects)
    alt = html.escape(f"page {citation.page} of {citation.name}")
    return (f'<details class="page-view" open><summary>Page {citation.page} of {html.escape(citation.name)}'
            f'</summary><div class="page-image"><img src="{html.escape(image)}" alt="{alt}">{boxes}</div></details>')


def whole_document(text: str, citations: list[Citation]) -> str:
    """The whole cleaned document, folded, opening scrolled to its first quote (the quotes shaded as in the
    passage above, but not as <mark> or .passage: the card's highlighted passage stays its one of each).

    >>> whole_document("A. B. C.", [Citation("/d/a.txt", "t", "B.", 3, 5, 1.0)]).count('class="in-document quote-anchor"')
    1
    """
    if not text:
        return ""
    body = (marked_passage(text, citations, width=len(text))
            .replace("<mark>", '<span class="in-document quote-anchor">', 1)
            .replace("<mark>", '<span class="in-document">').replace("</mark>", "</span>")
            .replace('<p class="passage">', '<p class="whole-text">', 1))
    return (f'<details class="whole-document"><summary>Open the whole document at the quote</summary>'
            f'<div class="document-text">{body}</div></details>')


def source_card(citation: Citation, text: str, element_id: str, label: str, image: str = "",
                others: list[Citation] = (), aliases: list[str] = (), highlight: bool = True) -> str:
    """One source card: number, title, date, page, file name, the highlighted passage (with the quotes of
    `others` from the same place), then the page image with the quote boxed (PDF) or the whole document.

    >>> from core.records import Citation
    >>> c = Citation("/d/<x>.txt", "<script>alert(1)</script>", "q", 0, 1, 0.5, date="2025-02-03")
    >>> card = source_card(c, "q", "src-1-1", "[1]")
    >>> "<script>" in card, "&lt;script&gt;" in card, "2025-02-03" in card, "&lt;x&gt;.txt" in card
    (False, True, True, True)
    """
    title = html.escape(citation.title or citation.name)
    page = f"p. {citation.page}" if citation.page else ""
    meta = " · ".join(html.escape(part) for part in (citation.date, page, citation.heading, citation.name) if part)
    anchors = "".join(f'<span class="card-alias" id="{html.escape(a)}"></span>' for a in aliases)
    shown = [citation, *others]
    place = (page_view(citation, image, others) if image and citation.page else
             whole_document(text, shown) if highlight else "")
    return (f'<article class="source-card" id="{element_id}">{anchors}'
            f'<header><span class="source-number">{html.escape(label)}</span> '
            f'<span class="source-title">{title}</span></header>'
            f'<div class="source-meta">{meta}</div>'
            f"{marked_passage(text, shown, highlight=highlight)}{place}</article>")


def sources_section(answer: Answer, texts: Mapping[str, str], turn: int,
                    images: Mapping[tuple[str, int], str] | None = None) -> str:
    """The sources of one answer: its citation cards (overlapping quotes of one document merged into one card),
    or the closest passages of a refusal, unhighlighted and labelled as not answering.

    `texts` maps each cited source to its cleaned document text; `images` maps (source, page) to the page's image.

    >>> from core.records import Answer
    >>> sources_section(Answer("No.", [], True, "Who?", "Who?"), {}, 1)
    '<section class="sources-turn refused" data-turn="1"><h4>Who?</h4><p class="no-sources">No passage answers this question.</p></section>'
    """
    heading = f"<h4>{html.escape(answer.question)}</h4>"
    images = images or {}
    if answer.abstained:
        closest = answer.passages[:CLOSEST_SHOWN]
        cards = [source_card(closest[g[0]], texts.get(closest[g[0]].source, ""), f"near-{turn}-{g[0] + 1}",
                             "closest", others=[closest[i] for i in g[1:]], highlight=False)
                 for g in card_groups(closest)]
        body = (f'<p class="closest-note">Closest passages — they do not answer the question:</p>{"".join(cards)}'
                if closest else '<p class="no-sources">No passage answers this question.</p>')
        return f'<section class="sources-turn refused" data-turn="{turn}">{heading}{body}</section>'
    cites = answer.citations
    cards = "".join(source_card(cites[g[0]], texts.get(cites[g[0]].source, ""), card_id(turn, g[0] + 1),
                                "".join(f"[{i + 1}]" for i in g), images.get((cites[g[0]].source, cites[g[0]].page), ""),
                                [cites[i] for i in g[1:]], [card_id(turn, i + 1) for i in g[1:]])
                    for g in card_groups(cites))
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


def cited_pages(answer: Answer) -> list[tuple[str, int]]:
    """(source, page) of each cited page, whose image a card shows.

    >>> c = Citation("/d/a.pdf", "", "q", 0, 1, 1.0, page=3)
    >>> cited_pages(Answer("x [1] [2]", [c, c, Citation("/d/b.txt", "", "q", 0, 1, 1.0)], False, "q", "q"))
    [('/d/a.pdf', 3)]
    """
    return list(dict.fromkeys((c.source, c.page) for c in ([] if answer.abstained else answer.citations) if c.page))


def sources_panel(sections: list[str]) -> str:
    """The current answer's sources, open, then at most EARLIER_TURNS_KEPT earlier answers' sources, folded
    (their links still resolve); older ones are dropped, so the column does not grow with every turn.

    >>> sources_panel([])
    '<div class="sources-empty">Sources of the answers appear here.</div>'
    >>> sources_panel(["<section>1</section>", "<section>2</section>"]).count("<details")
    1
    >>> sources_panel([f"<section>{n}</section>" for n in range(9)]).count("<details")
    3
    """
    if not sections:
        return '<div class="sources-empty">Sources of the answers appear here.</div>'
    newest, earlier = sections[-1], sections[-2::-1][:EARLIER_TURNS_KEPT]
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
    classes = [c.replace(" ", "-") for c in DOCUMENT_COLUMNS]       # td.date does not wrap ("2025-/02-03")
    body = "".join("<tr>" + "".join(f'<td class="{k}">{html.escape(cell)}</td>' for k, cell in zip(classes, row))
                   + "</tr>" for row in rows)
    return (f'<p class="documents-count">{len(rows)} document{"s" if len(rows) != 1 else ""} indexed</p>'
            f'<table class="documents"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def index_summary(documents: Iterable[DocumentInfo]) -> str:
    """What the Chat tab says is indexed.

    >>> index_summary([DocumentInfo("/d/a.pdf", "h", chunks=12, pages=4), DocumentInfo("/d/b.txt", "h", chunks=1)])
    '<p class="index-summary">2 documents, 13 passages indexed.</p>'
    >>> index_summary([])
    '<p class="index-summary">No documents are indexed yet: add some in the Documents tab.</p>'
    """
    documents = list(documents)
    if not documents:
        return '<p class="index-summary">No documents are indexed yet: add some in the Documents tab.</p>'
    passages = sum(d.chunks for d in documents)
    return (f'<p class="index-summary">{len(documents)} document{"s" if len(documents) != 1 else ""}, '
            f'{passages} passage{"s" if passages != 1 else ""} indexed.</p>')


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
    items += "".join(f'<li class="ingest-unreadable"><b>{html.escape(Path(source).name)}</b>: {html.escape(why)}</li>'
                     for source, why in (report.unreadable_pages if report is not None else []))
    seconds = f" in {report.seconds:.1f} s" if report is not None else ""
    if report is not None and report.ocr_pages:
        seconds += f" ({report.ocr_pages} scanned page{'s' if report.ocr_pages != 1 else ''} read by OCR in " \
                   f"{report.ocr_seconds:.1f} s)"
    return (f'<div class="ingest-result"><p>{ok} of {len(rows)} file{"s" if len(rows) != 1 else ""} '
            f"indexed{seconds}.</p><ul>{items}</ul></div>")


def status_html(message: str, kind: str = "info") -> str:
    """A one-line status or error message, escaped.

    >>> status_html("<b>gone</b>", "error")
    '<p class="status status-error">&lt;b&gt;gone&lt;/b&gt;</p>'
    """
    return f'<p class="status status-{html.escape(kind)}">{html.escape(message)}</p>'
