"""Fixtures for ingestion tests: an `Ingestion` (a `Database`
on the test database) as the server and CLI build it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.db.database import Database
from ingest.context import Ingestion
from tests.servers import ServerThread


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Ingestion]:
    db = await Database.open(settings)
    try:
        yield Ingestion.of(db, settings)
    finally:
        await db.dispose()


@pytest.fixture
async def ingestion(settings: Settings) -> AsyncIterator[Ingestion]:
    async with opened(settings) as running:
        yield running


@pytest.fixture(scope="session")
def job_settings(settings: Settings) -> Settings:
    """Fast heartbeats so takeover and progress show within a test."""
    return settings.model_copy(
        update={
            "pgask_ingest_worker": True,
            "pgask_job_heartbeat_seconds": 0.2,
            "pgask_job_stale_seconds": 1.0,
            "pgask_max_request_mb": 1,
            "pgask_ingest_max_batch_documents": 50,
            "pgask_ingest_max_file_mb": 1,
        }
    )


@pytest.fixture(scope="module")
def ingest_server(job_settings: Settings) -> Iterator[ServerThread]:
    """pgask with its in-server ingest worker, over real HTTP. Module-scoped: while it runs
    its worker claims every queued job in the shared database."""
    from app.main import create_app

    with ServerThread(create_app(job_settings)) as running:
        yield running


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def coll(http: httpx.Client, collection_name: str) -> str:
    """A new collection made over HTTP by the module's `http` client."""
    assert http.post("/v1/collections", json={"name": collection_name}).status_code == 201
    return collection_name


def docs_path(coll: str) -> str:
    return f"/v1/collections/{coll}/documents"
