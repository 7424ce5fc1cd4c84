"""Web and S3 sources through the real sync, against the session's database and real
servers on 127.0.0.1 (a generated site on http.server, moto's S3 API): for each, two syncs
with items added, changed and removed between them (unchanged ones are neither downloaded
nor embedded again), and the server dying during a sync, which then fails and deletes
nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from app.access import UNRESTRICTED
from app.errors import InvalidInput
from ingest.sources.service import SourceSpec, add_source, get_source
from tests.sources.conftest import synced
from tests.sources.s3_server import S3Server, credentials, s3_serving  # noqa: F401
from tests.sources.web_site import Server, serving

pytestmark = pytest.mark.anyio


@pytest.fixture
def server() -> Iterator[Server]:
    with serving() as running:
        yield running


@pytest.fixture
def moto() -> Iterator[S3Server]:
    with s3_serving() as running:
        yield running


async def _ids(session, collection) -> set[str]:
    rows = await session.execute(
        text("SELECT external_id FROM documents WHERE collection_id = :c"), {"c": collection.id}
    )
    return {row[0] for row in rows}


def _site(server: Server) -> str:
    site = server.site
    site.put("/robots.txt", "User-agent: *\nDisallow: /docs/drafts/\n", "text/plain")
    site.html("/docs/", "The handbook's home, about herons.", "a.html", "b.html", etag='"i1"')
    site.html("/docs/a.html", "Alpha: the page about walruses.", "drafts/x.html", etag='"a1"')
    site.html("/docs/b.html", "Bravo: the page about lighthouses.", "c.txt", etag='"b1"')
    site.put("/docs/c.txt", "Charlie: plain text about rivers.", "text/plain", ETag='"c1"')
    site.html("/docs/drafts/x.html", "Never read: robots.txt keeps it out.")
    return f"{server.url}/docs/"


async def test_web_two_syncs_fetch_and_embed_only_what_changed(
    ingestion, embedder, collection, session, server: Server
) -> None:
    docs = _site(server)
    name = f"site-{collection.name}"
    spec = SourceSpec(name, collection.name, "web", {"url": docs}, access=["team"])
    await add_source(ingestion, UNRESTRICTED, spec)

    first = await synced(ingestion, embedder, name)
    assert first.status == "succeeded", first.errors
    assert (first.result["added"], first.result["deleted"]) == (4, 0)
    urls = {f"{docs}", f"{docs}a.html", f"{docs}b.html", f"{docs}c.txt"}
    assert await _ids(session, collection) == {f"{name}/{url}" for url in urls}

    server.site.html("/docs/b.html", "Bravo, rewritten: about seals.", "d.html", etag='"b2"')
    server.site.html("/docs/d.html", "Delta: a new page about tides.", etag='"d1"')
    del server.site.pages["/docs/c.txt"]
    server.site.log.clear()
    second = await synced(ingestion, embedder, name)
    assert second.status == "succeeded", second.errors
    result = second.result
    counts = (result["added"], result["updated"], result["unchanged"], result["deleted"])
    assert counts == (1, 1, 2, 1)
    assert result["embedded"] == 2  # b.html and d.html, one chunk each
    assert server.site.statuses("/docs/") == [304] and server.site.statuses("/docs/a.html") == [304]
    urls = {f"{docs}", f"{docs}a.html", f"{docs}b.html", f"{docs}d.html"}
    assert await _ids(session, collection) == {f"{name}/{url}" for url in urls}
    info = await get_source(ingestion, UNRESTRICTED, name)
    assert info.cursor["links"]["b.html"] == ["d.html"]


async def test_web_server_dying_mid_sync_deletes_nothing(
    ingestion, embedder, collection, session, server: Server
) -> None:
    docs = _site(server)
    name = f"site-{collection.name}"
    await add_source(
        ingestion, UNRESTRICTED, SourceSpec(name, collection.name, "web", {"url": docs})
    )
    first = await synced(ingestion, embedder, name)
    assert first.status == "succeeded", first.errors
    held = await _ids(session, collection)

    server.site.html("/docs/a.html", "Alpha, changed just before the crash.", etag='"a2"')
    server.site.dies_at = "/docs/b.html"
    second = await synced(ingestion, embedder, name)
    assert second.status == "failed"
    assert "did not answer" in second.errors[-1]["error"]
    assert await _ids(session, collection) == held


async def _source(ingestion, collection, moto: S3Server) -> str:
    bucket = f"b-{collection.name}"
    moto.bucket(
        bucket,
        {
            "kb/a.md": b"# Alpha\n\nThe alpha note about herons.",
            "kb/b.md": b"# Bravo\n\nThe bravo note about walruses.",
            "kb/c.txt": b"The charlie note about lighthouses.",
            "kb/logo.png": b"\x89PNG\r\n\x1a\n",
            "elsewhere/d.md": b"# Not under the prefix",
        },
    )
    options = {"bucket": bucket, "prefix": "kb/", "endpoint_url": moto.url, "region": "us-east-1"}
    await add_source(ingestion, UNRESTRICTED, SourceSpec(bucket, collection.name, "s3", options))
    return bucket


async def test_s3_two_syncs_download_and_embed_only_what_changed(
    ingestion, embedder, collection, session, moto: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    name = await _source(ingestion, collection, moto)
    first = await synced(ingestion, embedder, name)
    assert first.status == "succeeded", first.errors
    assert await _ids(session, collection) == {
        f"{name}/kb/a.md",
        f"{name}/kb/b.md",
        f"{name}/kb/c.txt",
    }

    s3 = moto.client()
    s3.put_object(Bucket=name, Key="kb/b.md", Body=b"# Bravo\n\nRewritten, about seals.")
    s3.delete_object(Bucket=name, Key="kb/c.txt")
    s3.put_object(Bucket=name, Key="kb/e.md", Body=b"# Echo\n\nA new note about tides.")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="werkzeug"):  # the server logs each request
        second = await synced(ingestion, embedder, name)
    assert second.status == "succeeded", second.errors
    result = second.result
    counts = (result["added"], result["updated"], result["unchanged"], result["deleted"])
    assert counts == (1, 1, 1, 1)
    assert result["embedded"] == 2
    assert await _ids(session, collection) == {
        f"{name}/kb/a.md",
        f"{name}/kb/b.md",
        f"{name}/kb/e.md",
    }
    requests = " ".join(record.getMessage() for record in caplog.records)
    assert f"GET /{name}/kb/b.md" in requests and f"GET /{name}/kb/a.md" not in requests


async def test_s3_server_dying_mid_sync_deletes_nothing(
    ingestion, embedder, collection, session, moto: S3Server
) -> None:
    name = await _source(ingestion, collection, moto)
    first = await synced(ingestion, embedder, name)
    assert first.status == "succeeded", first.errors
    held = await _ids(session, collection)

    s3 = moto.client()
    s3.put_object(Bucket=name, Key="kb/a.md", Body=b"# Alpha\n\nChanged before the crash.")
    s3.put_object(Bucket=name, Key="kb/b.md", Body=b"# Bravo\n\nChanged before the crash.")
    moto.dies_at = f"/{name}/kb/b.md"
    second = await synced(ingestion, embedder, name)
    assert second.status == "failed"
    assert "did not answer" in second.errors[-1]["error"]
    assert await _ids(session, collection) == held


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("web", {"url": "ftp://h/docs/"}, "options.url: 'ftp://h/docs/' is not an http://"),
        ("web", {"url": "http://h/a/", "prefix": "http://h/b/"}, "options: the start page"),
        ("web", {"url": "http://h/", "max_pages": "0"}, "options.max_pages: Input should be"),
        ("web", {"url": "http://h/", "user_agent": "a\r\nb: c"}, "options.user_agent: String"),
        ("s3", {"bucket": "b", "secret_access_key": "x"}, "options.bucket: String should"),
        ("s3", {"bucket": "docs", "secret_access_key": "x"}, "options.secret_access_key: Extra"),
        ("s3", {"bucket": "docs", "endpoint_url": "file:///etc"}, "options.endpoint_url: 'file"),
    ],
)
async def test_bad_options_are_refused(ingestion, collection, kind, options, message) -> None:
    spec = SourceSpec("bad", collection.name, kind, options)
    with pytest.raises(InvalidInput) as refused:
        await add_source(ingestion, UNRESTRICTED, spec)
    assert str(refused.value).startswith(message), refused.value
