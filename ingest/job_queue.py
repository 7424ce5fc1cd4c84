"""The ingest job queue: rows in `ingest_jobs` (files in `ingest_job_files`), claimed with
`FOR UPDATE SKIP LOCKED` by the server's background worker or by `pgask worker` processes
(`ingest.worker`); uploads queue them (`ingest.uploads`).

A worker refreshes its job's heartbeat (and progress) while it runs. A running job whose
heartbeat is older than PGASK_JOB_STALE_SECONDS lost its worker; the next claim takes it over
and runs it again from the start, which is cheap because ingestion skips every document
already stored unchanged. After PGASK_JOB_MAX_ATTEMPTS takeovers it is marked failed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import select

from app.access import Principal
from app.db.database import Database
from app.db.models import Collection, IngestJob
from app.errors import NotFound
from ingest.context import Ingestion, IngestSettings
from ingest.parse_worker import FileInput
from ingest.report import Report


def writer_params(writer: Principal | None) -> dict[str, Any] | None:
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


async def save_progress(
    conn: psycopg.AsyncConnection[Any], job: Claimed, worker: str, report: Report
) -> bool:
    """Heartbeat and progress; False when another worker has taken the job over."""
    cursor = await conn.execute(
        "UPDATE ingest_jobs SET heartbeat_at = now(), done = %s, failed = %s, errors = %s"
        " WHERE id = %s AND worker = %s AND status = 'running'",
        (report.documents, report.failed, _errors(report), job.id, worker),
    )
    return cursor.rowcount == 1


async def finish_job(
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


async def job_files(
    conn: psycopg.AsyncConnection[Any], job: Claimed, folder: Path
) -> AsyncIterator[tuple[str, FileInput]]:
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


async def release_job(conn: psycopg.AsyncConnection[Any], job: Claimed, worker: str) -> None:
    """Give a job back to the queue (the stop does not count as an attempt)."""
    await conn.execute(
        "UPDATE ingest_jobs SET status = 'queued', worker = NULL,"
        " attempts = greatest(attempts - 1, 0)"
        " WHERE id = %s AND worker = %s AND status = 'running'",
        (job.id, worker),
    )
