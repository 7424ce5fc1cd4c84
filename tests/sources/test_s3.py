"""The S3 reader against moto's S3 server on 127.0.0.1 (real HTTP, `tests/sources/s3_server.py`):
two scans with changes between, listing errors, and the server stopped mid-scan."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ingest.sources.base import Failed, Fetched, ReaderContext, SourceUnavailable, Unchanged
from ingest.sources.s3 import S3Options, S3Reader
from tests.sources.s3_server import S3Server, credentials, s3_serving  # noqa: F401


@pytest.fixture
def moto() -> Iterator[S3Server]:
    with s3_serving() as server:
        yield server


def _options(bucket: str, endpoint: str, **limits: Any) -> S3Options:
    return S3Options(bucket=bucket, endpoint_url=endpoint, region="us-east-1", **limits)


def _context(max_bytes: int = 2**20) -> ReaderContext:
    return ReaderContext(work_dir=Path("/nonexistent"), max_file_bytes=max_bytes)


def test_two_scans_read_only_what_changed(moto: S3Server, caplog: pytest.LogCaptureFixture) -> None:
    s3 = moto.bucket(
        "docs",
        {
            "guide/a.md": b"# Alpha\n\nFirst.",
            "guide/b.txt": b"Beta.",
            "guide/c.html": b"<p>Gamma.</p>",
            "guide/logo.png": b"\x89PNG",  # its name says it is not prose: not listed
            "guide/NOTES": b"No extension: listed, the sync sniffs it.",
            "guide/sub/": b"",  # a folder marker
            "guide/big.md": b"x" * 2000,
            "other/x.md": b"Outside the prefix.",
        },
    )
    options = _options("docs", moto.url, prefix="guide/")
    reader = S3Reader(options, _context(1000), page_size=2)
    first = {item.key: item for item in reader.scan({}, {})}
    url = "guide/"
    assert sorted(first) == [
        f"{url}NOTES",
        f"{url}a.md",
        f"{url}b.txt",
        f"{url}big.md",
        f"{url}c.html",
    ]
    assert isinstance(first[f"{url}big.md"], Failed)
    fetched = first[f"{url}a.md"]
    assert isinstance(fetched, Fetched) and fetched.data == b"# Alpha\n\nFirst."
    assert fetched.name == "guide/a.md" and fetched.content_type == "text/plain"
    assert reader.cursor() == {"objects": 5}
    known = {k: v.version for k, v in first.items() if isinstance(v, Fetched)}

    s3.put_object(Bucket="docs", Key="guide/b.txt", Body=b"Beta, changed.")
    s3.delete_object(Bucket="docs", Key="guide/c.html")
    s3.put_object(Bucket="docs", Key="guide/d.md", Body=b"Delta.")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="werkzeug"):  # the server logs each request
        second = {item.key: item for item in reader.scan(known, reader.cursor())}
    assert sorted(second) == [
        f"{url}NOTES",
        f"{url}a.md",
        f"{url}b.txt",
        f"{url}big.md",
        f"{url}d.md",
    ]
    assert second[f"{url}a.md"] == Unchanged(f"{url}a.md")
    changed = second[f"{url}b.txt"]
    assert isinstance(changed, Fetched) and changed.data == b"Beta, changed."
    assert changed.version != known[f"{url}b.txt"]
    requests = " ".join(record.getMessage() for record in caplog.records)
    assert "GET /docs/guide/b.txt" in requests and "GET /docs/guide/a.md" not in requests


def test_a_listing_that_fails_is_unavailable(moto: S3Server) -> None:
    reader = S3Reader(_options("no-such-bucket", moto.url), _context())
    with pytest.raises(SourceUnavailable, match="NoSuchBucket"):
        list(reader.scan({}, {}))


def test_the_server_stopped_mid_scan_makes_the_scan_unavailable(moto: S3Server) -> None:
    moto.bucket("stopped", {f"{n}.md": b"Some text." for n in range(3)})
    options = _options("stopped", moto.url, timeout_seconds=2, profile="team")
    reader = S3Reader(options, _context(), page_size=1)
    scan = reader.scan({}, {})
    assert isinstance(next(scan), Fetched)
    moto.stop()
    with pytest.raises(SourceUnavailable):
        list(scan)


@pytest.mark.parametrize(
    "bad",
    [
        {"bucket": "a"},
        {"bucket": "docs", "endpoint_url": "ftp://127.0.0.1"},
        {"bucket": "docs", "secret_access_key": "never stored"},
        {"bucket": "docs", "prefix": "a\nb"},
    ],
)
def test_bad_options_are_refused(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        S3Options.model_validate(bad)


def test_an_unknown_profile_makes_the_scan_unavailable(moto: S3Server) -> None:
    reader = S3Reader(_options("docs", moto.url, profile="nobody"), _context())
    with pytest.raises(SourceUnavailable, match="nobody"):
        list(reader.scan({}, {}))
