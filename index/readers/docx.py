"""Word .docx: paragraph text and the core properties; non-zip files and zip bombs are refused."""
from __future__ import annotations

import io
import zipfile

from core.errors import BadDocument
from index.layout import Layout
from index.readers import ReadOptions, reader

ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100


@reader(".docx")
def read_docx(data: bytes, _options: ReadOptions) -> tuple[str, dict[str, str], Layout]:
    check_zip(data)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as err:  # python-docx raises many unrelated types for bad packages
        raise BadDocument(f"not a valid .docx document ({type(err).__name__})") from None
    text = "\n".join(p.text for p in document.paragraphs)
    props = document.core_properties
    hints = {k: v for k, v in {"title": props.title or "", "author": props.author or ""}.items() if v}
    return text, hints, Layout(headings=_headings(document.paragraphs))


def _headings(paragraphs) -> list[list]:
    """[offset in the raw text, text] of each heading paragraph (style Heading n or Title)."""
    found, offset = [], 0
    for paragraph in paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.startswith(("Heading", "Title")) and paragraph.text.strip():
            found.append([offset, paragraph.text.strip()])
        offset += len(paragraph.text) + 1
    return found


def check_zip(data: bytes) -> None:
    """Refuse archives that are not zips or that would inflate absurdly (zip bombs)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise BadDocument("not a valid .docx document (not a zip package)") from None
    if total > ZIP_MAX_UNCOMPRESSED or total > ZIP_MAX_RATIO * max(len(data), 1) + 10_000_000:
        raise BadDocument(f"refused: archive would expand to {total / 1e6:.0f} MB (zip bomb?)")
