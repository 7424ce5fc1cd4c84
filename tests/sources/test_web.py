"""The web reader against a real HTTP server on 127.0.0.1 (http.server in a thread) serving
a generated site: robots.txt, a sitemap index (one part gzipped), ETags and Last-Modified,
304s, redirects, a page too large and a server error, and the server stopped mid-scan."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ingest.sources.base import Failed, Fetched, ReaderContext, SourceUnavailable, Unchanged
from ingest.sources.web import WebOptions, WebReader
from tests.sources.web_site import Server, serving


@pytest.fixture
def server() -> Iterator[Server]:
    with serving() as running:
        yield running


def _reader(max_bytes: int = 2**20, **options: Any) -> WebReader:
    context = ReaderContext(work_dir=Path("/nonexistent"), max_file_bytes=max_bytes)
    return WebReader(WebOptions(**options), context)


def _scan(reader: WebReader, known: dict[str, str], cursor: dict) -> dict[str, object]:
    """Items by key, checking each key comes once; `known` becomes the versions now held."""
    items: dict[str, object] = {}
    for item in reader.scan(known, cursor):
        assert item.key not in items
        items[item.key] = item
        if isinstance(item, Fetched):
            known[item.key] = item.version
    for key in set(known) - set(items):
        del known[key]
    return items


def test_crawl_reads_changes_and_answers_304s_without_bodies(server: Server) -> None:
    site, docs = server.site, f"{server.url}/docs/"
    site.put("/robots.txt", "User-agent: *\nDisallow: /docs/private.html\n", "text/plain")
    site.html("/docs/", "Home.", "a.html", "b.html", "private.html", "/other/x.html", etag='"i1"')
    site.html("/docs/a.html", "Alpha.", "logo.png", "old.html#top", etag='"a1"')
    site.put("/docs/logo.png", b"\x89PNG", "image/png")
    site.put("/docs/old.html", "", Location=f"{docs}b.html")
    site.html("/docs/b.html", "Beta.", "c.txt", etag='"b1"')
    site.put("/docs/c.txt", "Gâmma.".encode("latin-1"), "text/plain; charset=latin-1", ETag="c")
    site.html("/docs/private.html", "Secret.")
    reader = _reader(url=docs)
    known: dict[str, str] = {}

    first = _scan(reader, known, {})
    assert sorted(first) == [docs, f"{docs}a.html", f"{docs}b.html", f"{docs}c.txt"]
    assert all(isinstance(item, Fetched) for item in first.values())
    page = first[f"{docs}c.txt"]
    assert isinstance(page, Fetched) and page.name.endswith("/docs/c.txt")
    assert page.data == "Gâmma.".encode()  # as UTF-8, what the loaders read
    assert first[docs].name.endswith("/docs/index.html")  # type: ignore[attr-defined]
    assert site.statuses("/docs/private.html") == [] and site.statuses("/other/x.html") == []
    cursor = reader.cursor()
    assert cursor["links"][""] == ["a.html", "b.html", "private.html"]
    assert cursor["skipped"] == {
        "not a readable type (image/png)": 1,
        "disallowed by robots.txt": 1,
    }

    site.html("/docs/b.html", "Beta, changed.", "d.html", etag='"b2"')  # c.txt unlinked
    site.html("/docs/d.html", "Delta, new.")
    site.log.clear()
    second = _scan(reader, known, cursor)
    assert sorted(second) == [docs, f"{docs}a.html", f"{docs}b.html", f"{docs}d.html"]
    assert isinstance(second[docs], Unchanged) and isinstance(second[f"{docs}a.html"], Unchanged)
    assert site.statuses("/docs/") == [304] and site.statuses("/docs/a.html") == [304]
    changed = second[f"{docs}b.html"]
    assert isinstance(changed, Fetched) and b"Beta, changed." in changed.data
    assert isinstance(second[f"{docs}d.html"], Fetched)


def test_sitemap_index_gzip_and_lastmod(server: Server) -> None:
    site, docs = server.site, f"{server.url}/docs/"

    def urlset(*entries: tuple[str, str]) -> str:
        urls = "".join(f"<url><loc>{u}</loc><lastmod>{m}</lastmod></url>" for u, m in entries)
        return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'

    site.put("/robots.txt", b"", "text/plain", Status="404")
    site.put(
        "/docs/sitemap.xml",
        "<sitemapindex><sitemap><loc>one.xml.gz</loc></sitemap>"
        "<sitemap><loc>two.xml</loc></sitemap></sitemapindex>",
        "application/xml",
    )
    site.put("/docs/one.xml.gz", gzip.compress(urlset(("a.html", "1")).encode()), "x/gzip")
    listed = [("b.pdf", "1"), ("/elsewhere.html", "1"), ("notes.md", "1"), ("data.bin", "1")]
    site.put("/docs/two.xml", urlset(*listed), "text/xml")
    site.put("/docs/notes.md", "# Notes", "application/octet-stream")  # named by its suffix
    site.put("/docs/data.bin", b"\x00\x01", "application/octet-stream")
    site.html("/docs/a.html", "Alpha.", etag='"a1"')
    site.put("/docs/b.pdf", b"%PDF-1.4 ...", "application/pdf", Last_Modified="Mon, 1 Jan 2024")
    reader = _reader(url=docs, sitemap=f"{docs}sitemap.xml")
    known: dict[str, str] = {}
    first = _scan(reader, known, {})
    assert sorted(first) == [f"{docs}a.html", f"{docs}b.pdf", f"{docs}notes.md"]
    assert first[f"{docs}notes.md"].name.endswith("/docs/notes.md")  # type: ignore[attr-defined]
    assert reader.cursor()["skipped"] == {
        "listed outside the prefix": 1,
        "not a readable type (application/octet-stream)": 1,
    }

    site.put("/docs/two.xml", urlset(("b.pdf", "2")), "text/xml")
    site.log.clear()
    second = _scan(reader, known, reader.cursor())
    assert isinstance(second[f"{docs}a.html"], Unchanged)
    assert site.statuses("/docs/a.html") == []  # its lastmod is the same: not even asked
    assert site.statuses("/docs/b.pdf") == [200]  # headers are case-insensitive: no 304 here


def test_limits_failures_and_redirects(server: Server) -> None:
    site, docs = server.site, f"{server.url}/docs/"
    site.put("/robots.txt", "User-agent: *\nCrawl-delay: 0\n", "text/plain")
    links = ["big.html", "broken.html", "away.html", "moved.html", "more.html"]
    site.html("/docs/", "Home.", *links)
    site.html("/docs/big.html", "x" * 5000)
    site.put("/docs/broken.html", "oops", Status="500")
    site.put("/docs/moved.html", "", Location=f"{docs}new.html", Status="308")
    site.put("/docs/away.html", "", Location=f"{server.url}/elsewhere.html")
    site.html("/docs/new.html", "New home.")
    site.html("/docs/more.html", "Past the page limit.")
    reader = _reader(url=docs, max_pages=4, max_bytes=1000)
    items = _scan(reader, {}, {})
    assert isinstance(items[f"{docs}big.html"], Failed)
    assert "PGASK_INGEST_MAX_FILE_MB" in items[f"{docs}big.html"].reason  # type: ignore[attr-defined]
    assert items[f"{docs}broken.html"] == Failed(f"{docs}broken.html", "HTTP 500")
    assert isinstance(items[f"{docs}new.html"], Fetched) and len(items) == 4
    cursor = reader.cursor()
    assert cursor["skipped"] == {"redirected outside the prefix": 1}
    assert cursor["stopped"] == "max_pages (4) reached: 1 links not read"


@pytest.mark.parametrize(
    ("robots", "sitemap", "home"),
    [
        ("User-agent: *\nCrawl-delay: 60\n", None, "200"),
        ("", "sitemap.xml", "200"),
        ("", None, "500"),
        ("", None, "404"),
        ("User-agent: *\nDisallow: /docs/\n", None, "200"),
    ],
    ids=["crawl-delay-too-long", "sitemap-not-xml", "home-500", "home-404", "home-disallowed"],
)
def test_a_site_that_cannot_be_listed_is_unavailable(
    server: Server, robots: str, sitemap: str | None, home: str
) -> None:
    """Each would otherwise list nothing, and the sync would delete every page it has."""
    docs = f"{server.url}/docs/"
    server.site.put("/robots.txt", robots, "text/plain")
    server.site.put("/docs/sitemap.xml", "<html>not a sitemap</html>")
    server.site.put("/docs/", "<a href='a.html'>A</a>", Status=home)
    reader = _reader(url=docs, sitemap=sitemap and f"{docs}{sitemap}")
    with pytest.raises(SourceUnavailable):
        list(reader.scan({f"{docs}a.html": "{}"}, {}))


@pytest.mark.parametrize("pages", [["a.html", "b.html"], [], ["/elsewhere.html"]])
def test_a_sitemap_whose_pages_cannot_be_read_deletes_nothing(
    server: Server, pages: list[str]
) -> None:
    """A deploy answering 404 for every page behind a sitemap still served, an emptied
    sitemap, or one listing no page inside the prefix: the scan is unavailable (so the sync
    deletes nothing) while the source holds pages; a source holding none just finds none."""
    docs = f"{server.url}/docs/"
    urls = "".join(f"<url><loc>{page}</loc></url>" for page in pages)
    server.site.put("/robots.txt", b"", "text/plain", Status="404")
    server.site.put("/docs/sitemap.xml", f"<urlset>{urls}</urlset>", "application/xml")
    for page in pages:
        server.site.put(f"/docs/{page}", "gone", Status="404")
    reader = _reader(url=docs, sitemap=f"{docs}sitemap.xml")
    with pytest.raises(SourceUnavailable, match="nothing is deleted"):
        list(reader.scan({f"{docs}a.html": "{}"}, {}))
    assert list(_reader(url=docs, sitemap=f"{docs}sitemap.xml").scan({}, {})) == []
    # one page still read: the others are gone, as any deleted page
    server.site.html("/docs/c.html", "Still here.")
    server.site.put("/docs/sitemap.xml", f"<urlset>{urls}<url><loc>c.html</loc></url></urlset>")
    items = list(_reader(url=docs, sitemap=f"{docs}sitemap.xml").scan({f"{docs}a.html": "{}"}, {}))
    assert [item.key for item in items] == [f"{docs}c.html"]


def test_the_server_stopped_mid_scan_makes_the_scan_unavailable(server: Server) -> None:
    docs = f"{server.url}/docs/"
    server.site.html("/docs/", "Home.", "a.html", "b.html")
    server.site.html("/docs/a.html", "Alpha.")
    server.site.html("/docs/b.html", "Beta.")
    scan = _reader(url=docs, timeout_seconds=2).scan({}, {})
    assert next(scan).key == docs
    server.stop()
    with pytest.raises(SourceUnavailable, match="did not answer"):
        list(scan)


@pytest.mark.parametrize(
    "bad",
    [
        {"url": "ftp://127.0.0.1/docs/"},
        {"url": "http:///docs/"},
        {"url": "http://127.0.0.1:port/"},
        {"url": "http://127.0.0.1/docs/", "prefix": "http://127.0.0.1/other/"},
        {"url": "http://127.0.0.1/", "user_agent": "pgask\r\nX-Injected: 1"},
        {"url": "http://127.0.0.1/", "max_pages": 0},
        {"url": "http://127.0.0.1/", "follow": True},
    ],
)
def test_bad_options_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WebOptions.model_validate(bad)
