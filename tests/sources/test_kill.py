"""A `pgask worker` killed (SIGKILL, with its parse workers) during a sync: the job is taken
over by the next worker once its heartbeat is stale, and the sync completes with every
document stored once and its versions recorded."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import text

from app.access import UNRESTRICTED
from ingest.job_queue import get_job
from ingest.sources.service import SourceSpec, add_source, get_source, sync_now
from ingest.worker import run_worker
from tests.cli import ROOT, env_without_pgask_settings
from tests.ingest.conftest import opened

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
FILES = 120


async def _job_row(session, job_id) -> tuple[str, int]:
    row = (
        await session.execute(
            text("SELECT status, total FROM ingest_jobs WHERE id = :id"), {"id": job_id}
        )
    ).one()
    await session.commit()
    return row[0], row[1]


async def test_a_killed_sync_resumes(ingestion, embedder, collection, session, tmp_path, settings):
    root = tmp_path / "many"
    root.mkdir()
    for number in range(FILES):
        words = " ".join(f"word{number}x{i}" for i in range(60))
        (root / f"note{number:03}.md").write_text(f"# Note {number}\n\n{words}\n")
    await add_source(
        ingestion, UNRESTRICTED, SourceSpec("many", collection.name, "folder", {"path": str(root)})
    )
    job_id = await sync_now(ingestion, UNRESTRICTED, "many")
    env = env_without_pgask_settings(
        DATABASE_URL=settings.database_url or "",
        PGASK_DATA_DIR=str(tmp_path / "data"),
        PGASK_JOB_HEARTBEAT_SECONDS="0.2",
    )
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "app", "worker"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # The scan has listed every file (the job's total is set) and the pipeline runs.
        while (state := await _job_row(session, job_id)) != ("running", FILES):
            assert state[0] in ("queued", "running") and worker.returncode is None, state
            await asyncio.sleep(0.05)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        await worker.wait()

    # What the killed worker leaves once PGASK_JOB_STALE_SECONDS have passed.
    await session.execute(
        text("UPDATE ingest_jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = :id"),
        {"id": job_id},
    )
    await session.commit()
    async with opened(settings.model_copy(update={"pgask_data_dir": tmp_path / "data"})) as resumer:
        await run_worker(resumer, embedder, asyncio.Event(), until_idle=True)
        job, _ = await get_job(resumer, job_id, UNRESTRICTED)
    assert (job.status, job.attempts) == ("succeeded", 2), job.errors
    assert job.result["added"] + job.result["unchanged"] == FILES
    count = await session.scalar(
        text("SELECT count(*) FROM documents WHERE collection_id = :c"), {"c": collection.id}
    )
    assert count == FILES
    info = await get_source(ingestion, UNRESTRICTED, "many")
    assert info.last_sync["read"] == FILES and info.cursor == {}
