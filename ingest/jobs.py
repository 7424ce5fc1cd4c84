"""Ingest jobs: rows in `ingest_jobs` (files in `ingest_job_files`), claimed with
`FOR UPDATE SKIP LOCKED` by the server's background worker or by `pgask worker` processes.

A worker refreshes its job's heartbeat (and progress) while it runs. A running job whose
heartbeat is older than PGASK_JOB_STALE_SECONDS lost its worker; the next claim takes it over
and runs it again from the start, which is cheap because ingestion skips every document
already stored unchanged. After PGASK_JOB_MAX_ATTEMPTS takeovers it is marked failed.

A worker also builds back, when it connects, the HNSW index of any collection a killed bulk
load left without one (`ingest.writer.repair_indexes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal
from app.db.database import Database
from app.db.models import Collection, IngestJob, IngestJobFile
from app.embeddings.base import Embedder
from app.errors import NotFound, PayloadTooLarge, PgaskError, ServiceUnavailable
from ingest.context import Ingestion, IngestSettings
from ingest.loaders import file_format
from ingest.parse_worker import Source
from ingest.parsing import FileBudget, ParsePool
from ingest.pipeline import Report, with_access
from ingest.prepare import Failure
from ingest.service import build_pipeline
from ingest.sources.schedule import enqueue_due
from ingest.sources.sync import open_sync
from ingest.writer import repair_indexes

log = logging.getLogger(__name__)


PIECE_BYTES = 2**20  # an upload is stored, and fetched, in rows of at most this many bytes


class Readable(Protocol):
    """An upload being received (FastAPI's `UploadFile`): read in pieces, never whole."""

    async def read(self, size: int = -1) -> bytes: ...


# A line with something other than whitespace on it, matched without copying the line.
_FILLED_LINE = re.compile(rb"^[^\S\n]*\S", re.MULTILINE)
_NOT_SPACE = re.compile(rb"\S")


class FilledLines:
    """Counts the lines holding something other than whitespace (one document each in a
    JSON Lines file) of a file read in pieces; a line may run over several pieces."""

    def __init__(self) -> None:
        self._complete = 0
        self._open_line_filled = False

    def feed(self, piece: bytes) -> None:
        first = piece.find(b"\n")
        if first == -1:
            self._open_line_filled |= _NOT_SPACE.search(piece) is not None
            return
        if self._open_line_filled or _NOT_SPACE.search(piece, 0, first):
            self._complete += 1
        last = piece.rfind(b"\n")
        self._complete += sum(1 for _ in _FILLED_LINE.finditer(piece, first + 1, last + 1))
        self._open_line_filled = _NOT_SPACE.search(piece, last + 1) is not None

    @property
    def count(self) -> int:
        return self._complete + self._open_line_filled


async def _pieces(content: bytes | Readable) -> AsyncIterator[bytes]:
    """The content in pieces of at most PIECE_BYTES; an empty file is one empty piece."""
    if isinstance(content, bytes):
        for start in range(0, max(len(content), 1), PIECE_BYTES):
            yield content[start : start + PIECE_BYTES]
        return
    piece = await content.read(PIECE_BYTES)
    yield piece
    while piece := await content.read(PIECE_BYTES):
        yield piece


async def create_job(
    ingestion: Ingestion,
    collection: Collection,
    files: Sequence[tuple[str, bytes | Readable]],
    access: Sequence[str] = (),
    writer: Principal | None = None,
) -> IngestJob:
    """Queue the files for ingestion into `collection`, in one transaction, unless
    PGASK_INGEST_MAX_QUEUED_JOBS jobs already wait or run (uploads are stored in the
    database until a worker takes them, so an unbounded queue is unbounded disk).

    Each file is stored as it is read, a piece at a time, so an upload is never held whole
    in memory. A file over PGASK_INGEST_MAX_FILE_MB fails the whole upload (PayloadTooLarge)
    and nothing of it is kept."""
    most = ingestion.settings.pgask_ingest_max_file_mb * 2**20
    async with ingestion.db.owner_session() as session:
        await _check_queue(session, ingestion.settings.pgask_ingest_max_queued_jobs)
        job = IngestJob(
            collection_id=collection.id,
            params={
                "files": [name for name, _ in files],
                "access": list(access),
                "writer": _writer_params(writer),
            },
            total=0,
        )
        session.add(job)
        await session.flush()
        for name, content in files:
            job.total += await _store_file(session, job.id, name, content, most)
        await session.commit()
        await session.refresh(job)
        return job


def _writer_params(writer: Principal | None) -> dict[str, Any] | None:
    """What the worker needs to apply the uploader's rights (`Claimed.writer`)."""
    if writer is None:
        return None
    collections = None if writer.collections is None else list(writer.collections)
    return {
        "name": writer.name,
        "role": writer.role,
        "collections": collections,
        "groups": list(writer.groups),
    }


async def _store_file(
    session: AsyncSession, job_id: uuid.UUID, name: str, content: bytes | Readable, most: int
) -> int:
    """Insert the file's pieces; the number of documents it should hold: one per non-empty
    line of a JSON Lines file, one for any other file."""
    lines = FilledLines() if file_format(name) == "beir" else None
    size = 0
    part = 0
    async for piece in _pieces(content):
        size += len(piece)
        if size > most:
            raise PayloadTooLarge(f"{name}: above PGASK_INGEST_MAX_FILE_MB ({most // 2**20} MiB)")
        if lines is not None:
            lines.feed(piece)
        await session.execute(
            insert(IngestJobFile).values(job_id=job_id, name=name, part=part, content=piece)
        )
        part += 1
    return lines.count if lines is not None else 1


async def _check_queue(session: AsyncSession, most: int) -> None:
    # One queue check at a time, so concurrent uploads cannot all pass it together.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('pgask.ingest_queue'))"))
    waiting = await session.scalar(
        select(func.count())
        .select_from(IngestJob)
        .where(IngestJob.status.in_(("queued", "running")))
    )
    if (waiting or 0) >= most:
        raise ServiceUnavailable(
            f"{waiting} ingest jobs are queued or running, the most PGASK_INGEST_MAX_QUEUED_JOBS"
            f" ({most}) allows; retry when some have finished"
        )


async def get_job(
    ingestion: Ingestion, job_id: uuid.UUID, principal: Principal | None
) -> tuple[IngestJob, str]:
    """The job and its collection's name, if `principal` may see that collection."""
    async with ingestion.db.session(principal=principal) as session:
        row = (
            await session.execute(
                select(IngestJob, Collection.name)
                .join(Collection, Collection.id == IngestJob.collection_id)
                .where(IngestJob.id == job_id)
            )
        ).first()
    if row is None:
        raise NotFound(f"job {job_id} does not exist")
    return row[0], row[1]


_QUEUE_DEPTH = """
SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'running')
FROM ingest_jobs WHERE status IN ('queued', 'running')
"""


async def queue_depth(db: Database) -> tuple[int, int]:
    """Jobs queued and running, over every collection (the queue's owner counts them: the
    figures name no collection)."""
    async with db.owner_connection(autocommit=True) as conn:
        cursor = await conn.execute(_QUEUE_DEPTH)
        queued, running = await cursor.fetchone() or (0, 0)
        return int(queued), int(running)


_GIVE_UP = """
UPDATE ingest_jobs
SET status = 'failed', finished_at = now(),
    errors = errors || jsonb_build_array(jsonb_build_object(
        'path', '', 'error', 'its worker stopped responding ' || attempts || ' times'))
WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => %s)
  AND attempts >= %s
"""

_CLAIM = """
UPDATE ingest_jobs
SET status = 'running', worker = %s, heartbeat_at = now(), started_at = now(),
    attempts = attempts + 1, done = 0, failed = 0, errors = '[]'
WHERE id = (
    SELECT id FROM ingest_jobs
    WHERE status = 'queued'
       OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => %s))
    ORDER BY created_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, collection_id, total,
          ARRAY(SELECT jsonb_array_elements_text(coalesce(params->'access', '[]'))),
          params->'writer'
"""


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    collection_id: int
    total: int
    access: list[str]
    writer_params: dict[str, Any] | None = None  # `writer_params(principal)` of the uploader

    @property
    def writer(self) -> Principal | None:
        """The key that uploaded the files (None: an operator's job, or one queued before
        jobs recorded it, which then writes as any operator run does)."""
        found = self.writer_params
        if not found:
            return None
        collections = found.get("collections")
        return Principal(
            str(found["name"]),
            found["role"],
            None if collections is None else tuple(collections),
            tuple(found.get("groups", ())),
        )


async def claim_job(
    conn: psycopg.AsyncConnection[Any], worker: str, settings: IngestSettings
) -> Claimed | None:
    """Take the oldest queued job, or one whose worker died; None when there is none."""
    stale = settings.pgask_job_stale_seconds
    await conn.execute(_GIVE_UP, (stale, settings.pgask_job_max_attempts))
    cursor = await conn.execute(_CLAIM, (worker, stale))
    row = await cursor.fetchone()
    return Claimed(*row) if row else None


def _errors(report: Report) -> Jsonb:
    return Jsonb([{"path": e.path, "error": e.error} for e in report.errors])


async def _save_progress(
    conn: psycopg.AsyncConnection[Any], job: Claimed, worker: str, report: Report
) -> bool:
    """Heartbeat and progress; False when another worker has taken the job over."""
    cursor = await conn.execute(
        "UPDATE ingest_jobs SET heartbeat_at = now(), done = %s, failed = %s, errors = %s"
        " WHERE id = %s AND worker = %s AND status = 'running'",
        (report.documents, report.failed, _errors(report), job.id, worker),
    )
    return cursor.rowcount == 1


async def _finish(
    conn: psycopg.AsyncConnection[Any], job: Claimed, worker: str, report: Report
) -> None:
    result = {k: v for k, v in report.as_dict().items() if k != "errors"}
    async with conn.transaction():
        await conn.execute(
            "UPDATE ingest_jobs SET status = %s, finished_at = now(), heartbeat_at = now(),"
            " done = %s, failed = %s, errors = %s, result = %s"
            " WHERE id = %s AND worker = %s",
            (
                "failed" if report.failed else "succeeded",
                report.documents,
                report.failed,
                _errors(report),
                Jsonb(result),
                job.id,
                worker,
            ),
        )
        await conn.execute("DELETE FROM ingest_job_files WHERE job_id = %s", (job.id,))


async def _job_files(
    conn: psycopg.AsyncConnection[Any], job: Claimed, folder: Path
) -> AsyncIterator[tuple[str, Source]]:
    """The job's files one at a time, each written to a file in `folder` that its parse
    worker reads: the server holds no upload while it is parsed and embedded (sent as bytes,
    a 99 MB upload stayed in the server, and was pickled whole to its worker)."""
    cursor = await conn.execute(
        "SELECT name FROM ingest_job_files WHERE job_id = %s GROUP BY name ORDER BY min(id)",
        (job.id,),
    )
    for number, (name,) in enumerate(await cursor.fetchall()):
        path = folder / str(number)
        if await _save_content(conn, job.id, name, path):
            yield name, path


async def _save_content(
    conn: psycopg.AsyncConnection[Any], job_id: uuid.UUID, name: str, path: Path
) -> bool:
    """Write a job file's content to `path`, a piece at a time; False when it is gone.
    Fetched in binary (in text, bytea arrives as hex: twice its size)."""
    query = "SELECT content FROM ingest_job_files WHERE job_id = %s AND name = %s ORDER BY part"
    found = False
    with path.open("wb") as out:
        async with conn.cursor() as cursor:
            async for (piece,) in cursor.stream(query, (job_id, name), binary=True):
                found = True
                await asyncio.to_thread(out.write, piece)
    return found


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
    await _finish(conn, job, worker, report)
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
            )
            report = pipeline.report
            beat = asyncio.create_task(
                _heartbeat(conn, job, worker, report, ingestion.settings, progressed)
            )
            try:
                budget = FileBudget.of(ingestion.settings)
                sync = await open_sync(ingestion, job.id, pipeline)  # None: an upload's job
                with tempfile.TemporaryDirectory(prefix="pgask-job-") as folder:
                    async with ParsePool(budget, pipeline.plan.chunking) as pool:
                        if sync is None:
                            parsed = pool.parse(_job_files(files_conn, job, Path(folder)))
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
    settings: IngestSettings,
    progressed: asyncio.Event,
) -> None:
    """Save progress after each written batch, and at least every heartbeat interval."""
    while True:
        await _wait(progressed, settings.pgask_job_heartbeat_seconds)
        progressed.clear()
        if not await _save_progress(conn, job, worker, report):
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
                    job = await claim_job(conn, name, ingestion.settings)
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
    rather than after its heartbeat goes stale (the stop does not count as an attempt).
    On a connection of its own: the worker's may have been cancelled mid-statement."""
    try:
        async with ingestion.db.owner_connection(autocommit=True) as conn:
            await conn.execute(
                "UPDATE ingest_jobs SET status = 'queued', worker = NULL,"
                " attempts = greatest(attempts - 1, 0)"
                " WHERE id = %s AND worker = %s AND status = 'running'",
                (job.id, worker),
            )
    except (PgaskError, psycopg.Error) as exc:  # its heartbeat goes stale instead: taken over later
        log.warning("could not give job %s back to the queue: %s", job.id, exc)
    else:
        log.info("job %s given back to the queue: its worker was stopped", job.id)


async def _repair(conn: psycopg.AsyncConnection[Any], settings: IngestSettings) -> None:
    """Build back the HNSW indexes killed bulk loads left missing (once per connection)."""
    try:
        await repair_indexes(
            conn, maintenance_work_mem_mb=settings.pgask_ingest_maintenance_work_mem_mb
        )
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
