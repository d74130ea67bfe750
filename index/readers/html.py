"""HTML: visible text (scripts, navigation, headers and footers dropped) and the page's meta tags."""
from __future__ import annotations

from index.readers import ReadOptions, reader
from index.readers.plain import decode_text


@reader(".html", ".htm")
def read_html(data: bytes, options: ReadOptions) -> tuple[str, dict[str, str], None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data, options.fallback_encoding), "html.parser")
    hints = _hints(soup)
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "svg"]):
        tag.decompose()
    return soup.get_text("\n"), hints, None


def _hints(soup) -> dict[str, str]:
    def meta(*names: str) -> str:
        for name in names:
            tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
            if tag and tag.get("content"):
                return tag["content"].strip()
        return ""

    canonical = soup.find("link", rel="canonical")
    title = meta("og:title") or (soup.title.get_text().strip() if soup.title else "")
    return {k: v for k, v in {
        "title": title,
        "date": meta("article:published_time", "date", "pubdate", "dc.date"),
        "author": meta("author", "article:author", "dc.creator"),
        "url": meta("og:url") or (canonical.get("href", "") if canonical else ""),
    }.items() if v}
