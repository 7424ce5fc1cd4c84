"""Fixtures for source syncs: an `Ingestion` whose data dir (git working copies) is the
test's own, and `synced`, one sync run to its end by a job worker in this process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.access import UNRESTRICTED
from app.config import Settings
from app.db.models import IngestJob
from app.embeddings import Embedder
from ingest.context import Ingestion
from ingest.job_queue import get_job
from ingest.sources.service import sync_now
from ingest.worker import run_worker
from tests.ingest.conftest import opened


@pytest.fixture
async def ingestion(settings: Settings, tmp_path: Path) -> AsyncIterator[Ingestion]:
    update = {"pgask_data_dir": tmp_path / "data", "pgask_ingest_max_file_mb": 1}
    async with opened(settings.model_copy(update=update)) as running:
        yield running


async def synced(ingestion: Ingestion, embedder: Embedder, name: str) -> IngestJob:
    """Queue a sync of source `name`, run the queue here, and return its finished job."""
    job_id = await sync_now(ingestion, UNRESTRICTED, name)
    await run_worker(ingestion, embedder, asyncio.Event(), until_idle=True)
    job, _ = await get_job(ingestion, job_id, UNRESTRICTED)
    assert job.status in ("succeeded", "failed"), job.status
    return job
