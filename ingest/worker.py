"""The ingest worker: claims jobs from the queue (`ingest.job_queue`) and runs each
through the pipeline, keeping its heartbeat and progress fresh, until stopped.

A worker also builds back, when it connects, the HNSW index of any collection a killed bulk
load left without one (`ingest.writer.repair_indexes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import psycopg

from app.config import IngestionSettings, JobSettings
from app.db.models import Collection
from app.embeddings.base import Embedder
from app.errors import PgaskError, ServiceUnavailable
from ingest.context import Ingestion
from ingest.items import with_access
from ingest.job_queue import Claimed, claim_job, finish_job, job_files, release_job, save_progress
from ingest.parsing import FileBudget, ParsePool
from ingest.prepare import Failure
from ingest.report import Report
from ingest.service import build_pipeline
from ingest.sources.schedule import enqueue_due
from ingest.sources.sync import open_sync
from ingest.writer import repair_indexes

log = logging.getLogger(__name__)


async def run_job(
    ingestion: Ingestion,
    embedder: Embedder,
    conn: psycopg.AsyncConnection[Any],
    job: Claimed,
    worker: str,
) -> Report:
    """Run a claimed job to the end, keeping its heartbeat and progress fresh."""
    try:
        async with ingestion.db.owner_session() as session:
            collection = await session.get(Collection, job.collection_id)
        if collection is None:  # deleted collections cascade to their jobs: nothing to do
            return Report()
        report = await _run_pipeline(ingestion, embedder, conn, job, worker, collection)
    except asyncio.CancelledError:
        await _release(ingestion, job, worker)
        raise
    await finish_job(conn, job, worker, report)
    ingestion.count(report)
    return report


async def _run_pipeline(
    ingestion: Ingestion,
    embedder: Embedder,
    conn: psycopg.AsyncConnection[Any],
    job: Claimed,
    worker: str,
    collection: Collection,
) -> Report:
    report = Report()
    async with ingestion.db.owner_connection(autocommit=True) as files_conn:
        try:
            progressed = asyncio.Event()
            pipeline = await build_pipeline(
                ingestion,
                embedder,
                collection,
                expected_documents=job.total,
                on_progress=lambda _report: progressed.set(),
                writer=job.writer,
                drop_repeated=True,  # an upload's files, a source's pages
            )
            report = pipeline.report
            beat = asyncio.create_task(
                _heartbeat(conn, job, worker, report, ingestion.jobs, progressed)
            )
            try:
                budget = FileBudget.of(ingestion.settings)
                sync = await open_sync(ingestion, job.id, pipeline)  # None: an upload's job
                with tempfile.TemporaryDirectory(prefix="pgask-job-") as folder:
                    async with ParsePool(budget, pipeline.plan.chunking) as pool:
                        if sync is None:
                            parsed = pool.parse(job_files(files_conn, job, Path(folder)))
                        else:
                            parsed = sync.documents(pool.parse(sync.files(Path(folder))))
                        report = await pipeline.run(with_access(parsed, job.access))
                if sync is not None:
                    await sync.finish()
            finally:
                beat.cancel()
                await asyncio.gather(beat, return_exceptions=True)
        except (PgaskError, psycopg.Error) as exc:
            report.fail(Failure("", f"job failed: {exc}"))
    return report


async def _heartbeat(
    conn: psycopg.AsyncConnection[Any],
    job: Claimed,
    worker: str,
    report: Report,
    settings: JobSettings,
    progressed: asyncio.Event,
) -> None:
    """Save progress after each written batch, and at least every heartbeat interval."""
    while True:
        await _wait(progressed, settings.heartbeat_seconds)
        progressed.clear()
        if not await save_progress(conn, job, worker, report):
            log.warning("job %s was taken over by another worker", job.id)
            return


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def run_worker(
    ingestion: Ingestion,
    embedder: Embedder,
    stop: asyncio.Event,
    *,
    poll_seconds: float = 1.0,
    until_idle: bool = False,
) -> int:
    """Claim and run jobs until `stop` is set (or, with `until_idle`, none is left).
    Returns how many jobs it ran."""
    name, ran = worker_name(), 0
    while not stop.is_set():
        try:
            async with ingestion.db.owner_connection(autocommit=True) as conn:
                await _repair(conn, ingestion.settings)
                while not stop.is_set():
                    await enqueue_due(conn)  # sources whose sync is due: a job each
                    job = await claim_job(conn, name, ingestion.jobs)
                    if job is None:
                        if until_idle:
                            return ran
                        await _wait(stop, poll_seconds)
                        continue
                    log.info("worker %s runs job %s", name, job.id)
                    if await _unless_stopped(stop, run_job(ingestion, embedder, conn, job, name)):
                        ran += 1
        except ServiceUnavailable as exc:
            # The database restarted or the network dropped: reconnect, the job (if any)
            # will be taken over once its heartbeat is stale.
            log.warning("worker %s lost its database connection: %s", name, exc)
            await _wait(stop, poll_seconds)
        except Exception:
            # Never die silently (a parser error once ended the server's worker without a
            # line): log it and go on; the job's heartbeat goes stale and it is retried.
            log.exception("worker %s: unexpected error; it goes on with the next job", name)
            await _wait(stop, poll_seconds)
    return ran


async def _unless_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, Report]) -> bool:
    """Run `work` to its end (True), or cancel it as soon as `stop` is set (False): a signal
    must not wait for a job of many minutes."""
    task = asyncio.create_task(work)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()  # re-raises what the job raised
    return True


async def _release(ingestion: Ingestion, job: Claimed, worker: str) -> None:
    """Give a job this worker was stopped in back to the queue, for the next worker now
    rather than after its heartbeat goes stale. On a connection of its own: the worker's
    may have been cancelled mid-statement."""
    try:
        async with ingestion.db.owner_connection(autocommit=True) as conn:
            await release_job(conn, job, worker)
    except (PgaskError, psycopg.Error) as exc:  # its heartbeat goes stale instead: taken over later
        log.warning("could not give job %s back to the queue: %s", job.id, exc)
    else:
        log.info("job %s given back to the queue: its worker was stopped", job.id)


async def _repair(conn: psycopg.AsyncConnection[Any], settings: IngestionSettings) -> None:
    """Build back the HNSW indexes killed bulk loads left missing (once per connection)."""
    try:
        await repair_indexes(conn, maintenance_work_mem_mb=settings.maintenance_work_mem_mb)
    except psycopg.OperationalError:
        raise  # the connection is gone: the worker reconnects
    except psycopg.DatabaseError as exc:  # e.g. out of memory: searches still work, exactly
        log.error("could not build a missing HNSW index: %s", exc)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class BackgroundWorker:
    """The worker `pgask serve` runs inside the server process (PGASK_INGEST_WORKER)."""

    def __init__(self, ingestion: Ingestion, embedder: Embedder) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(
            run_worker(ingestion, embedder, self._stop), name="ingest-worker"
        )

    async def stop(self) -> None:
        self._stop.set()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
