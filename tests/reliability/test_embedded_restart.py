"""The embedded PostgreSQL killed (kill -9 of its postmaster) under a running `pgask serve`
(issue 14, item 5), on a data dir and port of its own: the server starts it again (crash
recovery), /readyz returns to 200 and the data is all there; a server that cannot start
(a broken postgresql.conf) is tried PGASK_EMBEDDED_RESTART_ATTEMPTS times, then given up
with one line, and /readyz says why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.cli import ROOT, env_without_pgask_settings
from tests.reliability.conftest import SEED_DOCUMENTS, seed
from tests.servers import ServeProcess


def _postmaster(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def _wait_for_line(log: Path, line: str) -> None:
    deadline = time.monotonic() + 180
    while line not in log.read_text():
        assert time.monotonic() < deadline, f"no {line!r} in {log.read_text()}"
        time.sleep(0.2)


def test_serve_restarts_its_killed_postgres_then_gives_up_on_one_that_cannot_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # as root the server runs as another user, who must get in
    env = env_without_pgask_settings(
        PGASK_DATA_DIR=str(data),
        PGASK_INGEST_WORKER="0",
        PGASK_EMBEDDED_RESTART_ATTEMPTS="2",
        PGASK_LOG_FORMAT="text",
    )
    log = tmp_path / "serve.log"
    search = {"collection": "kept", "query": "HNSW index", "k": 10}
    with ServeProcess(env, log) as serve, httpx.Client(base_url=serve.url, timeout=60) as http:
        serve.wait_for("/readyz", 200)
        seed(http, "kept")
        before = http.post("/v1/search", json=search).json()["hits"]

        killed = _postmaster(data / "pg")
        os.kill(killed, signal.SIGKILL)
        serve.wait_for("/readyz", 200)  # no other command started it
        assert _postmaster(data / "pg") != killed
        after = http.post("/v1/search", json=search)
        assert after.status_code == 200, after.text
        assert after.json()["hits"] == before and len(before) == len(SEED_DOCUMENTS)
        _wait_for_line(log, "embedded PostgreSQL restarted")  # logged once it is done
        output = log.read_text()
        assert output.count(f"embedded PostgreSQL (pid {killed}) died; restarting it") == 1
        assert output.count("embedded PostgreSQL restarted") == 1, output

        with (data / "pg" / "postgresql.conf").open("a") as conf:
            conf.write("this line is not a setting\n")
        os.kill(_postmaster(data / "pg"), signal.SIGKILL)
        _wait_for_line(log, "giving up")
        down = serve.wait_for("/readyz", 503)
        assert "did not start again" in down.json()["detail"], down.text
        assert serve.process.poll() is None  # the server itself lives on: /healthz answers
        assert http.get("/healthz").status_code == 200
    output = log.read_text()
    assert output.count("embedded PostgreSQL did not start (attempt") == 2, output
    assert output.count("giving up") == 1 and "Traceback" not in output, output


# Runs the rest of its command line as a child subreaper (kept across exec), as PID 1 of a
# container is: orphans, the postmaster among them once pg_ctl exits, become its children.
SUBREAPER = [
    sys.executable,
    "-c",
    "import ctypes, os, sys; ctypes.CDLL(None).prctl(36, 1, 0, 0, 0);"  # PR_SET_CHILD_SUBREAPER
    " os.execv(sys.argv[1], sys.argv[1:])",
]


def test_serve_as_a_containers_init_reaps_its_killed_postgres_and_restarts_it(
    tmp_path: Path,
) -> None:
    """`pgask serve` as a container's PID 1 (the image without DATABASE_URL) or under a
    subreaper kept a killed postmaster as its zombie: the wheel took it for a running server,
    and the restarts failed until the keeper gave up."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    env = env_without_pgask_settings(
        PGASK_DATA_DIR=str(data), PGASK_INGEST_WORKER="0", PGASK_LOG_FORMAT="text"
    )
    log = tmp_path / "serve.log"
    with ServeProcess(env, log, wrapper=SUBREAPER) as serve:
        serve.wait_for("/readyz", 200)
        killed = psutil.Process(_postmaster(data / "pg"))
        assert killed.ppid() == serve.process.pid  # given to pgask serve, as to a PID 1
        killed.kill()
        serve.wait_for("/readyz", 200, seconds=120)
        assert _postmaster(data / "pg") != killed.pid
        assert not psutil.pid_exists(killed.pid)  # reaped, not left a zombie
    output = log.read_text()
    assert output.count(f"embedded PostgreSQL (pid {killed.pid}) died; restarting it") == 1
    assert "giving up" not in output and "Traceback" not in output, output


_DIES_UNWATCHED = """
import time
import psutil
from app.config import get_settings
from app.db.embedded import database_url

settings = get_settings()
database_url(settings)  # starts the embedded server, which this process is the last user of
pid_file = settings.database.data_dir / "pg" / "postmaster.pid"
postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
postmaster.kill()
while postmaster.status() != psutil.STATUS_ZOMBIE:
    time.sleep(0.05)
"""


def test_a_command_whose_postgres_died_unwatched_does_not_stop_its_zombie(
    tmp_path: Path,
) -> None:
    """A command that does not watch its server (a search, say), as a subreaper: at exit
    the wheel stopped the postmaster it recorded, which psutil calls running as a zombie, so
    pg_ctl waited 60 s for it, failed, and the wheel logged the failure."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    env = env_without_pgask_settings(PGASK_DATA_DIR=str(data))
    done = subprocess.run(
        [*SUBREAPER, sys.executable, "-c", _DIES_UNWATCHED],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=180,
    )
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "Failed postgres command" not in err and "Traceback" not in err, err
