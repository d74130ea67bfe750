"""The chat UI in a real Chromium: `rag ui` serving an index of the sample corpus.

Streams an answer with a highlighted source, follows up, refuses visibly (the closest passages readable, short,
under one heading), indexes an upload, removes it; a failed or refused upload leaves no file; a marker brings
its card's heading into view. Saves artifacts/ui.png after the first answer and prints time to first token and
to the full answer.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CORPUS, ORIGINAL, REPO, REWRITE
from fake_openai import FakeOpenAI
from pdfs import (STEAM, STEAM_QUESTION, STEAM_SENTENCE, WARSAW, WARSAW_QUESTION, WARSAW_SENTENCE, write_scan,
                  write_text_pdf)
from uihelpers import RAG, login, multipart, opener, running_ui, status, ui_env

from ui.render import EXCERPT_CHARS, TITLE_CHARS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = REPO / "artifacts" / "ui.png"
ANSWER_TIMEOUT_MS = 120_000
Q1 = "How much money was Aslanov offered to carry out the hit?"
ZORBLAT_FACT = "The Zorblat festival is held every year in the town of Quenby."
PAYLOADS = ('<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> '
            "[click me](javascript:window.__pwned=3)")
BOT = '#chat [data-testid="bot"]'


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory) -> Path:
    """A fresh index of the sample corpus, built with `rag ingest`."""
    index = tmp_path_factory.mktemp("ui-index") / "index"
    ingest = subprocess.run([str(RAG), "ingest", str(CORPUS), "--index-dir", str(index)], env=ui_env(),
                            capture_output=True, text=True, timeout=600)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    return index


@pytest.fixture(scope="module")
def ui_url(sample_index):
    with running_ui(sample_index) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (`make browser` installs Debian chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, ui_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(ui_url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    yield page
    context.close()


def ask(page, question: str, turn: int) -> tuple[str, float, float]:
    """Type the question, press Enter; (final answer text, seconds to first token, seconds to full answer)."""
    before = page.locator(BOT).count()
    box = page.locator("#question textarea")
    box.fill(question)
    start = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        """n => { const bots = document.querySelectorAll('#chat [data-testid="bot"]');
                  return bots.length > n && bots[bots.length - 1].innerText.trim().length > 1; }""",
        arg=before, timeout=ANSWER_TIMEOUT_MS, polling=20)
    first = time.perf_counter() - start
    try:
        page.wait_for_function(
            """turn => { const bots = document.querySelectorAll('#chat [data-testid="bot"]');
                         const text = bots[bots.length - 1].innerText;
                         return document.querySelector(`#sources section[data-turn="${turn}"]`) !== null
                                && (text.includes('Sources:') || text.includes('Not in the documents')); }""",
            arg=turn, timeout=ANSWER_TIMEOUT_MS, polling=20)
    except Exception:
        pytest.fail(f"no finished answer to {question!r}; chat shows: {page.locator(BOT).last.inner_text()!r}")
    full = time.perf_counter() - start
    print(f"\n{question!r}: first token {first:.2f} s, full answer {full:.2f} s")
    return page.locator(BOT).last.inner_text(), first, full


def section(page, turn: int):
    return page.locator(f'#sources section[data-turn="{turn}"]')


# The WCAG contrast ratio of an element's text on the first opaque background behind it, and the opacity
# its ancestors give it (a faded card lowers the contrast too).
CONTRAST = """e => {
    const rgba = s => s.match(/[\\d.]+/g).map(Number);
    const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    let background = null, opacity = 1;
    for (let node = e; node; node = node.parentElement) {
        const style = getComputedStyle(node), color = rgba(style.backgroundColor);
        opacity *= parseFloat(style.opacity);
        if (!background && (color.length < 4 || color[3] > 0.9)) background = color;
    }
    const text = rgba(getComputedStyle(e).color);
    const [light, dark] = [luminance(text), luminance(background || [255, 255, 255])].sort((a, b) => b - a);
    return {ratio: (light + 0.05) / (dark + 0.05), opacity: opacity * (text.length > 3 ? text[3] : 1)}; }"""


def readable(locator) -> None:
    """The text is at full opacity with a contrast of at least 4.5:1 (WCAG AA for body text)."""
    seen = locator.evaluate(CONTRAST)
    assert seen["ratio"] >= 4.5 and seen["opacity"] == 1, seen


def heading_shown(page, card: str) -> None:
    """After a marker click: the heading of the card `card` comes to rest wholly inside the sources column
    and the window (not clipped at the top)."""
    try:
        page.wait_for_function("""id => { const card = document.getElementById(id).closest('.source-card');
            const head = card.querySelector('header').getBoundingClientRect();
            const column = document.querySelector('#sources').getBoundingClientRect();
            const still = window.__lastTop === head.top; window.__lastTop = head.top;
            return still && head.top >= Math.max(column.top, 0) && head.bottom <= Math.min(column.bottom, innerHeight); }""",
                               arg=card, timeout=10_000, polling=200)
    except Exception:
        box = page.evaluate("""id => [document.getElementById(id).closest('.source-card').querySelector('header')
            .getBoundingClientRect().top, document.querySelector('#sources').getBoundingClientRect().top]""", card)
        pytest.fail(f"the heading of {card} is not shown after its marker was clicked: (heading top, column top) {box}")


def test_chat_streams_cited_answer_follows_up_and_refuses(page):
    text, first, full = ask(page, Q1, turn=1)
    assert "$200,000" in text
    cards = section(page, 1).locator("article.source-card")
    assert cards.count() >= 1
    card = cards.first
    assert any(name in card.locator(".source-meta").inner_text() for name in (ORIGINAL, REWRITE))
    assert "$200,000" in card.locator("mark").inner_text()
    assert len(card.locator(".passage").inner_text()) > len(card.locator("mark").inner_text()) + 100  # context
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    card.locator(".whole-document summary").click()                    # the whole article opens at the quote,
    anchor = card.locator(".document-text .quote-anchor")              # 2,000 characters in
    anchor.wait_for(state="visible", timeout=5_000)
    page.wait_for_timeout(300)
    shown, quote = card.locator(".document-text").bounding_box(), anchor.bounding_box()
    assert "$200,000" in anchor.inner_text() and shown["y"] <= quote["y"] < shown["y"] + shown["height"]
    card.locator(".whole-document summary").click()

    title = page.locator(BOT).last.locator(".source-name")                # a 27-word title, shortened,
    shown, whole = title.inner_text(), title.get_attribute("title")   # the whole one on hover
    assert whole.startswith("Iran warns Azerbaijan over its growing ties") and len(whole.split()) > 20
    assert shown.endswith("…") and len(shown) <= TITLE_CHARS and whole.startswith(shown[:-1])
    assert whole[len(shown) - 1] == " "                                # cut between two words

    marker = page.locator(BOT).last.locator('a[href="#src-1-1"]').first
    marker.click()                                                   # scrolls to and flashes its source card
    page.wait_for_selector("#src-1-1.flash", timeout=5_000)
    assert len(page.context.pages) == 1 and "#src-" not in page.url  # no new tab, no navigation
    heading_shown(page, "src-1-1")

    text, _, _ = ask(page, "Who recruited him?", turn=2)            # a follow-up: "him" is the man of turn 1
    assert "intelligence" in text
    assert section(page, 2).locator("mark").count() >= 1

    text, _, _ = ask(page, "What is the population of Canada?", turn=3)
    refusal = page.locator(BOT).last.locator("blockquote")
    assert "Not in the documents" in refusal.inner_text()
    border = refusal.evaluate("e => getComputedStyle(e).borderLeftColor")
    assert border == "rgb(192, 57, 43)"                               # the refusal's red bar
    refused = section(page, 3)
    assert "refused" in (refused.get_attribute("class") or "")
    assert "$200,000" not in text
    heading = refused.locator(".closest-heading")                      # one heading over the closest passages
    assert heading.count() == 1 and "closest passages" in heading.inner_text()
    assert "do not answer the question" in heading.inner_text()
    readable(heading)
    excerpts = refused.locator(".passage.excerpt")
    assert excerpts.count() >= 1 and refused.locator(".source-number").count() == 0   # no label on each card
    assert refused.inner_text().lower().count("closest") == 1
    for excerpt in excerpts.all():
        readable(excerpt)
        assert 40 <= len(excerpt.inner_text()) <= EXCERPT_CHARS + 4      # a readable excerpt, not a wall
    assert "population" in [t.lower() for t in refused.locator(".term").all_inner_texts()]   # the question's word

    summaries = page.locator("#sources details.earlier-turn > summary").all_inner_texts()   # which question each was
    assert summaries == ["Earlier question: “Who recruited him?”", f"Earlier question: “{Q1}”"]
    print(f"first answer: first token {first:.2f} s, full answer {full:.2f} s; screenshot {SCREENSHOT}")


DTX = "When did Azerbaijan's State Security Service announce the arrest of the Iran-affiliated cell?"


def test_disagreeing_sources_show_a_box_with_both_dates_above_the_sources(page):
    text, _, _ = ask(page, DTX, turn=1)
    assert "Sources disagree" in text and "November 2, 2022" in text and "1 November" in text
    box = section(page, 1).locator(".conflict-box")
    assert box.is_visible() and "Sources disagree" in box.inner_text()
    rows = box.locator("li")
    assert rows.count() == 2
    first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "November 2, 2022" in first and "What is driving the renewed escalation" in first and "2023-05-25" in first
    assert "1 November" in second and "Azerbaijan to open embassy in Israel" in second and "2022-11-02" in second
    above = box.evaluate("b => b.compareDocumentPosition(b.parentElement.querySelector('article.source-card'))")
    assert above & 4                                                  # the box comes before the source cards
    box.locator('a[href="#src-1-2"]').click()                         # each value links to its source card
    page.wait_for_selector("#src-1-2.flash", timeout=5_000)


def test_the_sources_line_names_each_document_once(page):
    # an answer quoting two passages of one document (which question gives one depends on the learned answerer)
    text, _, _ = ask(page, "How did Baku describe the attack on its embassy in Tehran?", turn=1)
    line = text.split("Sources:")[1].strip()
    entries = line.split(" · ")
    titles = [entry.replace("]", "] ").split("] ")[-1].strip() for entry in entries]
    assert len(titles) == len(set(titles)) and all(line.count(title) == 1 for title in titles), line
    assert any(entry.count("[") >= 2 for entry in entries), line     # one document, the markers of its citations
    assert page.locator(BOT).last.locator('a[href^="#src-1-"]').count() >= 4   # every marker still links


def test_a_summary_shows_as_a_list_whose_every_item_links_its_source(page):
    text, _, _ = ask(page, "Summarize the main points of these articles.", turn=1)
    items = page.locator(BOT).last.locator("li")
    assert items.count() >= 3, text
    for n in range(items.count()):
        assert items.nth(n).locator('a[href^="#src-1-"]').count() >= 1, items.nth(n).inner_text()
    assert "- " not in text.split("Sources:")[0]          # list items, not dashes in a paragraph


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_upload_is_answerable_escaped_and_removable(page, tmp_path, sample_index):
    upload = tmp_path / "zorblat_festival.txt"
    upload.write_text(f"Festival notes.\n\n{ZORBLAT_FACT} Visitors bring lanterns.\n\nRaw markup: {PAYLOADS}\n")
    refused = tmp_path / "tool.exe"
    refused.write_bytes(b"MZ\x00\x00")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not a PDF")

    _tab(page, "Documents")
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in (upload, refused, empty, broken)])
    page.wait_for_function("() => document.querySelector('#ingest-result .ingest-result') !== null",
                           timeout=ANSWER_TIMEOUT_MS)
    result = page.locator("#ingest-result").inner_text()
    assert "zorblat_festival.txt: indexed" in result
    assert "tool.exe: not added: unsupported file type '.exe'; supported: .docx," in result   # says what is
    assert ".pdf, .txt" in result                                                        # supported
    assert "empty.txt: not added: empty file: nothing to index" in result
    assert "broken.pdf: not indexed: corrupt or unreadable PDF" in result
    assert ": failed" not in result and ": refused" not in result
    assert "zorblat_festival.txt" in page.locator("#documents").inner_text()
    kept = sorted(p.name for p in (sample_index / "uploads").iterdir())
    assert kept == ["zorblat_festival.txt"]                  # nothing of the refused or failed uploads stays

    _tab(page, "Chat")
    text, _, _ = ask(page, "Where is the Zorblat festival held?", turn=1)
    assert "Quenby" in text
    assert "zorblat_festival.txt" in section(page, 1).locator(".source-meta").first.inner_text()
    sources_text = page.locator("#sources").inner_text()
    assert "<img src=x" in sources_text                                  # shown as text, not as markup
    live = page.evaluate("""() => ({
        pwned: window.__pwned === undefined ? null : window.__pwned,
        markup: document.querySelectorAll('#sources img, #sources script, #sources a, #chat [data-testid="bot"] img, '
                                          + '#chat [data-testid="bot"] script, a[href^="javascript"]').length })""")
    assert live == {"pwned": None, "markup": 0}
    card = section(page, 1).locator("article.source-card").first       # a text file: its whole document opens
    card.locator(".whole-document summary").click()                    # at the quote
    anchor = card.locator(".document-text .quote-anchor")
    anchor.wait_for(state="visible", timeout=5_000)
    shown, quote = card.locator(".document-text").bounding_box(), anchor.bounding_box()
    assert ZORBLAT_FACT in anchor.inner_text() and shown["y"] <= quote["y"] < shown["y"] + shown["height"]

    _tab(page, "Documents")
    page.locator("#remove-choice input").click()
    page.locator('[role="option"]', has_text="zorblat_festival.txt").click()
    page.locator("#remove").click()                                     # asks first
    page.wait_for_selector("#remove-confirm", state="visible", timeout=10_000)
    assert "Remove zorblat_festival.txt?" in page.locator("#remove-status").inner_text()
    assert "zorblat_festival.txt" in page.locator("#documents").inner_text()   # nothing removed yet
    page.locator("#remove-confirm").click()
    page.wait_for_function("() => document.querySelector('#remove-status').innerText.includes('Removed')",
                           timeout=60_000)
    assert "zorblat_festival.txt" not in page.locator("#documents").inner_text()
    assert "zorblat_festival.txt" not in page.locator("#ingest-result").inner_text()   # its "indexed" line goes
    assert list((sample_index / "uploads").iterdir()) == []

    _tab(page, "Chat")
    text, _, _ = ask(page, "Where is the Zorblat festival held?", turn=2)
    assert "Quenby" not in text
    assert "zorblat_festival.txt" not in section(page, 2).inner_text()
    print(f"after removal the answer is: {text!r}")


def test_password_and_upload_cap(tmp_path):
    """With RAG_UI_USER/RAG_UI_PASSWORD nothing is served before login; uploads over the cap are refused."""
    with running_ui(tmp_path / "index", RAG_UI_USER="ann", RAG_UI_PASSWORD="s3cret", RAG_UI_UPLOAD_MB="0.001") as url:
        browser_session = opener()
        assert status(browser_session, url + "config") == 401
        assert status(browser_session, url + "gradio_api/upload", *multipart("a.txt", b"x")) in (401, 403)
        assert login(browser_session, url, "ann", "wrong") in (400, 401)
        assert login(browser_session, url, "ann", "s3cret") == 200
        assert status(browser_session, url + "config") == 200
        assert status(browser_session, url + "gradio_api/upload", *multipart("a.txt", b"x" * 5000)) == 413
        assert status(browser_session, url + "gradio_api/upload", *multipart("a.txt", b"x" * 500)) == 200


PROVISIONAL_SHOT = REPO / "artifacts" / "ui-llm-provisional.png"
WITHDRAWN_SHOT = REPO / "artifacts" / "ui-llm-withdrawn.png"


def test_a_provisional_llm_reply_is_replaced_by_the_offline_answer_with_its_notice(browser, sample_index):
    """An LLM (the fake server) rambles and imitates the prompt, a word every 0.25 s: its reply streams in
    greyed under "checking…", then gives way to the offline answer with the notice saying why."""
    with FakeOpenAI(pace=0.25) as llm:
        llm.script = ["ramble"]
        with running_ui(sample_index, RAG_LLM_BASE_URL=llm.url) as url:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(url)
            page.locator("#question textarea").fill(Q1)
            page.locator("#question textarea").press("Enter")
            page.wait_for_selector(f"{BOT} .provisional", timeout=ANSWER_TIMEOUT_MS)
            streamed = page.locator(BOT).last
            assert streamed.locator(".provisional-label").inner_text() == "checking…"
            grey = streamed.locator(".provisional").evaluate("e => getComputedStyle(e).color")
            assert grey == "rgb(138, 138, 138)" and "Sources:" not in streamed.inner_text()
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(PROVISIONAL_SHOT))
            page.wait_for_function(f"""() => {{ const bots = document.querySelectorAll('{BOT}');
                                              return bots[bots.length - 1].innerText.includes('Sources:'); }}""",
                                   timeout=ANSWER_TIMEOUT_MS, polling=20)
            final = page.locator(BOT).last
            text, left = final.inner_text(), final.locator(".provisional").count()
            page.screenshot(path=str(WITHDRAWN_SHOT))
            context.close()
    assert 'LLM reply withdrawn (it imitates the prompt ("Passage [2]:")): showing the offline answer' in text
    assert "$200,000" in text and left == 0
    assert "lived abroad for many years" not in text                 # nothing of the withdrawn reply is left
    print(f"screenshots: {PROVISIONAL_SHOT}, {WITHDRAWN_SHOT}")


def _field(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def test_settings_filter_by_source_and_date(page):
    page.locator("#chat-settings").get_by_text("Settings").first.click()
    page.locator("#source-filter input").click()
    page.locator('[role="option"]', has_text="003_3c2440bdc0ef8b21.txt").click()
    page.locator("#question textarea").click()                         # close the list (Escape would clear it)
    text, _, _ = ask(page, Q1, turn=1)
    assert "$200,000" not in text and "Not in the documents" in text
    names = section(page, 1).locator(".source-meta").all_inner_texts()
    assert names and all("003_3c2440bdc0ef8b21.txt" in name for name in names)   # closest passages, filtered

    page.locator("#source-filter .remove-all").click()
    _field(page, "until").fill("2024-01-01")
    text, _, _ = ask(page, Q1, turn=2)
    assert "$200,000" not in text                                      # the 2025 article is filtered out

    _field(page, "until").fill("")
    _field(page, "since").fill("2025-01-01")
    text, _, _ = ask(page, Q1, turn=3)
    assert "$200,000" in text

    _field(page, "since").fill("Feb 3")
    page.locator("#question textarea").fill(Q1)
    page.locator("#question textarea").press("Enter")
    page.wait_for_function("""() => { const bots = document.querySelectorAll('#chat [data-testid="bot"]');
                                       return bots[bots.length - 1].innerText.includes('date from must be'); }""",
                           timeout=30_000)


def cited_page_shown(page, turn: int, name: str) -> None:
    """The first source card of `turn` is `name` on p. 3, with page 3 rendered and the quote boxed on it."""
    card = section(page, turn).locator("article.source-card").first
    assert name in card.locator(".source-meta").inner_text() and "p. 3" in card.locator(".source-meta").inner_text()
    image = card.locator(".page-view .page-image img")
    image.wait_for(state="visible", timeout=10_000)
    assert "Page 3" in card.locator(".page-view summary").inner_text()
    picture = image.bounding_box()
    boxes = [b.bounding_box() for b in card.locator(".page-highlight").all()]
    assert picture["height"] > 300 and len(boxes) >= 2                 # the wrapped sentence: one box a line
    for box in boxes:
        assert picture["x"] <= box["x"] and box["x"] + box["width"] <= picture["x"] + picture["width"] + 1
        assert picture["y"] <= box["y"] and box["y"] + box["height"] <= picture["y"] + picture["height"] + 1
        assert box["height"] > 5 and box["width"] > 20


def test_pdf_and_scan_uploads_answer_with_the_page_shown_and_the_quote_boxed(page, tmp_path):
    """A multi-page text PDF and an image-only PDF (a scan of real text): each answered from page 3 by a
    sentence wrapped over lines, quoted whole, cited as p. 3, its page rendered with the quote highlighted."""
    steam = write_text_pdf(tmp_path / "steam.pdf", "Steam Engines in Britain", "Encyclopedia of Engineering", STEAM)
    (tmp_path / "plain").mkdir()
    plain = write_text_pdf(tmp_path / "plain" / "warsaw.pdf", "Warsaw", "City Guide", WARSAW)
    scan = write_scan(plain, tmp_path / "warsaw-scan.pdf")
    before = page.locator("#index-summary").inner_text()
    assert "documents," in before and "passages indexed" in before      # the Chat tab says what is indexed
    page.locator("#to-documents").click()                                 # the Chat tab links to the Documents tab
    page.locator("#upload input[type=file]").wait_for(state="attached", timeout=10_000)
    page.locator("#upload input[type=file]").set_input_files([str(steam), str(scan)])
    page.wait_for_function("() => document.querySelector('#ingest-result .ingest-result') !== null",
                           timeout=ANSWER_TIMEOUT_MS)
    result = page.locator("#ingest-result").inner_text()
    assert "steam.pdf: indexed" in result and "warsaw-scan.pdf: indexed" in result and "read by OCR" in result
    one_line = page.evaluate("""() => [...document.querySelectorAll('#documents td.date')].filter(td => td.innerText)
        .every(td => { const r = document.createRange(); r.selectNodeContents(td);
                       return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size === 1; })""")
    assert one_line                                                       # "2025-02-03", never "2025-/02-03"
    steam_row = page.locator("#documents tr", has_text="steam.pdf")
    assert steam_row.locator("td.date").inner_text() == ""                 # it states no date: none shown, not
                                                                           # the PDF's creation date (today)

    _tab(page, "Chat")
    assert page.locator("#index-summary").inner_text() != before          # the count follows the upload
    text, _, _ = ask(page, STEAM_QUESTION, turn=1)
    assert STEAM_SENTENCE in " ".join(text.split()) and "Steam Engines in Britain, p. 3" in text
    cited_page_shown(page, 1, "steam.pdf")
    (REPO / "artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(REPO / "artifacts" / "ui-pdf-page.png"))

    text, _, _ = ask(page, WARSAW_QUESTION, turn=2)
    assert WARSAW_SENTENCE in " ".join(text.split()) and "p. 3" in text   # the scanned text, read by OCR
    cited_page_shown(page, 2, "warsaw-scan.pdf")
    section(page, 2).locator("article.source-card").first.screenshot(path=str(REPO / "artifacts" / "ui-scan-card.png"))

    page.locator(BOT).nth(0).locator('a[href="#src-1-1"]').first.click()   # the earlier answer's marker: its
    heading_shown(page, "src-1-1")                                          # card, taller than the column,
    page.locator(BOT).nth(1).locator('a[href="#src-2-1"]').first.click()   # shows its heading, and back
    heading_shown(page, "src-2-1")

    label = page.locator("#chat label, #chat [data-testid='block-label']")
    assert label.count() == 0 or not label.first.is_visible()           # no label over the first chat line
    layout = page.evaluate("""() => { const s = document.querySelector('#sources'), f = document.querySelector('footer');
        const sb = s.getBoundingClientRect(), fb = f ? f.getBoundingClientRect() : null;
        return {clipped: ['auto', 'scroll'].includes(getComputedStyle(s).overflowY) && s.scrollHeight > s.clientHeight,
                sourcesBottom: sb.bottom, footerTop: fb ? fb.top + window.scrollY : null,
                sourcesBottomInPage: sb.bottom + window.scrollY}; }""")
    assert layout["clipped"], layout                                   # the column scrolls instead of running on
    assert layout["footerTop"] is None or layout["footerTop"] >= layout["sourcesBottomInPage"] - 1, layout
