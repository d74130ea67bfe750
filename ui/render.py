"""Pure rendering for the UI: records in, markdown/HTML strings out. No gradio here.

Everything that comes from a document (answer text, titles, quotes, file names)
is escaped, so a document containing ``<script>`` or a markdown link cannot run
or render live in the page. The chat's markdown is built here and escaped with
`escape_markdown`; every piece of HTML comes from the jinja2 templates in
``ui/templates`` (autoescaped): this module only decides what they show.

Citation links point at ``#src-<turn>-<n>``: the source card of citation ``n``
of conversation turn ``turn``, so the links of an earlier answer still lead to
that answer's sources.
"""
from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape

from core.records import Answer, Citation, Conflict, DocumentInfo, IngestReport
from rag.citations import groups
from text.sentences import split_sentences
from text.terms import WORD_RE, terms
from ui.uploads import outcomes

CONTEXT_CHARS = 300
REFUSAL_PREFIX = "Not in the documents:"
CLOSEST_SHOWN = 3
EXCERPT_CHARS = 320        # a closest passage is cut to about this many characters
EXCERPT_MIN_CHARS = 140    # ... and widened to the next sentences while shorter than this
TITLE_CHARS = 70           # a title on the Sources line is shortened to this, at a word boundary
QUESTION_CHARS = 80        # an earlier question, on its folded section's summary line
EARLIER_TURNS_KEPT = 3     # earlier answers' sources kept (folded) under the current one
REFUSAL_ICON = "⊘"         # in DejaVu Sans and every common font (the ⛔ emoji needs an emoji font)
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Punctuation with a markdown meaning (links, emphasis, code, headings, lists, tables, math, autolinks
# through ':' '@' '.'); backslash-escaped. Plain punctuation such as , ; ? stays readable.
_MD_PUNCTUATION = set("\\`*_{}[]()#+-.!|~$:@=^")


def _lines(text: str) -> Markup:
    """Escaped text with its line breaks as <br> (a template filter)."""
    return Markup("<br>").join(escape(text).split("\n"))


def _markdown(text: str) -> Markup:
    """Text escaped for the chat's markdown (`escape_markdown`), which escapes HTML too (a template filter)."""
    return Markup(escape_markdown(text))


TEMPLATES = Environment(loader=PackageLoader("ui", "templates"), autoescape=True, trim_blocks=True,
                        lstrip_blocks=True)
TEMPLATES.filters.update(lines=_lines, markdown=_markdown)


def _html(template: str, macro: str, *args, **kwargs) -> str:
    """The HTML of macro `macro` of `template` (ui/templates), surrounding whitespace trimmed."""
    return str(getattr(TEMPLATES.get_template(template).module, macro)(*args, **kwargs)).strip()


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters, "…" marking the cut.

    >>> shorten("Kestrel warns Harbour over its growing ties, with Ridge", 40)
    'Kestrel warns Harbour over its growing…'
    >>> shorten("A short  title", 40), shorten("Unbreakable" * 5, 12)
    ('A short title', 'Unbreakable…')
    """
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = textwrap.shorten(flat, limit, placeholder="…")
    if cut == "…":   # the first word alone is longer than the limit
        return flat[:limit - 1] + "…"
    return cut[:-1].rstrip(",;:–—-") + "…"


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
    return _html("chat.html", "provisional", PROVISIONAL_LABEL, " ".join(text.split()))


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
        parts.append(answer_body(answer.text, turn, len(answer.citations)))
        if answer.citations:
            parts.append(sources_line(answer.citations, turn))
    return "\n\n".join(parts)


BULLET_RE = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def answer_body(text: str, turn: int, count: int) -> str:
    """The answer's text as markdown, markers linked: a line the answer writes as a list item ('- ', '* ',
    '• ', '1. ') becomes an item of a markdown list, every other line a line of its own; all of it escaped,
    so nothing the documents say turns into markdown.

    >>> print(answer_body("Two points:\\n- Ann left. [1]\\n2) Bob *stayed* [2]\\nThat is all.", turn=1, count=2))
    Two points\\:
    <BLANKLINE>
    - Ann left\\. [\\[1\\]](#src-1-1)
    - Bob \\*stayed\\* [\\[2\\]](#src-1-2)
    <BLANKLINE>
    That is all\\.
    """
    lines = [(BULLET_RE.match(line), line) for line in text.split("\n")]
    out: list[str] = []
    for n, (item, line) in enumerate(lines):
        if item:
            out += [""] if out and not out[-1].startswith("- ") else []
            out.append(f"- {link_markers(line[item.end():], turn, count)}")
            continue
        follows = n + 1 < len(lines) and not lines[n + 1][0] and line.strip()
        out += [""] if out and out[-1].startswith("- ") else []     # text after a list is not its last item
        out.append(link_markers(line, turn, count) + ("  " if follows else ""))   # a line break in markdown
    return "\n".join(out).rstrip()


def sources_line(citations: list[Citation], turn: int) -> str:
    """The line under an answer: each document once, after the markers of all its citations (their hover
    text: the file name), its title shortened (hover: the whole title), then the places cited in it.

    >>> a, b = Citation("/d/a.txt", "Alpha", "q", 0, 1, 1.0), Citation("/d/b.pdf", "Beta", "q", 0, 1, 1.0, page=2)
    >>> print(sources_line([a, b, a], turn=1))
    **Sources:** [\\[1\\]](#src-1-1 "a.txt") [\\[3\\]](#src-1-3 "a.txt") Alpha · [\\[2\\]](#src-1-2 "b.pdf") Beta, p. 2
    """
    numbers: dict[str, list[int]] = {}
    for n, citation in enumerate(citations, 1):
        numbers.setdefault(citation.title or citation.name, []).append(n)
    entries = []
    for label, cited in numbers.items():
        markers = " ".join(source_link(turn, n, citations[n - 1]) for n in cited)
        places = "".join(dict.fromkeys(where(citations[n - 1]) for n in cited))
        entries.append(f"{markers} {short_title(label)}{places}")
    return "**Sources:** " + " · ".join(entries)


def short_title(title: str, limit: int = TITLE_CHARS) -> str:
    """A title for the chat's markdown, shortened at a word boundary; when cut, the whole title shows on hover.

    >>> short_title("Kestrel *Valley*")
    'Kestrel \\\\*Valley\\\\*'
    >>> short_title('Kestrel warns "Harbour" over its ties <b>abroad</b>', limit=25)
    '<span class="source-name" title="Kestrel warns &#34;Harbour&#34; over its ties &lt;b&gt;abroad&lt;/b&gt;">Kestrel warns "Harbour"…</span>'
    """
    whole, shown = " ".join(title.split()), shorten(title, limit)
    if shown == whole:
        return escape_markdown(shown)
    return _html("chat.html", "source_name", whole, shown)


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

Part = tuple[str, str]     # (kind, text): kind "text", "quote" (a cited quote), "term" (a word of the question)


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


def _held(text: str, citations: Iterable[Citation]) -> list[Citation]:
    """The citations whose quote `text` still holds at their offsets, in document order."""
    return sorted((c for c in citations if 0 <= c.start <= c.end <= len(text) and text[c.start:c.end] == c.quote),
                  key=lambda c: c.start)


def passage_parts(text: str, citations: list[Citation], width: int = CONTEXT_CHARS) -> list[Part]:
    """Several quotes of one document in one passage: up to `width` characters around them, cut at word
    boundaries, "…" where it is cut; the quotes alone when the document changed since the answer.

    >>> doc = "One two. Three four. Five six. Seven."
    >>> a, b = Citation("/d/a", "t", "Three four.", 9, 20, 1.0), Citation("/d/a", "t", "Five six.", 21, 30, 1.0)
    >>> passage_parts(doc, [b, a], width=6)
    [('text', '… two. '), ('quote', 'Three four.'), ('text', ' '), ('quote', 'Five six.'), ('text', ' …')]
    >>> passage_parts("changed", [a, b])
    [('quote', 'Three four.'), ('text', ' … '), ('quote', 'Five six.')]
    """
    held = _held(text, citations)
    if not held:
        return [part for i, c in enumerate(citations) for part in ([("text", " … ")] if i else []) + [("quote", c.quote)]]
    first, last = held[0].start, max(c.end for c in held)
    left = 0 if first <= width else _snap_left(text, first - width) if width else first
    right = len(text) if last + width >= len(text) else _snap_right(text, last + width) if width else last
    parts, at = [("text", "… " if left > 0 else "")], left
    for c in held:
        start = max(c.start, at)
        parts += [("text", text[at:start]), ("quote", text[start:max(c.end, start)])]
        at = max(at, c.end)
    parts.append(("text", text[at:right] + (" …" if right < len(text) else "")))
    return _joined(parts)


def marked_passage(text: str, citations: list[Citation], width: int = CONTEXT_CHARS) -> str:
    """Several quotes of one document in one passage, each in <mark> (see `passage_parts`).

    >>> doc = "One two. Three four. Five six. Seven."
    >>> a, b = Citation("/d/a", "t", "Three four.", 9, 20, 1.0), Citation("/d/a", "t", "Five six.", 21, 30, 1.0)
    >>> marked_passage(doc, [b, a], width=6)
    '<p class="passage">… two. <mark>Three four.</mark> <mark>Five six.</mark> …</p>'
    """
    return _html("sources.html", "passage", passage_parts(text, citations, width))


def excerpt_span(text: str, question: str, limit: int = EXCERPT_CHARS) -> tuple[int, int]:
    """(start, end) of the sentence of `text` holding most of the question's terms (the first sentence when
    none does), widened to its neighbours while shorter than EXCERPT_MIN_CHARS; cut to `limit` characters at
    word boundaries around its first term when longer.

    >>> doc = "Intro here. The dam is 40 metres high. It was built in 1962. Tourists visit it."
    >>> start, end = excerpt_span(doc, "How high is the dam?", limit=50)
    >>> doc[start:end]
    'The dam is 40 metres high. It was built in 1962.'
    """
    wanted = set(terms(question))
    sentences = split_sentences(text) or [(0, len(text))]
    hits = [len(wanted & set(terms(text[s:e]))) for s, e in sentences]
    low = high = hits.index(max(hits))
    while sentences[high][1] - sentences[low][0] < EXCERPT_MIN_CHARS:
        wider = [(a, b) for a, b in ((low, high + 1), (low - 1, high)) if 0 <= a and b < len(sentences)
                 and sentences[b][1] - sentences[a][0] <= limit]
        if not wider:
            break
        low, high = wider[0]
    return _cut(text, sentences[low][0], sentences[high][1], wanted, limit)


def _cut(text: str, start: int, end: int, wanted: set[str], limit: int) -> tuple[int, int]:
    """[start, end) cut to at most `limit` characters at word boundaries, keeping the first wanted term."""
    if end - start <= limit:
        return start, end
    first = next((m.start() for m in WORD_RE.finditer(text, start, end) if wanted & set(terms(m.group()))), start)
    left = max(start, min(first - limit // 3, end - limit))
    left = _snap_left(text, left) if left > start else start
    return left, _snap_right(text, min(end, left + limit))


def excerpt_parts(text: str, question: str, limit: int = EXCERPT_CHARS) -> list[Part]:
    """The readable excerpt of `text` nearest the question (`excerpt_span`), the question's words marked
    as terms, "…" where the text goes on.

    >>> excerpt_parts("Intro here. The dam is 40 metres high. More.", "How high is the dam?", limit=30)
    [('text', '… The '), ('term', 'dam'), ('text', ' is 40 metres '), ('term', 'high'), ('text', '. …')]
    """
    wanted = set(terms(question))
    start, end = excerpt_span(text, question, limit)
    parts, at = [("text", "… " if start > 0 else "")], start
    for word in WORD_RE.finditer(text, start, end):
        if wanted & set(terms(word.group())):
            parts += [("text", text[at:word.start()]), ("term", word.group())]
            at = word.end()
    parts.append(("text", text[at:end] + (" …" if end < len(text) else "")))
    return _joined(parts)


def _joined(parts: list[Part]) -> list[Part]:
    """The parts without empty ones, neighbouring plain text joined.

    >>> _joined([("text", "… "), ("text", "a "), ("quote", ""), ("term", "b")])
    [('text', '… a '), ('term', 'b')]
    """
    joined: list[Part] = []
    for kind, text in parts:
        if joined and kind == "text" == joined[-1][0]:
            joined[-1] = ("text", joined[-1][1] + text)
        elif text:
            joined.append((kind, text))
    return joined


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
    boxes = [f"left:{x0 * 100:.2f}%;top:{y0 * 100:.2f}%;width:{(x1 - x0) * 100:.2f}%;height:{(y1 - y0) * 100:.2f}%"
             for c in (citation, *others) for page, x0, y0, x1, y1 in c.rects if page == citation.page]
    return _html("sources.html", "page_view", citation, image, boxes)


def whole_document(text: str, citations: list[Citation]) -> str:
    """The whole cleaned document, folded, opening scrolled to its first quote (the quotes shaded as in the
    passage above, but not as <mark> or .passage: the card's highlighted passage stays its one of each).

    >>> whole_document("A. B. C.", [Citation("/d/a.txt", "t", "B.", 3, 5, 1.0)]).count('class="in-document quote-anchor"')
    1
    """
    if not text:
        return ""
    return _html("sources.html", "whole_document", passage_parts(text, citations, width=len(text)))


def source_card(citation: Citation, text: str, element_id: str, label: str, image: str = "",
                others: list[Citation] = (), aliases: list[str] = ()) -> str:
    """One source card: number, title, date, page, file name, the highlighted passage (with the quotes of
    `others` from the same place), then the page image with the quote boxed (PDF) or the whole document.

    >>> from core.records import Citation
    >>> c = Citation("/d/<x>.txt", "<script>alert(1)</script>", "q", 0, 1, 0.5, date="2025-02-03")
    >>> card = source_card(c, "q", "src-1-1", "[1]")
    >>> "<script>" in card, "&lt;script&gt;" in card, "2025-02-03" in card, "&lt;x&gt;.txt" in card
    (False, True, True, True)
    """
    shown = [citation, *others]
    place = page_view(citation, image, others) if image and citation.page else whole_document(text, shown)
    return _html("sources.html", "source_card", citation, element_id, label, _card_meta(citation),
                 passage_parts(text, shown), Markup(place), aliases)


def _card_meta(citation: Citation) -> list[str]:
    """What a card says under its title: date, page, section heading, file name (the ones known)."""
    page = f"p. {citation.page}" if citation.page else ""
    return [part for part in (citation.date, page, citation.heading, citation.name) if part]


def closest_card(near: list[Citation], text: str, question: str, element_id: str) -> str:
    """A card of a refusal: a passage near the question that does not answer it: title, date, file name and
    a readable excerpt, the question's words marked (`excerpt_parts`); no number, nothing highlighted as a quote.

    >>> c = Citation("/d/a.txt", "A survey", "The dam is 40 metres high.", 0, 26, 0.2)
    >>> card = closest_card([c], c.quote, "How old is the dam?", "near-1-1")
    >>> '<strong class="term">dam</strong>' in card, "<mark" in card, "source-number" in card
    (True, False, False)
    """
    held = _held(text, near)
    body = text[held[0].start:max(c.end for c in held)] if held else " … ".join(c.quote for c in near)
    return _html("sources.html", "closest_card", near[0], element_id, _card_meta(near[0]),
                 excerpt_parts(body, question))


def sources_section(answer: Answer, texts: Mapping[str, str], turn: int,
                    images: Mapping[tuple[str, int], str] | None = None) -> str:
    """The sources of one answer: its citation cards (overlapping quotes of one document merged into one card),
    or the closest passages of a refusal under a heading saying they do not answer.

    `texts` maps each cited source to its cleaned document text; `images` maps (source, page) to the page's image.

    >>> from core.records import Answer
    >>> print(sources_section(Answer("No.", [], True, "Who?", "Who?"), {}, 1))
    <section class="sources-turn refused" data-turn="1"><h4>Who?</h4><p class="no-sources">No passage answers this question.</p></section>
    """
    if answer.abstained:
        closest = answer.passages[:CLOSEST_SHOWN]
        cards = [closest_card([closest[i] for i in g], texts.get(closest[g[0]].source, ""), answer.question,
                              f"near-{turn}-{g[0] + 1}") for g in card_groups(closest)]
        return _html("sources.html", "refused_section", answer.question, turn, [Markup(c) for c in cards])
    cites, images = answer.citations, images or {}
    cards = [source_card(cites[g[0]], texts.get(cites[g[0]].source, ""), card_id(turn, g[0] + 1),
                         "".join(f"[{i + 1}]" for i in g), images.get((cites[g[0]].source, cites[g[0]].page), ""),
                         [cites[i] for i in g[1:]], [card_id(turn, i + 1) for i in g[1:]])
             for g in card_groups(cites)]
    boxes = [disagreement_box(c, cites, turn) for c in answer.conflicts]
    return _html("sources.html", "section", answer.question, turn, [Markup(b) for b in boxes + cards])


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
    rows = [(value, next((n for n, c in enumerate(citations, 1) if c == value.citation), None))
            for value in conflict.values]
    return _html("sources.html", "disagreement_box", conflict.kind, [(v, n and card_id(turn, n), n) for v, n in rows])


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


@dataclass(frozen=True)
class TurnSources:
    """The sources section of one answered question, kept for the panel's folded earlier turns."""

    question: str
    html: str


def sources_panel(turns: list[TurnSources]) -> str:
    """The current answer's sources, open, then at most EARLIER_TURNS_KEPT earlier answers' sources, folded
    under their question (their links still resolve); older ones are dropped, so the column does not grow
    with every turn.

    >>> sources_panel([])
    '<div class="sources-empty">Sources of the answers appear here.</div>'
    >>> panel = sources_panel([TurnSources("Who?", "<section>1</section>"), TurnSources("Where?", "<section>2</section>")])
    >>> panel.count("<details"), 'Earlier question: <span class="earlier-question" title="Who?">“Who?”' in panel
    (1, True)
    >>> sources_panel([TurnSources(str(n), f"<section>{n}</section>") for n in range(9)]).count("<details")
    3
    """
    earlier = [(shorten(t.question, QUESTION_CHARS), t.question, Markup(t.html))
               for t in turns[-2::-1][:EARLIER_TURNS_KEPT]]
    return _html("sources.html", "panel", Markup(turns[-1].html) if turns else "", earlier)


# --- documents tab

DOCUMENT_COLUMNS = ("file", "title", "date", "author", "language", "chunks", "duplicate of")
SHOWN_STATUS = {"refused": "not added", "failed": "not indexed"}   # the words of an upload's outcome


def document_rows(documents: Iterable[DocumentInfo]) -> list[list[str]]:
    """Plain-text table rows of the indexed documents (see DOCUMENT_COLUMNS).

    >>> from core.records import DocumentInfo
    >>> document_rows([DocumentInfo("/d/b.txt", "h", "Title", "2025-01-02", chunks=3, duplicate_of="/d/a.txt")])
    [['b.txt', 'Title', '2025-01-02', '', '', '3', 'a.txt']]
    """
    return [[d.name, d.title, d.date, d.author, d.language, str(d.chunks),
             Path(d.duplicate_of).name if d.duplicate_of else ""] for d in documents]


def documents_table(documents: Iterable[DocumentInfo]) -> str:
    """The documents as an escaped HTML table (each cell's class names its column: td.date does not wrap).

    >>> from core.records import DocumentInfo
    >>> "&lt;i&gt;" in documents_table([DocumentInfo("/d/a.txt", "h", "<i>x</i>")])
    True
    >>> documents_table([])
    '<p class="no-documents">No documents are indexed yet. Upload some below.</p>'
    """
    columns = [(name, name.replace(" ", "-")) for name in DOCUMENT_COLUMNS]
    return _html("documents.html", "documents_table", columns, document_rows(documents))


def index_summary(documents: Iterable[DocumentInfo]) -> str:
    """What the Chat tab says is indexed.

    >>> index_summary([DocumentInfo("/d/a.pdf", "h", chunks=12, pages=4), DocumentInfo("/d/b.txt", "h", chunks=1)])
    '<p class="index-summary">2 documents, 13 passages indexed.</p>'
    >>> index_summary([])
    '<p class="index-summary">No documents are indexed yet: add some in the Documents tab.</p>'
    """
    documents = list(documents)
    return _html("documents.html", "index_summary", len(documents), sum(d.chunks for d in documents))


def document_choices(documents: Iterable[DocumentInfo]) -> list[tuple[str, str]]:
    """(label, source) pairs for dropdowns: the file name, with the title (shortened) when there is one.

    >>> from core.records import DocumentInfo
    >>> document_choices([DocumentInfo("/d/a.txt", "h", "A title")])
    [('a.txt — A title', '/d/a.txt')]
    """
    return [(f"{d.name} — {shorten(d.title, 60)}" if d.title else d.name, d.source) for d in documents]


def ingest_summary(report: IngestReport | None, refused: list[tuple[str, str]],
                   names: Mapping[str, str] | None = None) -> str:
    """Per-file outcome of an upload as escaped HTML: indexed, unchanged, not added (turned away before
    indexing) or not indexed (reading it failed), with the reason.

    `refused` holds files turned away before indexing; `names` maps stored paths to uploaded names.

    >>> from core.records import IngestReport
    >>> r = IngestReport(added=["/u/a.txt"], failed=[("/u/b.pdf", "empty <file>")])
    >>> html_out = ingest_summary(r, [("c.exe", "unsupported file type")])
    >>> "a.txt</b>: indexed" in html_out, "b.pdf</b>: not indexed: empty &lt;file&gt;" in html_out
    (True, True)
    >>> "c.exe</b>: not added: unsupported file type" in html_out
    True
    """
    rows = [(o.name, o.status, SHOWN_STATUS.get(o.status, o.status), o.reason)
            for o in outcomes(report, refused, dict(names or {}))]
    unreadable = [(Path(source).name, why) for source, why in (report.unreadable_pages if report else [])]
    ok = sum(status in {"indexed", "updated", "unchanged"} for _, status, _, _ in rows)
    return _html("documents.html", "ingest_summary", rows, ok, unreadable, report)


def status_html(message: str, kind: str = "info") -> str:
    """A one-line status or error message, escaped.

    >>> status_html("<b>gone</b>", "error")
    '<p class="status status-error">&lt;b&gt;gone&lt;/b&gt;</p>'
    """
    return _html("documents.html", "status", message, kind)
