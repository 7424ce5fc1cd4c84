"""`pgask serve --workers 2`: two server processes on one port and one database, with
/metrics summed over both (prometheus_client multiprocess mode)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from tests.cli import PGASK, ROOT, env_without_pgask_settings
from tests.servers import ServeProcess

MAX_REQUESTS = 1600


def _get(url: str) -> int:
    return httpx.get(url, timeout=60).status_code


ROUTE = "/v1/collections"
COUNTED = re.compile(
    rf'^pgask_http_requests_total\{{method="GET",route="{ROUTE}",status="200"\}} (\S+)$', re.M
)


def _writers(metrics_dir: Path) -> set[str]:
    """The processes that counted a request to ROUTE (prometheus_client keeps each process's
    counters in a file named by its pid, label values written as they are)."""
    files = metrics_dir.glob("counter_*.db")
    return {f.name for f in files if f'"{ROUTE}"'.encode() in f.read_bytes()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[str]) -> None:
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass  # still starting
        time.sleep(0.2)


def test_two_workers_serve_one_port_and_metrics_count_both(db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = env_without_pgask_settings(
        DATABASE_URL=db_url, PGASK_INGEST_WORKER="0", TMPDIR=str(tmp_path)
    )
    proc = subprocess.Popen(
        [*PGASK, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_ready(url, proc)
        # In the serving process's own temporary folder (app/tempdir.py).
        metrics_dir = next(tmp_path.glob("pgask-proc-*/pgask-metrics-*"))
        sent = 0
        # Rounds of requests, each on a connection of its own and several at once, until
        # both workers have counted some (the kernel picks which worker accepts).
        while len(_writers(metrics_dir)) < 2 and sent < MAX_REQUESTS:
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda _: _get(f"{url}{ROUTE}"), range(16)))
            assert statuses == [200] * 16
            sent += 16
        assert len(_writers(metrics_dir)) == 2  # both worker processes served ROUTE
        metrics = httpx.get(f"{url}/metrics").text
        served = COUNTED.search(metrics)
        assert served is not None and float(served.group(1)) == sent
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert not list(tmp_path.glob("pgask-metrics-*"))  # serve removed its metrics folder


def test_workers_on_the_embedded_server_stop_it_when_serve_exits(tmp_path: Path) -> None:
    """The workers end with os._exit and never leave the wheel's list of the server's
    users; serve, exiting last, must still stop PostgreSQL."""
    pgdata = tmp_path / "data" / "pg"
    env = env_without_pgask_settings(
        PGASK_DATA_DIR=str(tmp_path / "data"), PGASK_INGEST_WORKER="0", TMPDIR=str(tmp_path)
    )
    with ServeProcess(env, tmp_path / "serve.log", args=["--workers", "2"]) as serve:
        serve.wait_for("/readyz", 200)
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        assert psutil.pid_exists(postmaster)
    assert serve.process.returncode is not None
    assert not (pgdata / "postmaster.pid").exists(), (tmp_path / "serve.log").read_text()
    assert _gone(postmaster)


def _gone(pid: int) -> bool:
    """Ended: no such process, or one its parent has not reaped yet."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
