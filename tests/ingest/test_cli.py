"""`pgask ingest` as a user runs it: a real subprocess on the test database, including being
killed with SIGKILL half-way through a load and run again, and its progress bar on a
terminal (a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import time

import httpx
import psycopg

from app.db.schema import hnsw_index_name
from ingest.batches import BATCH_CHUNKS
from tests.cli import PGASK, ROOT, pgask
from tests.ingest.conftest import write
from tests.sql import scalar


def _env(db_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db_url, **extra}


def _pgask(db_url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return pgask(list(args), _env(db_url, **extra))


def test_ingest_json_summary_exit_code_and_rerun(tmp_path, db_url, collection_name) -> None:
    root = write(tmp_path / "kb", {"a.md": "# A\n\nalpha", "b.txt": "beta", "bad.md": ""})
    first = _pgask(db_url, "ingest", str(root), "--collection", collection_name, "--json")
    assert first.returncode == 1, first.stderr  # one file failed
    out = json.loads(first.stdout)
    assert (out["created"], out["added"], out["failed"], out["chunks"]) == (True, 2, 1, 2)
    assert out["errors"] == [{"path": "kb/bad.md", "error": "file is empty"}]

    (root / "bad.md").unlink()
    again = _pgask(db_url, "ingest", str(root), "--collection", collection_name)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("documents: 0 added, 0 updated, 2 unchanged, 0 deleted,")


def _read_all(fd: int) -> bytes:
    """Everything written to a pseudo-terminal until its last writer closes it."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_progress_bar_on_a_terminal_only(tmp_path, db_url, collection_name) -> None:
    lines = [
        json.dumps({"_id": f"d{i}", "text": f"Passage {i} on topic {i % 7}."}) for i in range(60)
    ]
    corpus = write(tmp_path, {"corpus.jsonl": "\n".join(lines)}) / "corpus.jsonl"
    args = [*PGASK, "ingest", str(corpus), "--collection", collection_name]
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            args,
            env=_env(db_url, COLUMNS="120", TERM="xterm"),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
        )
        os.close(terminal)
        screen = _read_all(controller).decode(errors="replace")
        stdout, _ = process.communicate(timeout=240)
    finally:
        os.close(controller)
    assert process.returncode == 0, screen
    bar = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)  # without the terminal's escapes
    assert re.search(r"ingest .* \d+/60 docs · \d+/~\d+ chunks · \d+ chunks/s · ETA", bar), bar
    assert "loading embedding model" in bar  # a spinner while the model loads
    assert "\x1b[" in screen  # drawn and redrawn in place, then erased (transient)
    # stdout, not a terminal here, gets only the summary line.
    assert stdout.decode().startswith("documents: 60 added, 0 updated, 0 unchanged"), stdout

    # Not on a terminal (captured, or piped to a file): no bar on stderr at all.
    again = _pgask(db_url, "ingest", str(corpus), "--collection", collection_name)
    assert again.returncode == 0, again.stderr
    assert "chunks/s" not in again.stderr and "\x1b[" not in again.stderr, again.stderr


def _counts(pg_dsn: str, collection: str) -> tuple[int, int, list[tuple]]:
    with psycopg.connect(pg_dsn) as conn:
        counted = conn.execute(
            "SELECT count(DISTINCT d.id), count(c.id) FROM documents d"
            " JOIN collections k ON k.id = d.collection_id AND k.name = %s"
            " LEFT JOIN chunks c ON c.document_id = d.id",
            (collection,),
        ).fetchone()
        assert counted is not None
        docs, chunks = counted
        half = conn.execute(
            "SELECT d.external_id, d.chunk_count, count(c.id) FROM documents d"
            " JOIN collections k ON k.id = d.collection_id AND k.name = %s"
            " LEFT JOIN chunks c ON c.document_id = d.id"
            " GROUP BY d.collection_id, d.id"
            " HAVING count(c.id) <> d.chunk_count OR count(c.id) = 0",
            (collection,),
        ).fetchall()
    return docs, chunks, half


def test_killed_ingest_leaves_no_half_document_and_rerun_completes(
    tmp_path, db_url, pg_dsn, collection_name
) -> None:
    total = BATCH_CHUNKS * 3 // 2  # two write batches (one chunk each): the kill lands between
    lines = [
        json.dumps({"_id": f"d{i}", "text": f"Passage {i} about topic {i % 37} and more words."})
        for i in range(total)
    ]
    corpus = write(tmp_path, {"corpus.jsonl": "\n".join(lines)}) / "corpus.jsonl"
    args = ["ingest", str(corpus), "--collection", collection_name, "--json"]
    # A first load this large into an empty collection drops the HNSW index and builds it
    # at the end: the kill lands while it is missing.
    bulk = {"PGASK_INGEST_BULK_THRESHOLD": "500"}
    process = subprocess.Popen(
        [*PGASK, *args],
        env=_env(db_url, **bulk),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180
        while _counts(pg_dsn, collection_name)[0] == 0:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()
    written, _, half = _counts(pg_dsn, collection_name)
    assert 0 < written < total and half == []

    rerun = _pgask(db_url, *args, **bulk)
    assert rerun.returncode == 0, rerun.stderr
    out = json.loads(rerun.stdout)
    assert out["unchanged"] == written and out["added"] == total - written
    assert out["embedded"] == total - written
    docs, chunks, half = _counts(pg_dsn, collection_name)
    assert (docs, chunks, half) == (total, total, [])
    with psycopg.connect(pg_dsn) as conn:
        collection_id = scalar(
            conn, "SELECT id FROM collections WHERE name = %s", (collection_name,)
        )
        index = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE indexname = %s", (hnsw_index_name(collection_id),)
        ).fetchone()
    assert index == (1,)


def test_worker_runs_jobs_and_stops_on_sigterm(db_url, pg_dsn, collection_name) -> None:
    import asyncio

    from app.catalog import create_collection
    from app.config import load_settings
    from ingest.uploads import create_job
    from tests.conftest import MINILM
    from tests.ingest.conftest import opened

    async def queue() -> str:
        async with opened(load_settings(database_url=db_url)) as ingestion:
            async with ingestion.db.owner_session() as session:
                collection = await create_collection(session, MINILM, name=collection_name)
            job = await create_job(ingestion, collection, [("w.md", b"# W\n\nworker text")])
        return str(job.id)

    worker = subprocess.Popen(
        [*PGASK, "worker"],
        env=_env(db_url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        job_id = asyncio.run(queue())
        deadline = time.monotonic() + 180
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            while (
                status := scalar(conn, "SELECT status FROM ingest_jobs WHERE id = %s", (job_id,))
            ) not in ("succeeded", "failed"):
                assert worker.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert status == "succeeded"  # by this worker or a test server's: both are workers
        assert worker.stderr is not None
        while "worker waiting for ingest jobs" not in worker.stderr.readline():
            assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert out.startswith("worker stopped after ")


def test_two_concurrent_ingests_report_what_each_really_wrote(
    tmp_path, db_url, collection_name, server
) -> None:
    """Both runs see nothing stored and embed everything; under the row lock only one
    inserts each document, the other finds it stored with the same hash (unchanged)."""
    files: dict[str, str | bytes] = {
        f"d{i:03}.md": f"# Doc {i}\n\nconcurrent ingest text {i}" for i in range(200)
    }
    root = write(tmp_path / "same", files)
    assert (
        httpx.post(f"{server.url}/v1/collections", json={"name": collection_name}).status_code
        == 201
    )
    args = [*PGASK, "ingest", str(root), "--collection", collection_name, "--json"]
    runs = [
        subprocess.Popen(args, env=_env(db_url), cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [json.loads(run.communicate(timeout=600)[0]) for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert sum(out["added"] for out in outs) == len(files), outs
    assert sum(out["unchanged"] for out in outs) == len(files), outs
    assert sum(out["updated"] for out in outs) == 0, outs
