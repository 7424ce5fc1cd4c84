"""moto's S3 API served over real HTTP on 127.0.0.1 from a thread (what ThreadedMotoServer
runs, with one addition): the server can die on a chosen request, as a killed one does."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from types_boto3_s3.client import S3Client
from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class S3Server:
    url: str
    server: BaseWSGIServer
    dies_at: str | None = None  # the path of a GET on which the server stops

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def client(self) -> S3Client:
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1")

    def bucket(self, name: str, objects: dict[str, bytes]) -> S3Client:
        s3 = self.client()
        s3.create_bucket(Bucket=name)
        for key, data in objects.items():
            s3.put_object(Bucket=name, Key=key, Body=data, ContentType="text/plain")
        return s3


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


@contextmanager
def s3_serving() -> Iterator[S3Server]:
    """A moto S3 server; it needs credentials in the environment (any will do)."""
    moto = DomainDispatcherApplication(create_backend_app)
    running: S3Server

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "GET" and environ["PATH_INFO"] == running.dies_at:
            running.stop()  # from a request's thread; no connection is accepted after this
            start("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        return moto(environ, start)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    running = S3Server(f"http://127.0.0.1:{server.server_port}", server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        if thread.is_alive():
            running.stop()
