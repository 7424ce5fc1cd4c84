"""Fixtures for ingestion tests: the real local embedder and Services on the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.embeddings import Embedder, build_embedder
from app.services import Services
from tests.servers import ServerThread


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    return build_embedder(settings)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    running = await Services.start(settings, load_embedder=False)
    try:
        yield running
    finally:
        await running.close()


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
