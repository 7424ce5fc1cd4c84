"""Queueing syncs: one ingest job per sync, in the jobs' own queue (`ingest_jobs`), so a sync
is claimed, resumed and reported like an upload (docs/decisions/0028-sources-and-syncs-as-jobs.md).

Due syncs are queued by the job workers themselves (`enqueue_due`, each time a worker looks
for a job): the sources whose `next_sync_at` has passed are locked with `FOR UPDATE SKIP
LOCKED`, so with several workers each due source is queued once, and no scheduler or broker
runs beside them. A source never has two syncs queued or running: asking again returns the
one there is.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

DUE_BATCH = 20  # sources queued per look

_SOURCE = """
SELECT s.collection_id, s.access, j.id, j.status
FROM sources s LEFT JOIN ingest_jobs j ON j.id = s.job_id
WHERE s.id = %s
FOR UPDATE OF s
"""
_QUEUE = """
INSERT INTO ingest_jobs (collection_id, params, total)
VALUES (%s, %s, (SELECT count(*) FROM source_items WHERE source_id = %s))
RETURNING id
"""
_NEXT = """
UPDATE sources SET job_id = %s,
    next_sync_at = now() + make_interval(secs => interval_seconds)
WHERE id = %s
"""
_DUE = """
SELECT id FROM sources WHERE next_sync_at <= now()
ORDER BY next_sync_at LIMIT %s
FOR UPDATE SKIP LOCKED
"""


async def enqueue(conn: psycopg.AsyncConnection[Any], source_id: int) -> uuid.UUID | None:
    """Queue a sync of the source (its next one is then due an interval from now); the
    job queued or running already if there is one; None when the source is gone. Runs on
    the owner's connection (the queue is the owner's)."""
    async with conn.transaction():
        found = await (await conn.execute(_SOURCE, (source_id,))).fetchone()
        if found is None:
            return None
        collection_id, access, job_id, status = found
        if status not in ("queued", "running"):
            params = {"source": source_id, "access": list(access), "writer": None}
            made = await (
                await conn.execute(_QUEUE, (collection_id, Jsonb(params), source_id))
            ).fetchone()
            assert made is not None
            job_id = made[0]
        await conn.execute(_NEXT, (job_id, source_id))
        return job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))


async def enqueue_due(conn: psycopg.AsyncConnection[Any]) -> int:
    """Queue the syncs that are due; how many sources were looked at."""
    async with conn.transaction():
        due = [row[0] for row in await (await conn.execute(_DUE, (DUE_BATCH,))).fetchall()]
        for source_id in due:
            await enqueue(conn, source_id)
    return len(due)
