"""The `web` source: a web site, listed from its sitemap or crawled within a URL prefix.

Every page is a document keyed by its URL (after redirects, which must stay inside the
prefix). Its version is its ETag and Last-Modified (and the sitemap's lastmod): the next scan
asks with If-None-Match / If-Modified-Since and a 304 is `Unchanged` without a body. A crawl
needs the links of pages it did not download: the cursor keeps each page's in-prefix links
(decision 0031). The site's robots.txt is obeyed, its Crawl-delay too, up to a limit.
"""

from __future__ import annotations

import codecs
import hashlib
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingest.sources.base import (
    Failed,
    Fetched,
    Item,
    ReaderContext,
    SourceUnavailable,
    Unchanged,
)
from ingest.sources.web_http import (
    Fetcher,
    Limits,
    NotModified,
    Page,
    PageFailed,
    Skipped,
    Stats,
    Validators,
    normalize,
)
from ingest.sources.web_parse import (
    SITEMAP_BYTES,
    Entry,
    PageLinks,
    UnreadableSitemap,
    page_links,
)
from ingest.sources.web_parse import read_sitemap as parse_sitemap

_MAX_SITEMAPS = 1000  # files of one sitemap index tree


class WebOptions(BaseModel):
    """A web source's options (`sources add --kind web`); URLs are http(s) only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str  # the page a crawl starts from (and, without `prefix`, whose folder is the site)
    sitemap: str | None = None  # list the pages from this sitemap (or index) instead of crawling
    prefix: str | None = None  # only URLs that start with it are pages of the source
    max_depth: int = Field(5, ge=0, le=1000)  # links followed from the start page (a crawl)
    max_pages: int = Field(1000, ge=1, le=1_000_000)
    timeout_seconds: float = Field(10.0, gt=0, le=600)  # per request
    delay_seconds: float = Field(0.0, ge=0, le=600)  # between requests (robots.txt may ask more)
    max_crawl_delay: float = Field(10.0, ge=0, le=3600)  # a site asking more is not synced
    user_agent: str = Field("pgask", pattern=r"^[\x20-\x7e]{1,200}$")  # no CR/LF: a header

    @field_validator("url", "sitemap", "prefix")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value.strip())
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a URL ({exc})") from exc
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return normalize(value.strip())

    @model_validator(mode="after")
    def _inside(self) -> WebOptions:
        if not self.sitemap and not self.url.startswith(site_prefix(self)):
            raise ValueError(f"the start page {self.url} is outside the prefix {self.prefix}")
        return self


def site_prefix(options: WebOptions) -> str:
    """The prefix every page's URL starts with: given, or the start page's folder."""
    if options.prefix:
        return normalize(options.prefix)
    url = normalize(options.url)
    return url[: url.rindex("/") + 1]


@dataclass
class _Scan:
    """One scan's state: what was yielded, what was skipped and why."""

    fetcher: Fetcher
    known: Mapping[str, str]
    max_pages: int
    yielded: set[str] = field(default_factory=set)
    skipped: Counter[str] = field(default_factory=Counter)
    stopped: str | None = None

    def full(self) -> bool:
        return len(self.yielded) >= self.max_pages

    def version(self, url: str) -> Validators:
        return Validators.decode(self.known.get(url))

    def visit(
        self, url: str, *, lastmod: str | None = None, conditional: bool = True
    ) -> tuple[Item | None, PageLinks | None]:
        """Fetch one page: the item to yield (None for a page that is not one of the source,
        or was already yielded under its redirect target's URL) and, for HTML, its links."""
        outcome = self.fetcher.get(url, self.version if conditional else _no_version)
        if isinstance(outcome, Skipped):
            self.skipped[outcome.why] += 1
            return None, None
        if outcome.url in self.yielded:
            return None, None
        item: Item
        links = None
        if isinstance(outcome, NotModified):
            item = Unchanged(outcome.url)
        elif isinstance(outcome, PageFailed):
            item = Failed(outcome.url, outcome.reason)
        else:
            if outcome.media_type in {"text/html", "application/xhtml+xml"}:
                links = page_links(outcome.url, outcome.data)
                if links.noindex:
                    self.skipped["robots meta tag says noindex"] += 1
                    return None, links
            item = self._fetched(outcome, lastmod)
        self.yielded.add(item.key)
        return item, links

    def _fetched(self, page: Page, lastmod: str | None) -> Fetched | Unchanged:
        validators = page.validators
        if not validators.etag and not validators.modified:
            validators = Validators(digest=hashlib.sha256(page.data).hexdigest())
        version = Validators(
            validators.etag, validators.modified, lastmod, validators.digest
        ).encode()
        if self.known.get(page.url) == version:  # the server ignored the conditional request
            return Unchanged(page.url)
        data = _utf8(page.data, page.content_type)
        return Fetched(page.url, version, data, _name(page.url, page.suffix), page.content_type)

    def summary(self) -> dict[str, Any]:
        return {"pages": len(self.yielded), "stopped": self.stopped, "skipped": dict(self.skipped)}


def _no_version(_url: str) -> Validators:
    return Validators()


class WebReader:
    """Implements `ingest.sources.base.SourceReader` for a web site."""

    def __init__(self, options: WebOptions, context: ReaderContext) -> None:
        self.options = options
        self.max_bytes = context.max_file_bytes
        self.prefix = site_prefix(options)
        self.stats = Stats()
        self._cursor: dict[str, Any] = {}

    def cursor(self) -> dict[str, Any]:
        return self._cursor

    def scan(self, known: Mapping[str, str], cursor: Mapping[str, Any]) -> Iterator[Item]:
        o = self.options
        limits = Limits(
            self.max_bytes, o.timeout_seconds, o.max_crawl_delay, o.delay_seconds, o.user_agent
        )
        fetcher = Fetcher(self.prefix, limits, self.stats)
        scan = _Scan(fetcher, known, o.max_pages)
        try:
            fetcher.read_robots()
            if o.sitemap:
                yield from self._from_sitemap(scan, o.sitemap)
                self._cursor = scan.summary()
            else:
                links: dict[str, list[str]] = {}
                yield from self._crawl(scan, cursor.get("links") or {}, links)
                self._cursor = {**scan.summary(), "links": links}
        finally:
            fetcher.close()

    def _from_sitemap(self, scan: _Scan, sitemap: str) -> Iterator[Item]:
        """The pages the sitemap lists. When not one page of the source can be read from
        it (every page answers 404, or it lists none inside the prefix) while the source
        holds some, the source is unavailable: a deploy answering 404 everywhere behind a
        sitemap still served, or an emptied sitemap, would otherwise delete the whole site
        (a crawl's start page guards the same way: `_no_start_page`)."""
        for item in self._sitemap_pages(scan, sitemap):
            if item is not None:
                yield item
        if not scan.yielded and scan.known:
            why = ", ".join(f"{why}: {n}" for why, n in scan.skipped.items()) or "it lists none"
            raise SourceUnavailable(
                f"no page of the source could be read from the sitemap {sitemap} ({why});"
                " nothing is deleted"
            )

    def _sitemap_pages(self, scan: _Scan, sitemap: str) -> Iterator[Item | None]:
        """Each page of the sitemap visited: its item, or None for one not read."""
        for entry in self._sitemap_entries(scan.fetcher, sitemap):
            if not scan.fetcher.inside(entry.url):
                scan.skipped["listed outside the prefix"] += 1
            elif not scan.fetcher.allowed(entry.url):
                scan.skipped["disallowed by robots.txt"] += 1
            elif entry.url in scan.yielded:
                continue
            elif scan.full():
                scan.stopped = f"max_pages ({scan.max_pages}) reached: the sitemap lists more"
                return
            elif entry.lastmod and scan.version(entry.url).lastmod == entry.lastmod:
                scan.yielded.add(entry.url)
                yield Unchanged(entry.url)
            else:
                yield scan.visit(entry.url, lastmod=entry.lastmod)[0]

    def _sitemap_entries(self, fetcher: Fetcher, first: str) -> Iterator[Entry]:
        pending, seen = deque([first]), {first}
        while pending:
            url = pending.popleft()
            try:
                sitemap = parse_sitemap(url, fetcher.get_plain(url, SITEMAP_BYTES))
            except UnreadableSitemap as exc:
                raise SourceUnavailable(f"sitemap {url}: {exc}") from exc
            yield from sitemap.pages
            for child in sitemap.sitemaps:
                if child not in seen:
                    seen.add(child)
                    pending.append(child)
            if len(seen) > _MAX_SITEMAPS:
                raise SourceUnavailable(f"sitemap {first} names more than {_MAX_SITEMAPS} files")

    def _crawl(
        self, scan: _Scan, cached: Mapping[str, list[str]], links: dict[str, list[str]]
    ) -> Iterator[Item]:
        """Breadth first from the start page, to `max_depth` links away. A page not
        downloaded (304, failed) is walked through by its links from the last scan (`cached`);
        one with none cached is downloaded whole, unless its links would not be followed."""
        start = self.options.url
        queue, queued = deque([(start, 0)]), {start}
        while queue:
            if scan.full():
                scan.stopped = f"max_pages ({scan.max_pages}) reached: {len(queue)} links not read"
                return
            url, depth = queue.popleft()
            if not scan.fetcher.allowed(url):
                _no_start_page(depth, url, "robots.txt disallows it")
                scan.skipped["disallowed by robots.txt"] += 1
                continue
            relative = url[len(self.prefix) :]
            follow = depth < self.options.max_depth
            item, found = scan.visit(url, conditional=relative in cached or not follow)
            if found is not None:
                inside = [u for u in found.links if scan.fetcher.inside(u)]
                links[relative] = [] if found.nofollow else [u[len(self.prefix) :] for u in inside]
            elif isinstance(item, Unchanged | Failed) and relative in cached:
                links[relative] = cached[relative]
            if depth == 0 and relative not in links and not isinstance(item, Fetched | Unchanged):
                why = item.reason if item else "not a page (a 404, another type, a redirect away)"
                _no_start_page(depth, url, why)
            if item is not None:
                yield item
            for child in links.get(relative, []) if follow else []:
                absolute_url = self.prefix + child
                if absolute_url not in queued:
                    queued.add(absolute_url)
                    queue.append((absolute_url, depth + 1))


def _no_start_page(depth: int, url: str, why: str) -> None:
    """A crawl whose start page gives no links lists nothing: that must not delete the site
    (a deploy answering 404 or 500 everywhere, a robots.txt closed for a while)."""
    if depth == 0:
        raise SourceUnavailable(f"the start page {url} cannot be crawled: {why}")


def _name(url: str, suffix: str) -> str:
    """A file name for the loader: the URL's host and path, with the suffix of its type."""
    parts = urlsplit(url)
    name = parts.netloc + (parts.path if not parts.path.endswith("/") else parts.path + "index")
    lower = name.lower()
    if lower.endswith(suffix) or (suffix == ".html" and lower.endswith(".htm")):
        return name
    return name + suffix


def _utf8(data: bytes, content_type: str) -> bytes:
    """Text in the charset its Content-Type names, as UTF-8 (what the loaders read)."""
    charset = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if not charset or not content_type.lower().startswith(("text/", "application/xhtml")):
        return data
    try:
        if codecs.lookup(charset).name == "utf-8":
            return data
        return data.decode(charset).encode("utf-8")
    except (LookupError, UnicodeDecodeError):
        return data
