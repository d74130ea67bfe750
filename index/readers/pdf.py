"""PDF: the text layer of every page (pypdf); encrypted or image-only PDFs are refused with a reason."""
from __future__ import annotations

import io

from core.errors import BadDocument
from index.readers import reader


@reader(".pdf")
def read_pdf(data: bytes, _fallback: str) -> tuple[str, dict[str, str]]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        pdf = PdfReader(io.BytesIO(data))
        if pdf.is_encrypted:
            raise BadDocument("PDF is encrypted; decrypt it first")
        pages = [page.extract_text() or "" for page in pdf.pages]
        info = pdf.metadata or {}
    except BadDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError) as err:
        raise BadDocument(f"corrupt or unreadable PDF ({type(err).__name__})") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise BadDocument("PDF has no text layer (scanned image?); run OCR on it first")
    return text, {k: str(v) for k, v in {"title": info.get("/Title"), "author": info.get("/Author")}.items() if v}
