"""EPUB e-books: the chapters in spine order, each XHTML page read by the HTML reader
(ingest/html_text.py: headings become sections, tables Markdown tables, code fenced).

The package document (OPF) gives the title and the spine; the navigation document and the
NCX are tables of contents and are not read as text. Pictures are skipped with a note.
"""

from __future__ import annotations

import posixpath
import re

from app.errors import InvalidInput
from ingest.formats.model import Outline, Parsed
from ingest.formats.safety import SafeZip

_OPF = "{http://www.idpf.org/2007/opf}"
_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_PAGES = ("application/xhtml+xml", "text/html")
# A DOCTYPE that declares entities: refused, as in every XML part (BeautifulSoup would not
# expand them, but no real chapter needs them).
_ENTITY = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.IGNORECASE)


def _rootfile(package: SafeZip) -> str:
    container = package.xml("META-INF/container.xml")
    rootfile = container.find(f".//{_CONTAINER}rootfile")
    path = rootfile.get("full-path", "") if rootfile is not None else ""
    if path not in package.names:
        raise InvalidInput("not a valid EPUB file: its container names no package document")
    return path


def read_epub(data: bytes) -> Parsed:
    from ingest.html_text import html_page

    package = SafeZip(data, "EPUB")
    opf_path = _rootfile(package)
    opf = package.xml(opf_path)
    folder = posixpath.dirname(opf_path)
    items: dict[str, str] = {}
    outline = Outline()
    for item in opf.iter(f"{_OPF}item"):
        href = posixpath.normpath(posixpath.join(folder, item.get("href", "")))
        media = item.get("media-type", "")
        outline.images += media.startswith("image/")
        if media in _PAGES and "nav" not in (item.get("properties") or "").split():
            items[item.get("id") or ""] = href
    for ref in opf.iter(f"{_OPF}itemref"):
        page_path = items.get(ref.get("idref") or "")
        if page_path is None or page_path not in package.names:
            continue
        raw = package.read(page_path)
        if _ENTITY.search(raw[:65536]):
            raise InvalidInput(f"XML entity declarations refused in {page_path}")
        page = html_page(raw.decode("utf-8", errors="replace"))
        for path, parts in page.sections:
            outline.path = path
            outline.parts = list(parts)
            outline.flush()
    parsed = outline.done()
    parsed.title = " ".join((opf.findtext(f".//{_DC_TITLE}") or "").split())
    if not parsed.title and parsed.sections and parsed.sections[0].path:
        parsed.title = parsed.sections[0].path[0]
    return parsed
