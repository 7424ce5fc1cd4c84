"""The S3 reader against moto's S3 server on 127.0.0.1 (ThreadedMotoServer, real HTTP):
two scans with changes between, listing errors, and the server stopped mid-scan."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pydantic import ValidationError
from types_boto3_s3.client import S3Client

from ingest.sources.base import Failed, Fetched, SourceUnavailable, Unchanged
from ingest.sources.s3 import S3Options, S3Reader


@pytest.fixture(autouse=True)
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto takes any credentials; boto3 finds these in a shared credentials file (profile
    `team`) or in the environment, and reads nothing of the machine's own."""
    (tmp_path / "credentials").write_text(
        "[team]\naws_access_key_id = team\naws_secret_access_key = secret\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _options(bucket: str, endpoint: str, **limits: Any) -> S3Options:
    return S3Options(bucket=bucket, endpoint_url=endpoint, region="us-east-1", **limits)


def _start() -> tuple[ThreadedMotoServer, str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _stop(server: ThreadedMotoServer) -> None:
    server.stop()
    assert server._server is not None
    server._server.server_close()  # stop() leaves the socket listening: close it, as a kill does


@pytest.fixture
def endpoint() -> Iterator[str]:
    server, url = _start()
    yield url
    if server._server_ready_event.is_set():
        _stop(server)


def _bucket(endpoint: str, objects: dict[str, bytes]) -> S3Client:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="docs")
    for key, data in objects.items():
        s3.put_object(Bucket="docs", Key=key, Body=data, ContentType="text/plain")
    return s3


def test_two_scans_read_only_what_changed(endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    s3 = _bucket(
        endpoint,
        {
            "guide/a.md": b"# Alpha\n\nFirst.",
            "guide/b.txt": b"Beta.",
            "guide/c.html": b"<p>Gamma.</p>",
            "guide/logo.png": b"\x89PNG",  # not a format pgask reads
            "guide/sub/": b"",  # a folder marker
            "guide/big.md": b"x" * 2000,
            "other/x.md": b"Outside the prefix.",
        },
    )
    options = _options("docs", endpoint, prefix="guide/", max_object_bytes=1000)
    reader = S3Reader(options, page_size=2)
    first = {item.key: item for item in reader.scan({}, {})}
    url = "guide/"
    assert sorted(first) == [f"{url}a.md", f"{url}b.txt", f"{url}big.md", f"{url}c.html"]
    assert isinstance(first[f"{url}big.md"], Failed)
    fetched = first[f"{url}a.md"]
    assert isinstance(fetched, Fetched) and fetched.data == b"# Alpha\n\nFirst."
    assert fetched.name == "guide/a.md" and fetched.content_type == "text/plain"
    assert reader.cursor() == {"objects": 4}
    known = {k: v.version for k, v in first.items() if isinstance(v, Fetched)}

    s3.put_object(Bucket="docs", Key="guide/b.txt", Body=b"Beta, changed.")
    s3.delete_object(Bucket="docs", Key="guide/c.html")
    s3.put_object(Bucket="docs", Key="guide/d.md", Body=b"Delta.")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="werkzeug"):  # the server logs each request
        second = {item.key: item for item in reader.scan(known, reader.cursor())}
    assert sorted(second) == [f"{url}a.md", f"{url}b.txt", f"{url}big.md", f"{url}d.md"]
    assert second[f"{url}a.md"] == Unchanged(f"{url}a.md")
    changed = second[f"{url}b.txt"]
    assert isinstance(changed, Fetched) and changed.data == b"Beta, changed."
    assert changed.version != known[f"{url}b.txt"]
    requests = " ".join(record.getMessage() for record in caplog.records)
    assert "GET /docs/guide/b.txt" in requests and "GET /docs/guide/a.md" not in requests


def test_a_listing_that_fails_is_unavailable(endpoint: str) -> None:
    reader = S3Reader(_options("no-such-bucket", endpoint))
    with pytest.raises(SourceUnavailable, match="NoSuchBucket"):
        list(reader.scan({}, {}))


def test_the_server_stopped_mid_scan_makes_the_scan_unavailable() -> None:
    server, endpoint = _start()
    _bucket(endpoint, {f"{n}.md": b"Some text." for n in range(3)})
    reader = S3Reader(_options("docs", endpoint, timeout_seconds=2, profile="team"), page_size=1)
    scan = reader.scan({}, {})
    assert isinstance(next(scan), Fetched)
    _stop(server)
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


def test_an_unknown_profile_makes_the_scan_unavailable(endpoint: str) -> None:
    reader = S3Reader(_options("docs", endpoint, profile="nobody"))
    with pytest.raises(SourceUnavailable, match="nobody"):
        list(reader.scan({}, {}))
