"""PDFs for the tests, made from real text (SQuAD 2.0 dev paragraphs of Wikipedia, CC BY-SA): a multi-page text
PDF with a title, a running header and page numbers, and an image-only copy of a PDF (a scan)."""
from __future__ import annotations

import io
from pathlib import Path

STEAM = [
    "Steam engines are external combustion engines, where the working fluid is separate from the combustion "
    "products. Non-combustion heat sources such as solar power, nuclear power or geothermal energy may be used. "
    "The ideal thermodynamic cycle used to analyze this process is called the Rankine cycle.",
    "The first full-scale working railway steam locomotive was built by Richard Trevithick in the United Kingdom "
    "and, on 21 February 1804, the world's first railway journey took place. The design incorporated a number of "
    "important innovations that included using high-pressure steam which reduced the weight of the engine.",
    "The first commercially successful true engine, in that it could generate power and transmit it to a machine, "
    "was the atmospheric engine, invented by Thomas Newcomen around 1712. It was an improvement over Savery's steam "
    "pump, using a piston as proposed by Papin.",
    "The Rankine cycle and most practical steam engines have a water pump to recycle or top up the boiler water, "
    "so that they may be run continuously. Injectors became popular in the 1850s but are no longer widely used, "
    "except in applications such as steam locomotives.",
]
STEAM_QUESTION = "Who invented the atmospheric engine?"
STEAM_SENTENCE = STEAM[2].split(" It was")[0]

WARSAW = [
    "Warsaw is the capital and largest city of Poland. It stands on the Vistula River in east-central Poland, "
    "roughly 260 kilometres from the Baltic Sea and 300 kilometres from the Carpathian Mountains.",
    "In 2012 the Economist Intelligence Unit ranked Warsaw as the 32nd most liveable city in the world. The Warsaw "
    "Stock Exchange is one of the largest and most important in Central and Eastern Europe.",
    "The city possesses various universities, most notably the Polish Academy of Sciences and the University of "
    "Warsaw. The historic city-centre of Warsaw with its picturesque Old Town in 1980 was listed as a UNESCO World "
    "Heritage Site. Buildings represent examples of nearly every European architectural style.",
]
WARSAW_QUESTION = "What was the Old Town of Warsaw listed as in 1980?"
WARSAW_SENTENCE = ("The historic city-centre of Warsaw with its picturesque Old Town in 1980 was listed as a UNESCO "
                   "World Heritage Site.")


def write_text_pdf(path: Path, title: str, header: str, pages: list, width: float = 300) -> Path:
    """One paragraph a page, wrapped at `width` points (so long sentences run over lines), under a large
    title on page 1, with a running header and a page number on every page. A page given as a list of
    strings is drawn as exactly those lines."""
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=(612, 792))
    pdf.setTitle("")
    for number, paragraph in enumerate(pages, 1):
        pdf.setFont("Helvetica", 9)
        pdf.drawString(72, 760, header)
        pdf.drawString(300, 40, str(number))
        y = 700
        if number == 1:
            pdf.setFont("Helvetica-Bold", 22)
            pdf.drawString(72, y, title)
            y -= 50
        pdf.setFont("Helvetica", 12)
        lines = paragraph if isinstance(paragraph, list) else simpleSplit(paragraph, "Helvetica", 12, width)
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 15
        pdf.showPage()
    pdf.save()
    return path


def write_scan(text_pdf: Path, path: Path, dpi: int = 150) -> Path:
    """An image-only PDF: each page of `text_pdf` rendered to an image (no text layer left), as a scanner makes."""
    from PIL import Image

    from index.readers.pdf import page_count, render_page

    images = [Image.open(io.BytesIO(render_page(str(text_pdf), n, width=int(8.5 * dpi)))).convert("RGB")
              for n in range(1, page_count(str(text_pdf)) + 1)]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=dpi)
    return path
