"""PDF: the only module that imports pypdfium2. The text layer of every page with its character boxes; pages
without one (scans) read by OCR; laid out into flowing text by `index.layout`; pages rendered for the UI.

Encrypted and corrupt PDFs are refused with a reason; a page OCR cannot read is reported, not left silently
empty (`Layout.unreadable_pages`).
"""
from __future__ import annotations

import io
import re
import time

from core.errors import BadDocument
from index import ocr
from index.layout import Layout, Line, lay_out, uniform_line
from index.readers import ReadOptions, reader

MIN_TEXT_CHARS = 20     # a page with fewer characters in its text layer is treated as a scan
TITLE_MAX_WORDS = 30


@reader(".pdf")
def read_pdf(data: bytes, options: ReadOptions) -> tuple[str, dict[str, str], Layout]:
    pdf = _open(data)
    try:
        pages, scanned, seconds, unreadable = _read_pages(pdf, options.ocr_dpi)
        text, layout = lay_out(pages)
        layout.ocr_pages, layout.ocr_seconds, layout.unreadable_pages = scanned, seconds, unreadable
        hints = _hints(pdf.get_metadata_dict(), pages[0] if pages else [])
    finally:
        pdf.close()
    if not text.strip():
        where = "; ".join(f"page {p}: {why}" for p, why in unreadable) or "its pages are blank"
        raise BadDocument(f"PDF has no text layer and OCR found no text ({where})")
    return text, hints, layout


def _open(data: bytes):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        if "password" in str(err).lower():
            raise BadDocument("PDF is encrypted; decrypt it first") from None
        raise BadDocument(f"corrupt or unreadable PDF ({err})") from None


def _text_lines(page, number: int) -> list[Line]:
    """The page's text layer as lines, each character with its box (fractions of the page, top-left origin)."""
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        width, height = page.get_size()
        lines = []
        for match in re.finditer(r"[^\r\n]+", text):
            boxes = tuple(_fraction(textpage.get_charbox(i, loose=True), width, height)
                          for i in range(match.start(), match.end()))
            lines.append(Line(number, match.group(), boxes))
        return lines
    finally:
        textpage.close()


def _fraction(box: tuple[float, float, float, float], width: float, height: float) -> tuple[float, ...]:
    left, bottom, right, top = box
    return (round(left / width, 5), round(1 - top / height, 5), round(right / width, 5), round(1 - bottom / height, 5))


def _read_pages(pdf, dpi: int) -> tuple[list[list[Line]], list[int], float, list[list]]:
    """Every page's lines, each page loaded once: its text layer, or OCR when it has (almost) no text layer
    but something drawn on it. Also the pages OCR read, the seconds OCR took and the pages it could not
    read, with the reason."""
    pages, scanned, unreadable, seconds = [], [], [], 0.0
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            lines = _text_lines(page, index + 1)
            if sum(len(line.text.strip()) for line in lines) < MIN_TEXT_CHARS and _has_content(page):
                began = time.perf_counter()
                found, why = _ocr_page(page, index + 1, dpi)
                seconds += time.perf_counter() - began
                scanned += [index + 1] if dpi > 0 else []
                unreadable += [[index + 1, why]] if why else []
                lines = found or lines
        finally:
            page.close()
        pages.append(lines)
    return pages, scanned, seconds, unreadable


def _ocr_page(page, number: int, dpi: int) -> tuple[list[Line], str]:
    """The lines OCR reads on a scanned page, or none and the reason."""
    if dpi <= 0:
        return [], "no text layer (OCR is off: RAG_OCR_DPI=0)"
    found = [uniform_line(number, text, box) for text, box in ocr.read_lines(page.render(scale=dpi / 72).to_pil())]
    return found, "" if found else "no text layer, and OCR found no text on it"


def _has_content(page) -> bool:
    return next(iter(page.get_objects(max_depth=1)), None) is not None


def _hints(meta: dict[str, str], first_page: list[Line]) -> dict[str, str]:
    """Title (the metadata's when meaningful, else the largest text on the first page) and author. No date:
    the metadata's CreationDate is when the file was made (often the day it was printed or exported), not
    the date the document states; `index.meta` reads that from the first page's dateline."""
    title = meta.get("Title", "").strip()
    if not meaningful_title(title):
        title = largest_text(first_page)
    author = meta.get("Author", "").strip()
    found = {"title": title, "author": "" if author.lower() in ("anonymous", "unknown", "author") else author}
    return {k: v for k, v in found.items() if v}


def meaningful_title(title: str) -> bool:
    """A metadata title worth showing: words, not a file name, a URL or a tool's placeholder.

    >>> [meaningful_title(t) for t in ("Annual Report 2024", "Microsoft Word - draft3.docx", "untitled", "x.pdf")]
    [True, False, False, False]
    >>> meaningful_title("X Desktop Group (http://www.freedesktop.org)")
    False
    """
    lowered = title.lower()
    return (len(title.split()) >= 2 and not re.search(r"https?://|www\.|\.(pdf|docx?|tex|dvi|txt)\b", lowered)
            and not lowered.startswith(("microsoft word", "untitled", "slide 1")))


def largest_text(lines: list[Line]) -> str:
    """The first page's largest text: consecutive lines of the largest type size, never a URL line.

    >>> big, small = (.1, .10, .9, .14), (.1, .20, .9, .22)
    >>> largest_text([uniform_line(1, "www.example.org", small), uniform_line(1, "Kestrel Valley", big),
    ...               uniform_line(1, "Water Survey", (.1, .15, .9, .19)), uniform_line(1, "Body text.", small)])
    'Kestrel Valley Water Survey'
    """
    candidates = [ln for ln in lines if ln.inked and not re.search(r"https?://|www\.|@", ln.text)
                  and re.search(r"[^\W\d_]{2}", ln.text)]
    if not candidates:
        return ""
    biggest = max(ln.size for ln in candidates)
    first = next(i for i, ln in enumerate(candidates) if ln.size >= 0.9 * biggest)
    title = []
    for line in candidates[first:]:
        if line.size < 0.9 * biggest:
            break
        title.append(line.text.strip())
    return " ".join(" ".join(title).split()[:TITLE_MAX_WORDS])


def page_count(path: str) -> int:
    """Pages of the PDF at `path`."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def render_page(path: str, page: int, width: int = 900) -> bytes:
    """Page `page` (1-based) of the PDF at `path` as a PNG `width` pixels wide (for the UI)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except (pdfium.PdfiumError, OSError) as err:
        raise BadDocument(f"{path}: cannot open the PDF to show page {page} ({err})") from None
    try:
        if not 1 <= page <= len(pdf):
            raise BadDocument(f"{path}: has no page {page} (it has {len(pdf)})")
        shown = pdf[page - 1]
        buffer = io.BytesIO()
        shown.render(scale=width / shown.get_width()).to_pil().save(buffer, "PNG")
        shown.close()
        return buffer.getvalue()
    finally:
        pdf.close()
