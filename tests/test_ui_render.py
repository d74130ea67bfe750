"""ui.render: citation markers become links, quotes are highlighted, documents can never inject markup."""
from __future__ import annotations

import html
import re

import pytest

from core.records import Answer, Citation, DocumentInfo, IngestReport
from ui import render

DOC = ("Intro line.\nAuthorities arrested two men near a Jewish center. "
       "Aslanov was offered $200,000 to carry out the hit. Officials said more.")
QUOTE = "Aslanov was offered $200,000 to carry out the hit."
START = DOC.index(QUOTE)


def citation(source="/corpus/000.txt", quote=QUOTE, start=START, title="Iran warns", date="2025-02-03"):
    return Citation(source, title, quote, start, start + len(quote), 0.9, date=date)


def answer(text, citations=(), abstained=False, question="How much?", **extra):
    return Answer(text, list(citations), abstained, question, question, **extra)


# --- markers -> anchors

def test_markers_link_to_their_source_cards():
    md = render.answer_markdown(answer("It was $200,000 [1], see also [2].", [citation(), citation()]), turn=3)
    assert "[\\[1\\]](#src-3-1)" in md and "[\\[2\\]](#src-3-2)" in md
    panel = render.sources_section(answer("x", [citation(), citation()]), {"/corpus/000.txt": DOC}, turn=3)
    assert 'id="src-3-1"' in panel and 'id="src-3-2"' in panel


@pytest.mark.parametrize("text", ["Both sources agree [1, 2].", "Both sources agree [1][2].", "Both [2,1]."])
def test_grouped_and_adjacent_markers_link_each_number(text):
    """The LLM's renumbered form "[1, 2]" and the adjacent form "[1][2]" both lead to both cards."""
    from markdown_it import MarkdownIt

    page = MarkdownIt().render(render.answer_markdown(answer(text, [citation(), citation()]), turn=2))
    assert set(re.findall(r'href="#(src-2-\d)"', page)) == {"src-2-1", "src-2-2"}
    assert "[1" in re.sub(r"<[^>]+>", "", page) or "[2" in re.sub(r"<[^>]+>", "", page)


def test_grouped_marker_links_only_numbers_with_a_citation():
    md = render.answer_markdown(answer("Fact [1, 7].", [citation()]), turn=1)
    assert "(#src-1-1)" in md and "#src-1-7" not in md and "7" in md


def test_marker_without_a_citation_stays_plain_text():
    md = render.answer_markdown(answer("Fact [1] and [4].", [citation()]), turn=1)
    assert "(#src-1-1)" in md and "#src-1-4" not in md and "\\[4\\]" in md


def test_the_sources_line_shows_titles_with_the_file_name_on_hover():
    cites = [citation("/c/3f9a0c1d2e.txt"), Citation("/c/b.pdf", "Kestrel Survey", "q", 0, 1, 0.9, page=3)]
    md = render.answer_markdown(answer("A [1] B [2]", cites), turn=1)
    sources = md.split("**Sources:**")[1]
    assert '(#src-1-1 "3f9a0c1d2e.txt") Iran warns' in sources                # the title shown, the name on hover
    assert '(#src-1-2 "b.pdf") Kestrel Survey, p. 3' in sources             # with the page of a PDF
    assert "3f9a0c1d2e\\.txt" not in sources


LONG_TITLE = ("Iran warns Azerbaijan over its growing ties with Israel as Baku deepens energy cooperation and "
              "foils an alleged Iranian-backed terror plot targeting a Jewish community member.")


def test_the_sources_line_names_each_document_once_with_all_its_markers():
    cites = [citation(title=LONG_TITLE), citation("/c/b.txt", title="Kestrel Survey"), citation(title=LONG_TITLE)]
    sources = render.answer_markdown(answer("A [1] B [2] C [3]", cites), turn=1).split("**Sources:**")[1]
    shown = re.sub(r'title="[^"]*"', "", sources)                             # the text, not the hovers
    assert shown.count("Iran warns") == 1 and shown.count("Kestrel Survey") == 1
    first = sources.split(" · ")[0]
    assert "(#src-1-1" in first and "(#src-1-3" in first and "(#src-1-2" not in first   # its markers, together


def test_a_long_title_is_shortened_at_a_word_boundary_with_the_whole_title_on_hover():
    from markdown_it import MarkdownIt

    sources = render.answer_markdown(answer("A [1]", [citation(title=LONG_TITLE)]), turn=1).split("**Sources:**")[1]
    page = MarkdownIt("commonmark", {"html": True}).render(sources)
    hover = re.search(r'<span class="source-name" title="([^"]*)">([^<]*)</span>', page)
    assert hover and html.unescape(hover.group(1)) == LONG_TITLE
    shown = hover.group(2)
    assert shown.endswith("…") and len(shown) <= render.TITLE_CHARS
    assert LONG_TITLE.startswith(shown[:-1]) and LONG_TITLE[len(shown) - 1] == " "     # ends on a whole word


def test_a_refusal_uses_an_icon_every_font_has():
    md = render.answer_markdown(answer("The documents do not answer this question.", [], abstained=True), turn=1)
    assert render.REFUSAL_ICON in md and not any(ord(ch) >= 0x2600 for ch in md)   # no emoji (⛔ is U+26D4)


def test_streaming_text_links_markers_before_citations_are_known():
    assert render.streaming_markdown("So [2]", turn=5) == "So [\\[2\\]](#src-5-2)"


# --- highlight

def test_quote_is_marked_inside_its_surrounding_text():
    card = render.source_card(citation(), DOC, "src-1-1", "[1]")
    assert "<mark>Aslanov was offered $200,000 to carry out the hit.</mark>" in card
    assert "Authorities arrested two men" in card and "Officials said more." in card
    assert "Iran warns" in card and "2025-02-03" in card and "000.txt" in card


def test_context_is_limited_and_cut_at_word_boundaries():
    long_doc = "word " * 400 + QUOTE + " tail" * 400
    start = long_doc.index(QUOTE)
    before, quote, after = render.passage_context(long_doc, start, start + len(QUOTE), QUOTE, width=300)
    assert quote == QUOTE
    assert 250 <= len(before) <= 300 and 250 <= len(after) <= 300
    assert before.startswith("word") and after.rstrip().endswith("tail")


def test_quote_shown_alone_when_the_document_changed():
    card = render.source_card(citation(), "completely different text", "src-1-1", "[1]")
    assert f"<mark>{QUOTE}</mark>" in card and "completely different" not in card


def test_closest_passages_of_a_refusal_are_listed_as_not_answering():
    refusal = answer("The documents do not answer this question.", abstained=True, passages=[citation()])
    section = render.sources_section(refusal, {"/corpus/000.txt": DOC}, turn=2)
    assert "do not answer" in section and "refused" in section and 'id="near-2-1"' in section
    assert 'id="src-' not in section


def test_sources_panel_keeps_earlier_turns_folded_under_their_question():
    long_question = "Which Friday Prayer Leader of Ardabil accused Baku of collaborating with Israel against Iran's interests?"
    panel = render.sources_panel([render.TurnSources(long_question, "<section>first</section>"),
                                  render.TurnSources("Who?", "<section>second</section>")])
    assert panel.index("second") < panel.index("first")
    summary = re.search(r"<details[^>]*><summary>(.*?)</summary>.*first", panel).group(1)
    shown = re.sub(r"<[^>]+>", "", summary)
    assert shown.startswith("Earlier question: “Which Friday Prayer Leader of Ardabil")    # which question it was
    assert shown.endswith("…”") and len(shown) < len("Earlier question: “”") + len(long_question)
    assert shown[:-2].split()[-1] in long_question.split()                              # cut between words
    assert f'title="{long_question.replace(chr(39), "&#39;")}"' in summary               # the whole one on hover


# --- escaping

SCRIPT = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'
LINK = "[click me](javascript:alert(1))"
AUTOLINK = "visit www.evil.example or http://evil.example/x"


@pytest.mark.parametrize("payload", [SCRIPT, IMG])
def test_html_in_answers_is_escaped(payload):
    md = render.answer_markdown(answer(f"Quote {payload} end [1]", [citation()]), turn=1)
    assert "<script" not in md and "<img" not in md
    assert "&lt;" in md


def test_markdown_links_in_answers_do_not_render():
    md = render.answer_markdown(answer(f"Quote {LINK} {AUTOLINK} [1]", [citation()]), turn=1)
    links = re.findall(r"(?<!\\)\]\(([^)]*)\)", md)   # every live link target
    assert [link.split(" ")[0] for link in links] == ["#src-1-1", "#src-1-1"]   # only our own marker links
    assert "javascript\\:" in md and "www\\.evil" in md and "http\\://" in md


def test_markdown_syntax_in_answers_is_literal():
    md = render.escape_markdown("# Title\n- item\n1. one\n**bold** `code` | a | b |\n===\n~~x~~ _y_ $z$")
    assert re.search(r"(?<!\\)[#\-.*`|=~_$]", md) is None     # every markdown character is backslash-escaped


@pytest.mark.parametrize("payload", [SCRIPT, IMG, LINK])
def test_source_cards_escape_document_text_title_and_name(payload):
    doc = f"Before {payload} {QUOTE} after {payload}"
    start = doc.index(QUOTE)
    c = Citation(f"/c/{payload}.txt", f"Title {payload}", QUOTE, start, start + len(QUOTE), 0.5, date=payload)
    card = render.source_card(c, doc, "src-1-1", "[1]")
    assert "<script" not in card and "<img" not in card and "<a " not in card
    assert card.count("&lt;") >= (4 if "<" in payload else 0)


def test_quote_with_markup_is_escaped_inside_the_mark():
    doc = f"Start. {SCRIPT} end."
    c = Citation("/c/a.txt", "t", SCRIPT, 7, 7 + len(SCRIPT), 0.5)
    card = render.source_card(c, doc, "i", "[1]")
    marked = re.search(r"<mark>(.*?)</mark>", card).group(1)
    assert "<" not in marked and html.unescape(marked) == SCRIPT                # shown as text, whole


def test_question_in_the_sources_heading_and_chat_is_escaped():
    section = render.sources_section(answer("x", [], question=SCRIPT), {}, turn=1)
    assert "<script" not in section
    assert "<script" not in render.user_markdown(SCRIPT)


def test_documents_table_and_ingest_report_escape():
    doc = DocumentInfo(f"/c/{SCRIPT}.txt", "h", title=IMG, author=SCRIPT)
    table = render.documents_table([doc])
    assert "<script" not in table and "<img" not in table and "&lt;img" in table
    report = render.ingest_summary(IngestReport(failed=[(f"/u/{SCRIPT}", IMG)]), [(IMG, SCRIPT)])
    assert "<script" not in report and "<img" not in report


def test_notice_and_errors_are_escaped():
    md = render.answer_markdown(answer("ok", notice=LINK), turn=1)
    assert "](javascript" not in md
    assert "<script" not in render.error_markdown(SCRIPT)
    assert "<script" not in render.status_html(SCRIPT)


# --- refusal styling

def test_refusal_is_visibly_different():
    refused = render.answer_markdown(answer("The documents do not answer this question.", abstained=True), turn=1)
    normal = render.answer_markdown(answer("It was $200,000 [1].", [citation()]), turn=1)
    assert refused.startswith("> ") and render.REFUSAL_PREFIX in refused
    assert not normal.startswith(">") and render.REFUSAL_PREFIX not in normal


def test_notice_is_shown_above_the_answer():
    md = render.answer_markdown(answer("ok [1]", [citation()], notice="LLM unavailable: offline answer shown"), turn=1)
    assert md.index("LLM unavailable") < md.index("ok")


# --- documents

def test_document_rows_and_choices():
    docs = [DocumentInfo("/c/a.txt", "h", "A", "2025-01-01", "Ann", chunks=2),
            DocumentInfo("/c/b.txt", "h", "", duplicate_of="/c/a.txt")]
    assert render.document_rows(docs) == [["a.txt", "A", "2025-01-01", "Ann", "", "2", ""],
                                          ["b.txt", "", "", "", "", "0", "a.txt"]]
    assert render.document_choices(docs) == [("a.txt — A", "/c/a.txt"), ("b.txt", "/c/b.txt")]


def test_ingest_summary_lists_each_file_with_its_outcome():
    report = IngestReport(added=["/u/a.txt"], unchanged=["/u/b.md"], failed=[("/u/c.pdf", "empty file")])
    out = render.ingest_summary(report, [("d.exe", "unsupported file type '.exe'")], {"/u/a.txt": "a.txt"})
    assert "2 of 4 files indexed" in out
    for piece in ("a.txt</b>: indexed", "b.md</b>: unchanged", "c.pdf</b>: not indexed: empty file",
                  "d.exe</b>: not added: unsupported"):
        assert piece in out


def test_overlapping_passages_of_one_document_are_one_card_with_both_highlights():
    text = "Intro. " + "The first fact is here. The second fact follows. " * 3 + "End."
    first = Citation("/c/a.txt", "T", "The first fact is here.", 7, 30, 0.9)
    second = Citation("/c/a.txt", "T", "The second fact follows.", 31, 55, 0.9)
    html_out = render.sources_section(answer("A [1] B [2]", [first, second]), {"/c/a.txt": text}, 1)
    assert html_out.count('class="source-card"') == 1 and html_out.count("<mark>") >= 2
    assert 'id="src-1-1"' in html_out and 'id="src-1-2"' in html_out          # both markers still lead to it
    assert "[1][2]" in html_out


LONG_DOC = " ".join(f"Paragraph {n} talks about the harbour, its ferries and the weather of the coast." for n in range(12))
NEAR_SENTENCE = "The new lighthouse on the northern pier was painted red and white in 1998."


def test_closest_passages_of_a_refusal_are_short_excerpts_with_the_question_terms_under_one_heading():
    doc = f"{LONG_DOC} {NEAR_SENTENCE} {LONG_DOC}"
    near = [Citation("/c/a.txt", "Harbour notes", doc, 0, len(doc), 0.2),
            Citation("/c/b.txt", "Coast guide", LONG_DOC, 0, len(LONG_DOC), 0.1)]
    refusal = answer("The documents do not answer this question.", [], abstained=True, passages=near,
                     question="How tall is the lighthouse on the pier?")
    html_out = render.sources_section(refusal, {"/c/a.txt": doc, "/c/b.txt": LONG_DOC}, 1)
    assert "<mark" not in html_out                                          # nothing shown as if it answered
    visible = re.sub(r"<[^>]+>", " ", html_out).lower()
    assert html_out.count('class="closest-heading"') == 1 and visible.count("closest") == 1   # one heading, and
    heading = re.search(r'<h5 class="closest-heading">(.*?)</h5>', html_out).group(1)
    assert "closest passages" in heading and "do not answer the question" in heading
    assert "source-number" not in html_out                                  # no label on each card
    excerpts = re.findall(r'<p class="passage excerpt">(.*?)</p>', html_out)
    assert len(excerpts) == 2
    first = html.unescape(re.sub(r"<[^>]+>", "", excerpts[0]))
    assert NEAR_SENTENCE in first and len(first) <= render.EXCERPT_CHARS + 4  # the nearest sentence, not a wall
    assert re.findall(r'<strong class="term">(\w+)</strong>', excerpts[0]) == ["lighthouse", "pier"]
    for excerpt in map(lambda e: html.unescape(re.sub(r"<[^>]+>", "", e)), excerpts):
        words = excerpt.strip("… ").split()
        assert words[0] in doc.split() and words[-1] in doc.split()       # cut between words, not inside one


def test_a_refusal_with_no_passage_says_so():
    html_out = render.sources_section(answer("No.", [], abstained=True), {}, 1)
    assert "No passage answers this question." in html_out and "closest" not in html_out


def test_the_documents_table_keeps_dates_on_one_line():
    table = render.documents_table([DocumentInfo("/d/a.txt", "h", "T", "2025-02-03")])
    assert '<td class="date">2025-02-03</td>' in table


def test_a_pdf_card_shows_its_page_with_the_quote_boxed_and_others_open_the_whole_document():
    pdf = Citation("/c/a.pdf", "T", QUOTE, START, START + len(QUOTE), 0.9, page=3,
                   rects=((3, 0.1, 0.2, 0.9, 0.22), (3, 0.1, 0.23, 0.5, 0.25)))
    card = render.source_card(pdf, DOC, "src-1-1", "[1]", image="data:image/png;base64,AAAA")
    assert card.count('class="page-highlight"') == 2 and 'src="data:image/png;base64,AAAA"' in card
    assert "p. 3" in card and "whole-document" not in card
    txt = render.source_card(citation(), DOC, "src-1-1", "[1]")
    assert '<details class="whole-document">' in txt and 'class="in-document quote-anchor"' in txt
    assert txt.count("<mark>") == txt.count('class="passage"') == 1 and "<img" not in txt   # one passage shown
