"""HTTP for the web reader: one page's conditional GET, kept inside the prefix, size-capped.

`Fetcher.get` answers with what became of one URL (`Page`, `NotModified`, `Skipped`,
`PageFailed`) and raises `SourceUnavailable` when the site itself cannot be reached: the
reader must then stop, because a listing it cannot finish must delete nothing.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from ingest.loaders import file_format
from ingest.sources.base import SourceUnavailable, too_large

# What pgask reads (ingest.loaders, ingest.formats), by media type: the suffix the page's name
# gets. A server that only says application/octet-stream is believed by the URL's suffix.
_OOXML = "application/vnd.openxmlformats-officedocument"
READABLE = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/x-rst": ".rst",
    "text/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "application/pdf": ".pdf",
    f"{_OOXML}.wordprocessingml.document": ".docx",
    f"{_OOXML}.presentationml.presentation": ".pptx",
    f"{_OOXML}.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/epub+zip": ".epub",
    "message/rfc822": ".eml",
}
_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_HOPS = 5
_GONE = {404, 410}
_WHOLE_BODY = 4  # a page's body may take this many times the timeout, in all


@dataclass(frozen=True)
class Validators:
    """A page's version: its ETag and Last-Modified, and the sitemap's lastmod for it.

    Encoded as compact JSON so one opaque `version` string carries all three: ETags may hold
    any character, and a request needs to know which validator it is sending back."""

    etag: str | None = None
    modified: str | None = None
    lastmod: str | None = None
    digest: str | None = None  # for a page that sends neither validator

    def encode(self) -> str:
        fields = {k: v for k, v in vars(self).items() if v is not None}
        return json.dumps(fields, sort_keys=True, separators=(",", ":"))

    @classmethod
    def decode(cls, version: str | None) -> Validators:
        try:
            fields = json.loads(version or "{}")
        except ValueError:
            return cls()
        if not isinstance(fields, dict):
            return cls()
        names = ("etag", "modified", "lastmod", "digest")
        return cls(**{k: v for k, v in fields.items() if k in names and isinstance(v, str)})

    def conditional(self) -> dict[str, str]:
        """The headers that turn a GET of this version into a 304 when nothing changed."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.modified:
            headers["If-Modified-Since"] = self.modified
        return headers


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    data: bytes
    media_type: str
    suffix: str  # of the format it is read as
    content_type: str
    validators: Validators


@dataclass(frozen=True)
class NotModified:
    url: str


@dataclass(frozen=True)
class Skipped:
    """Not a page of the source: gone (404/410), another media type, or led outside it."""

    url: str
    why: str


@dataclass(frozen=True)
class PageFailed:
    url: str
    reason: str


Outcome = Page | NotModified | Skipped | PageFailed


def normalize(url: str) -> str:
    """One spelling per page: lower-case scheme and host, no default port, no fragment."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    netloc = host if ":" not in host else f"[{host}]"
    if parts.port is not None and (scheme, parts.port) not in {("http", 80), ("https", 443)}:
        netloc += f":{parts.port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def absolute(base: str, href: str) -> str | None:
    """`href` resolved against `base`, normalized; None for a link that is not http(s)."""
    try:
        url = urljoin(base, href.strip())
        if urlsplit(url).scheme not in {"http", "https"}:
            return None
        return normalize(url)
    except ValueError:  # an invalid port or IPv6 literal in a page's link
        return None


@dataclass(frozen=True)
class Limits:
    max_page_bytes: int
    timeout: float
    max_crawl_delay: float
    delay: float
    user_agent: str


@dataclass
class Stats:
    requests: int = 0
    bytes: int = 0  # as received, compressed or not
    not_modified: int = 0


@dataclass
class Fetcher:
    """One site's HTTP client: robots.txt, politeness delay, conditional GETs, caps."""

    prefix: str
    limits: Limits
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            timeout=self.limits.timeout,
            follow_redirects=False,
            headers={"User-Agent": self.limits.user_agent, "Accept-Encoding": "gzip"},
        )
        self._robots = RobotFileParser()
        self._delay = self.limits.delay
        self._last = 0.0

    def close(self) -> None:
        self._client.close()

    def inside(self, url: str) -> bool:
        return url.startswith(self.prefix)

    def allowed(self, url: str) -> bool:
        return self._robots.can_fetch(self.limits.user_agent, url)

    def read_robots(self) -> None:
        """Read the site's robots.txt (RFC 9309). A 4xx means no rules; a 5xx or no answer
        means the site cannot be crawled now."""
        url = urljoin(self.prefix, "/robots.txt")
        try:
            with closing(self._send(url, {})) as response:
                status = response.status_code
                body = self._body(url, response, 512 * 1024) if status == 200 else b""
        except _PageTimeout as exc:
            raise SourceUnavailable(f"{url} did not answer in time") from exc
        if status >= 500 or body is None:
            raise SourceUnavailable(f"{url} answered {status}: the site cannot be crawled now")
        self._robots.parse(body.decode("utf-8", "replace").splitlines())
        self._obey_crawl_delay(url)

    def _obey_crawl_delay(self, url: str) -> None:
        agent = self.limits.user_agent
        asked = float(self._robots.crawl_delay(agent) or 0)
        if rate := self._robots.request_rate(agent):
            asked = max(asked, rate.seconds / max(rate.requests, 1))
        if asked > self.limits.max_crawl_delay:
            # Honouring it would take hours on a large site; ignoring it would be rude.
            raise SourceUnavailable(
                f"{url} asks for {asked:g} s between requests, more than max_crawl_delay "
                f"({self.limits.max_crawl_delay:g} s): raise it to sync this site"
            )
        self._delay = max(self._delay, asked)

    def get(self, url: str, known: Callable[[str], Validators]) -> Outcome:
        """GET `url` (conditionally, with the validators `known` has for it or for a page it
        redirects to), following redirects that stay inside the prefix and robots.txt."""
        for _ in range(_MAX_HOPS):
            try:
                with closing(self._send(url, known(url).conditional())) as response:
                    if response.status_code not in _REDIRECTS:
                        return self._outcome(url, response)
                    target = absolute(url, response.headers.get("location", ""))
            except _PageTimeout:
                return PageFailed(url, f"no answer in {self.limits.timeout:g} s")
            if target is None or not self.inside(target):
                return Skipped(url, "redirected outside the prefix")
            if not self.allowed(target):
                return Skipped(url, "redirected to a page robots.txt disallows")
            url = target
        return PageFailed(url, f"more than {_MAX_HOPS} redirects")

    def get_plain(self, url: str, cap: int) -> bytes:
        """A sitemap's bytes; anything but a 200 means the listing cannot be read."""
        try:
            with closing(self._send(url, {})) as response:
                if response.status_code != 200:
                    raise SourceUnavailable(f"{url} answered {response.status_code}")
                data = self._body(url, response, cap)
        except _PageTimeout as exc:
            raise SourceUnavailable(f"{url} did not answer in time") from exc
        if data is None:
            raise SourceUnavailable(f"{url} is larger than {cap} bytes")
        return data

    def _outcome(self, url: str, response: httpx.Response) -> Outcome:
        status = response.status_code
        if status == 304:
            self.stats.not_modified += 1
            return NotModified(url)
        if status in _GONE:
            return Skipped(url, f"HTTP {status}")
        if status != 200:
            return PageFailed(url, f"HTTP {status}")
        content_type = response.headers.get("content-type", "")
        media_type = content_type.split(";")[0].strip().lower()
        suffix = READABLE.get(media_type) or _suffix_of(url, media_type)
        if suffix is None:
            return Skipped(url, f"not a readable type ({media_type or 'none given'})")
        length = response.headers.get("content-length", "")
        cap = self.limits.max_page_bytes
        if length.isdigit() and int(length) > cap:
            return PageFailed(url, too_large(int(length), cap))
        data = self._body(url, response, cap)
        if data is None:
            return PageFailed(url, too_large(cap + 1, cap))
        validators = Validators(
            etag=response.headers.get("etag"), modified=response.headers.get("last-modified")
        )
        return Page(url, data, media_type, suffix, content_type, validators)

    def _body(self, url: str, response: httpx.Response, cap: int) -> bytes | None:
        try:
            deadline = time.monotonic() + _WHOLE_BODY * self.limits.timeout
            return _read_capped(response, cap, self.stats, deadline)
        except httpx.TimeoutException as exc:
            raise _PageTimeout(url) from exc
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"{url}: the connection broke ({exc})") from exc

    def _send(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """Send one GET (streamed: the body is read, capped, by the caller). A connection that
        fails twice means the site is down."""
        for attempt in (1, 2):
            self._wait()
            try:
                request = self._client.build_request("GET", url, headers=headers)
                response = self._client.send(request, stream=True)
            except httpx.ReadTimeout as exc:
                raise _PageTimeout(url) from exc
            except httpx.TransportError as exc:
                if attempt == 2:
                    raise SourceUnavailable(f"{url}: the site did not answer ({exc})") from exc
                continue
            self.stats.requests += 1
            return response
        raise AssertionError("unreachable")

    def _wait(self) -> None:
        pause = self._last + self._delay - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self._last = time.monotonic()


def _suffix_of(url: str, media_type: str) -> str | None:
    """The URL's suffix, for a body whose type the server does not name."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if media_type in {"", "application/octet-stream"} and file_format(f"x{suffix}"):
        return suffix
    return None


class _PageTimeout(Exception):
    """One page did not answer in time: that page fails, the scan goes on."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _read_capped(response: httpx.Response, cap: int, stats: Stats, deadline: float) -> bytes | None:
    """The body, gunzipped as it arrives; None once it passes `cap` bytes (a gzip bomb stops
    there too: each step of decompression is bounded). A body still arriving at `deadline`
    (a server sending a byte at a time) times out."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in {"identity", "gzip", "x-gzip"}:
        return None
    inflate = zlib.decompressobj(wbits=31) if encoding != "identity" else None
    out = bytearray()
    for raw in response.iter_raw():
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the body took too long", request=response.request)
        stats.bytes += len(raw)
        chunk = raw
        while chunk:
            if inflate is None:
                piece, chunk = chunk, b""
            else:
                piece = inflate.decompress(chunk, cap + 1 - len(out))
                chunk = inflate.unconsumed_tail
            out += piece
            if len(out) > cap:
                return None
    return bytes(out)
