"""Every input limit answers 413/422 (or 503 for a full job queue) as problem+json whose
detail names the limit, on a server with small limits over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from app.config import Settings
from tests.reliability.conftest import seeded_server, snapshot
from tests.servers import ServerThread


def _waiting_jobs(dsn: str) -> int:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT count(*) FROM ingest_jobs WHERE status IN ('queued', 'running')"
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def limited(settings: Settings, pg_dsn: str) -> Iterator[tuple[httpx.Client, str]]:
    """A server (no worker) whose job queue has room for exactly one more job."""
    small = settings.model_copy(
        update={
            "pgask_max_request_mb": 1,
            "pgask_ingest_max_batch_documents": 4,
            "pgask_ingest_max_file_mb": 1,
            "pgask_ingest_max_queued_jobs": _waiting_jobs(pg_dsn) + 1,
        }
    )
    with seeded_server(small, "lim") as running:
        yield running


def _deep_filter(depth: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"lang": "en"}
    for _ in range(depth):
        spec = {"$and": [spec]}
    return spec


def _cases(c: str) -> list[tuple[str, str, dict[str, Any], int, str]]:
    """(limit, path, httpx arguments, status, text the detail must contain)."""
    docs = f"/v1/collections/{c}/documents"
    history = [{"role": "user", "content": "hi"}] * 41
    return [
        ("k", "/v1/search", {"json": {"collection": c, "query": "q", "k": 101}}, 422, "k: "),
        (
            "query length",
            "/v1/search",
            {"json": {"collection": c, "query": "q" * 10_001}},
            422,
            "query: String should have at most 10000",
        ),
        (
            "question length",
            "/v1/ask",
            {"json": {"collection": c, "question": "q" * 4001}},
            422,
            "question: String should have at most 4000",
        ),
        (
            "filter depth",
            "/v1/search",
            {"json": {"collection": c, "query": "q", "filter": _deep_filter(7)}},
            422,
            "at most 6 levels",
        ),
        (
            "filter size",
            "/v1/search",
            {
                "json": {
                    "collection": c,
                    "query": "q",
                    "filter": {"lang": {"$in": list(range(101))}},
                }
            },
            422,
            "100",
        ),
        (
            "history length",
            "/v1/ask",
            {"json": {"collection": c, "question": "q", "history": history}},
            422,
            "history: List should have at most 40",
        ),
        (
            "chat history length",
            "/v1/chat/completions",
            {"json": {"model": c, "messages": [*history, history[0]]}},
            422,
            "messages: List should have at most",
        ),
        (
            "batch size",
            docs,
            {"json": {"documents": [{"id": str(i), "text": "t"} for i in range(5)]}},
            413,
            "PGASK_INGEST_MAX_BATCH_DOCUMENTS",
        ),
        (
            "request body",
            docs,
            {"json": {"documents": [{"id": "big", "text": "x" * 2**20}]}},
            413,
            "PGASK_MAX_REQUEST_MB",
        ),
        (
            "file size",
            f"/v1/collections/{c}/files",
            {"files": {"files": ("big.txt", b"x" * (2**20 + 1))}},
            413,
            "PGASK_MAX_REQUEST_MB",
        ),
    ]


def _message(response: httpx.Response) -> str:
    """The error's message: problem+json's detail, or OpenAI's error message on the
    OpenAI-compatible route."""
    if response.headers["content-type"] == "application/problem+json":
        return str(response.json()["detail"])
    assert response.request.url.path == "/v1/chat/completions"
    return str(response.json()["error"]["message"])


def test_each_limit_is_named(limited: tuple[httpx.Client, str], pg_dsn: str) -> None:
    http, name = limited
    before = snapshot(pg_dsn)
    for limit, path, kwargs, status, named in _cases(name):
        response = http.post(path, **kwargs)
        assert response.status_code == status, (limit, response.text[:300])
        assert named in _message(response), (limit, response.text[:300])
    assert snapshot(pg_dsn) == before


def test_file_size_limit_below_the_body_limit(
    limited: tuple[httpx.Client, str], settings: Settings
) -> None:
    """A file over PGASK_INGEST_MAX_FILE_MB inside a body the body limit lets through."""
    from app.main import create_app

    roomy = settings.model_copy(update={"pgask_max_request_mb": 4, "pgask_ingest_max_file_mb": 1})
    _, name = limited
    with ServerThread(create_app(roomy)) as running:
        files = {"files": ("big.txt", b"x" * (2**20 + 1))}
        response = httpx.post(f"{running.url}/v1/collections/{name}/files", files=files)
    assert response.status_code == 413
    assert "PGASK_INGEST_MAX_FILE_MB" in response.json()["detail"]


def test_full_job_queue_is_503_naming_the_limit(limited: tuple[httpx.Client, str]) -> None:
    http, name = limited
    upload = {"files": ("a.txt", b"some text to ingest later")}
    first = http.post(f"/v1/collections/{name}/files", files=upload)
    assert first.status_code == 202, first.text
    second = http.post(f"/v1/collections/{name}/files", files=upload)
    assert second.status_code == 503
    assert second.headers["content-type"] == "application/problem+json"
    assert "PGASK_INGEST_MAX_QUEUED_JOBS" in second.json()["detail"]
    assert http.get(first.headers["location"]).json()["status"] == "queued"
