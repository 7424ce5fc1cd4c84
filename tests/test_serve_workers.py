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

from tests.cli import PGASK, ROOT, env_without_pgask_settings

REQUESTS = 48


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
        # Each request on a connection of its own, several at once: both workers accept.
        with ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(lambda _: httpx.get(f"{url}/healthz").status_code, range(REQUESTS))
            )
        assert statuses == [200] * REQUESTS
        (metrics_dir,) = tmp_path.glob("pgask-metrics-*")
        writers = {re.sub(r"\D", "", f.name) for f in metrics_dir.glob("counter_*.db")}
        assert len(writers) == 2  # both worker processes counted requests
        metrics = httpx.get(f"{url}/metrics").text
        served = re.search(
            r'^pgask_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$',
            metrics,
            re.M,
        )
        assert served is not None and float(served.group(1)) == REQUESTS
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert not list(tmp_path.glob("pgask-metrics-*"))  # serve removed its metrics folder
