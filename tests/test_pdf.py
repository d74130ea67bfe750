"""PDFs as people have them: sentences wrapped over lines and pages quoted whole, the page and the boxes of
every quote, scans read by OCR, titles that are not running headers, DOCX headings, old indexes still read."""
from __future__ import annotations

import json
import subprocess

import pytest

from pdfs import (STEAM, STEAM_QUESTION, STEAM_SENTENCE, WARSAW, WARSAW_QUESTION, WARSAW_SENTENCE, write_scan,
                  write_text_pdf)
from uihelpers import RAG, ui_env


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    """A text PDF and a scan of another (image-only), ingested into one index."""
    from rag import Assistant

    folder = tmp_path_factory.mktemp("pdfs")
    write_text_pdf(folder / "steam.pdf", "Steam Engines in Britain", "Encyclopedia of Engineering (www.example.org)",
                   STEAM)
    plain = write_text_pdf(tmp_path_factory.mktemp("plain") / "warsaw.pdf", "Warsaw", "City Guide", WARSAW)
    write_scan(plain, folder / "warsaw-scan.pdf")
    assistant = Assistant(tmp_path_factory.mktemp("pdf-index"), embedder=embedder)
    report = assistant.ingest([folder])
    assert not report.failed, report.failed
    return assistant, report, folder


def only(assistant, name: str):
    return next(d for d in assistant.documents() if d.name == name)


def check_cited(assistant, question: str, name: str, sentence: str):
    answer = assistant.ask(question)
    cite = answer.citations[0]
    assert not answer.abstained and cite.name == name
    assert sentence in cite.quote                                       # whole, across the line breaks
    assert cite.quote == assistant.document_text(cite.source)[cite.start:cite.end]
    assert cite.page == 3
    assert len(cite.rects) >= 2 and {r[0] for r in cite.rects} == {3}   # one box a line, all on page 3
    assert all(0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 for _, x0, y0, x1, y1 in cite.rects)
    assert [r[2] for r in cite.rects] == sorted(r[2] for r in cite.rects)  # top to bottom
    return answer


def test_a_wrapped_sentence_of_a_text_pdf_is_quoted_whole_with_page_and_boxes(indexed):
    assistant, _, _ = indexed
    check_cited(assistant, STEAM_QUESTION, "steam.pdf", STEAM_SENTENCE)
    doc = only(assistant, "steam.pdf")
    assert doc.title == "Steam Engines in Britain" and doc.pages == 4 and doc.ocr_pages == ""
    assert doc.date != "1804-02-21"                   # a date the body mentions is not the document's date
    text = assistant.document_text(doc.source)
    assert "Encyclopedia of Engineering" not in text and "\n3\n" not in text   # running header, page numbers


def test_a_scan_is_read_by_ocr_and_its_quote_has_page_and_boxes(indexed):
    assistant, report, _ = indexed
    check_cited(assistant, WARSAW_QUESTION, "warsaw-scan.pdf", WARSAW_SENTENCE)
    assert only(assistant, "warsaw-scan.pdf").ocr_pages == "1-3"
    assert report.ocr_pages == 3 and report.ocr_seconds > 0 and not report.unreadable_pages


def test_the_cli_and_the_served_sources_carry_the_page(indexed):
    from serve.openai_shapes import source

    assistant, _, _ = indexed
    index = str(assistant.settings.store.index_dir)
    run = subprocess.run([str(RAG), "ask", STEAM_QUESTION, "--index-dir", index], capture_output=True, text=True,
                         timeout=300, env=ui_env())
    assert run.returncode == 0 and "[1] steam.pdf, p. 3 — Steam Engines in Britain" in run.stdout, run.stdout
    as_json = subprocess.run([str(RAG), "ask", STEAM_QUESTION, "--index-dir", index, "--json"], capture_output=True,
                             text=True, timeout=300, env=ui_env())
    cited = json.loads(as_json.stdout)["citations"][0]
    assert cited["page"] == 3 and cited["rects"][0][0] == 3
    assert source(1, assistant.ask(STEAM_QUESTION).citations[0])["page"] == 3


def test_hyphenated_words_and_sentences_across_pages_are_joined(tmp_path):
    from index.readers import ReadOptions
    from index.readers.pdf import read_pdf

    pdf = write_text_pdf(tmp_path / "r.pdf", "Kestrel Valley Water Report", "Kestrel Water Board", [
        ["The reservoir was built in 1962 after a long dispute", "between the two counties. It is a fine exam-",
         "ple of a gravity dam. The Kestrel Valley reservoir holds 48 million", "cubic metres of water, according to the"],
        ["2019 survey by the board. Its dam is 40 metres high."]])
    text, hints, layout = read_pdf(pdf.read_bytes(), ReadOptions())
    assert "It is a fine example of a gravity dam." in text
    sentence = "The Kestrel Valley reservoir holds 48 million cubic metres of water, according to the 2019 survey by the board."
    assert sentence in text and hints["title"] == "Kestrel Valley Water Report"
    assert text.index("2019 survey") == layout.page_starts[1]
    assert "Kestrel Water Board" not in text


def test_a_page_ocr_cannot_read_is_reported(tmp_path, embedder):
    from reportlab.pdfgen import canvas

    from rag import Assistant

    path = tmp_path / "docs" / "mixed.pdf"
    path.parent.mkdir()
    pdf = canvas.Canvas(str(path))
    pdf.drawString(72, 700, "The Pellam orchard grows forty varieties of pear on its southern slope.")
    pdf.showPage()
    pdf.rect(72, 300, 300, 400, fill=1)                                 # a page with a picture and no text
    pdf.showPage()
    pdf.save()
    report = Assistant(tmp_path / "index", embedder=embedder).ingest([path.parent])
    assert report.added == [str(path)]
    assert report.unreadable_pages == [(str(path), "page 2: no text layer, and OCR found no text on it")]


def test_docx_citations_carry_the_nearest_heading(tmp_path, embedder):
    import docx

    from rag import Assistant

    document = docx.Document()
    document.add_heading("Orchards", level=1)
    document.add_paragraph("The Pellam orchard grows forty varieties of pear on its southern slope.")
    document.add_heading("Mills", level=1)
    document.add_paragraph("The Quenby mill grinds four tonnes of barley every week for the brewery.")
    (tmp_path / "docs").mkdir()
    document.save(tmp_path / "docs" / "farm.docx")
    assistant = Assistant(tmp_path / "index", embedder=embedder)
    assistant.ingest([tmp_path / "docs"])
    cite = assistant.ask("How much barley does the Quenby mill grind?").citations[0]
    assert "four tonnes of barley" in cite.quote and cite.heading == "Mills" and cite.page is None


def test_an_index_written_before_pages_were_recorded_is_still_read():
    from index.store import chunk_from, doc_from

    chunk = chunk_from("c", "Two.", {"source": "/a.pdf", "start": 5, "end": 9, "doc_hash": "h"})
    doc = doc_from({"source": "/a.pdf", "content_hash": "h", "chars": 9, "chunks": 1})
    from core.records import Citation

    cite = Citation.of(chunk, 5, 9, 1.0)
    assert (cite.page, cite.rects, cite.heading, doc.pages, doc.ocr_pages) == (None, (), "", 0, "")
