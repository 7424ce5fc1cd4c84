"""What the web reader reads out of pages and sitemaps: links, robots meta tags, entries.

Both parsers are given untrusted bytes from a server: HTML through the standard library's
tolerant parser (no tree is built, only links are kept), sitemaps through ElementTree with
DTDs refused, so no entity can expand (sitemaps.org documents never declare one).
"""

from __future__ import annotations

import gzip
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ingest.sources.web_http import absolute

# sitemaps.org: at most 50,000 URLs and 50 MB (uncompressed) per sitemap file.
SITEMAP_BYTES = 50 * 1024 * 1024


@dataclass
class PageLinks:
    links: list[str] = field(default_factory=list)  # absolute, normalized, in page order
    noindex: bool = False  # <meta name="robots" content="noindex">: not a document
    nofollow: bool = False  # ... "nofollow": its links are not followed


class _LinkParser(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = url
        self.found = PageLinks()
        self._hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in {"a", "area"} and "href" in values and "nofollow" not in values.get("rel", ""):
            self._hrefs.append(values["href"])
        elif tag == "base" and values.get("href"):
            self.base = absolute(self.base, values["href"]) or self.base
        elif tag == "meta" and values.get("name", "").lower() == "robots":
            words = {word.strip() for word in values.get("content", "").lower().split(",")}
            self.found.noindex |= bool(words & {"noindex", "none"})
            self.found.nofollow |= bool(words & {"nofollow", "none"})

    def links(self) -> PageLinks:
        seen: set[str] = set()
        for href in self._hrefs:
            url = absolute(self.base, href)
            if url is not None and url not in seen:
                seen.add(url)
                self.found.links.append(url)
        return self.found


def page_links(url: str, html: bytes) -> PageLinks:
    """The links of the HTML page at `url` (resolved against its <base>), and its robots tags."""
    parser = _LinkParser(url)
    parser.feed(html.decode("utf-8", "replace"))
    parser.close()
    return parser.links()


@dataclass(frozen=True)
class Entry:
    url: str
    lastmod: str | None


@dataclass
class Sitemap:
    pages: list[Entry] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # of a sitemap index


class UnreadableSitemap(ValueError):
    pass


def read_sitemap(url: str, data: bytes) -> Sitemap:
    """The pages (a <urlset>) or sitemaps (a <sitemapindex>) a sitemap file lists; gzip or not."""
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data)
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise UnreadableSitemap("declares a DTD or an entity")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise UnreadableSitemap(f"not XML ({exc})") from exc
    found = Sitemap()
    kind = _local(root.tag)
    if kind not in {"urlset", "sitemapindex"}:
        raise UnreadableSitemap(f"<{kind}> is neither a urlset nor a sitemapindex")
    for element in root:
        fields = {_local(child.tag): (child.text or "").strip() for child in element}
        location = absolute(url, fields.get("loc", "")) if fields.get("loc") else None
        if location is None:
            continue
        if kind == "sitemapindex":
            found.sitemaps.append(location)
        else:
            found.pages.append(Entry(location, fields.get("lastmod") or None))
    return found


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _gunzip(data: bytes) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as file:
            out = file.read(SITEMAP_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise UnreadableSitemap(f"broken gzip ({exc})") from exc
    if len(out) > SITEMAP_BYTES:
        raise UnreadableSitemap(f"larger than {SITEMAP_BYTES} bytes uncompressed")
    return out
