"""Job queue semantics against the real database: several workers never run a job twice, a
job whose worker died is taken over, and one that keeps losing its workers is given up. A
worker builds back the HNSW index a killed bulk load left missing, unless a load still runs.
Uploads are stored and fetched in pieces, whatever their lines' lengths."""

from __future__ import annotations

import asyncio
import json
import uuid

import psycopg
import pytest

from app.access import UNRESTRICTED
from app.db.models import IngestJob
from app.db.schema import drop_hnsw_index_sql, hnsw_index_name
from ingest.context import Ingestion
from ingest.job_queue import get_job
from ingest.uploads import PIECE_BYTES, FilledLines, create_job
from ingest.worker import run_worker
from ingest.writer import BULK_LOAD_LOCK
from tests.ingest.conftest import opened

pytestmark = pytest.mark.anyio


@pytest.fixture
async def job_ingestion(job_settings):
    async with opened(job_settings) as running:
        yield running


async def _wait_finished(ingestion: Ingestion, job_id: uuid.UUID) -> IngestJob:
    for _ in range(1200):
        job, _ = await get_job(ingestion, job_id, UNRESTRICTED)
        if job.status in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.fixture
async def patient_ingestion(job_settings):
    """Takeover after 1 s of silence (job_settings) is right for the takeover tests, but on a
    loaded machine a slow heartbeat would then make a legitimate second attempt here, where
    only the claim (FOR UPDATE SKIP LOCKED) is under test."""
    async with opened(job_settings.model_copy(update={"pgask_job_stale_seconds": 300})) as running:
        yield running


async def test_concurrent_workers_run_each_job_once(
    patient_ingestion, embedder, collection
) -> None:
    ingestion = patient_ingestion
    jobs = [
        await create_job(ingestion, collection, [(f"f{i}.md", f"# F{i}\n\ntext {i}".encode())])
        for i in range(4)
    ]
    stop = asyncio.Event()
    await asyncio.gather(
        *(run_worker(ingestion, embedder, stop, until_idle=True) for _ in range(2))
    )
    for created in jobs:
        job = await _wait_finished(ingestion, created.id)
        assert (job.status, job.attempts, job.done, job.total) == ("succeeded", 1, 1, 1)


async def _stale(conn, job_id, attempts: int) -> None:
    """What a worker that claimed the job and then died leaves behind."""
    await conn.execute(
        "UPDATE ingest_jobs SET status = 'running', worker = 'dead:1', attempts = %s,"
        " heartbeat_at = now() - interval '1 hour' WHERE id = %s",
        (attempts, job_id),
    )
    await conn.commit()


async def test_job_of_a_dead_worker_is_taken_over(
    job_ingestion, embedder, collection, conn
) -> None:
    lines = "\n".join(json.dumps({"_id": f"d{i}", "text": f"text {i}"}) for i in range(5))
    created = await create_job(job_ingestion, collection, [("c.jsonl", lines.encode())])
    await _stale(conn, created.id, attempts=1)
    await run_worker(job_ingestion, embedder, asyncio.Event(), until_idle=True)
    job = await _wait_finished(job_ingestion, created.id)
    assert (job.status, job.attempts, job.done, job.result["added"]) == ("succeeded", 2, 5, 5)
    assert job.worker != "dead:1"
    files = await conn.execute("SELECT count(*) FROM ingest_job_files WHERE job_id = %s", (job.id,))
    assert await files.fetchone() == (0,)  # uploaded bytes are gone once the job is done


async def test_job_that_keeps_losing_workers_is_given_up(
    job_ingestion, embedder, collection, conn
) -> None:
    created = await create_job(job_ingestion, collection, [("a.md", b"alpha")])
    await _stale(conn, created.id, attempts=job_ingestion.settings.pgask_job_max_attempts)
    await run_worker(job_ingestion, embedder, asyncio.Event(), until_idle=True)
    job = await _wait_finished(job_ingestion, created.id)
    assert job.status == "failed" and job.attempts == 3
    assert job.errors[-1]["error"] == "its worker stopped responding 3 times"


async def _has_index(conn: psycopg.AsyncConnection, collection_id: int) -> bool:
    cursor = await conn.execute(
        "SELECT count(*) FROM pg_indexes WHERE indexname = %s", (hnsw_index_name(collection_id),)
    )
    return (await cursor.fetchone()) == (1,)


async def _lock_freed(conn: psycopg.AsyncConnection, collection_id: int) -> None:
    """Wait until no session holds the bulk-load lock of the collection."""
    while True:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 2",
            (BULK_LOAD_LOCK, collection_id),
        )
        if (await cursor.fetchone()) == (0,):
            return
        await asyncio.sleep(0.01)


async def test_worker_builds_back_an_index_a_killed_load_left_missing(
    job_ingestion, embedder, collection, pg_dsn
) -> None:
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as conn:
        await conn.execute(drop_hnsw_index_sql(collection.id))  # as a killed bulk load leaves it
        # A bulk load still running holds the lock: its index is its own business.
        async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as loading:
            await loading.execute(
                "SELECT pg_advisory_lock(%s, %s)", (BULK_LOAD_LOCK, collection.id)
            )
            await run_worker(job_ingestion, embedder, asyncio.Event(), until_idle=True)
            assert not await _has_index(conn, collection.id)
        # The load's session ended (killed): the next worker to connect builds the index.
        # Its server process frees the lock a moment after the client closes; the worker's
        # pooled connection comes back quicker than a new one did, so wait for that first.
        await _lock_freed(conn, collection.id)
        await run_worker(job_ingestion, embedder, asyncio.Event(), until_idle=True)
        assert await _has_index(conn, collection.id)


_LINES = b'{"_id": 1}\n  \n\t{"_id": 2}\r\n\n   x\n\n \t \n{"_id": 3}'


@pytest.mark.parametrize("ending", [b"", b"\n", b" \n  "])
def test_filled_lines_are_counted_wherever_the_pieces_are_cut(ending: bytes) -> None:
    data = _LINES + ending
    whole = 4  # '{"_id": 1}', '\t{"_id": 2}\r', '   x' and '{"_id": 3}...'
    for first in range(len(data) + 1):
        for second in range(first, len(data) + 1):
            lines = FilledLines()
            for piece in (data[:first], data[first:second], data[second:]):
                lines.feed(piece)
            assert lines.count == whole, (first, second)


async def test_an_upload_is_stored_and_fetched_in_pieces(
    job_settings, embedder, collection, conn
) -> None:
    """Three JSON Lines documents of 900 kB each: their lines run over the 1 MiB pieces, and
    come back whole (a piece lost or out of order breaks their JSON). The bulk is a key the
    reader ignores: metadata takes at most 64 KiB, and 900 kB of text would be embedded."""
    roomy = {"pgask_job_stale_seconds": 300, "pgask_ingest_max_file_mb": 4}
    async with opened(job_settings.model_copy(update=roomy)) as ingestion:
        await _stored_and_fetched_in_pieces(ingestion, embedder, collection, conn)


async def _stored_and_fetched_in_pieces(ingestion, embedder, collection, conn) -> None:
    pad = "x" * 900_000
    lines = [{"_id": f"p{i}", "pad": pad, "text": f"passage {i}"} for i in range(3)]
    content = "\n".join(json.dumps(line) for line in lines).encode()
    created = await create_job(ingestion, collection, [("p.jsonl", content), ("e.md", b"")])
    assert created.total == 4  # one per line, one for the (empty) Markdown file
    cursor = await conn.execute(
        "SELECT name, part, octet_length(content) FROM ingest_job_files WHERE job_id = %s"
        " ORDER BY name, part",
        (created.id,),
    )
    rows = await cursor.fetchall()
    assert [(name, part) for name, part, _ in rows] == [
        ("e.md", 0),
        ("p.jsonl", 0),
        ("p.jsonl", 1),
        ("p.jsonl", 2),
    ]
    assert max(size for _, _, size in rows) == PIECE_BYTES
    assert sum(size for name, _, size in rows if name == "p.jsonl") == len(content)
    await conn.commit()
    await run_worker(ingestion, embedder, asyncio.Event(), until_idle=True)
    job = await _wait_finished(ingestion, created.id)
    assert (job.status, job.done, job.result["added"]) == ("failed", 4, 3)
    assert job.errors == [{"path": "e.md", "error": "file is empty"}]
    cursor = await conn.execute(
        "SELECT external_id FROM documents WHERE collection_id = %s ORDER BY external_id",
        (collection.id,),
    )
    assert await cursor.fetchall() == [("p0",), ("p1",), ("p2",)]
