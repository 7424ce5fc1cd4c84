"""The `pgask` command line, run as real processes."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli import PGASK, env_without_pgask_settings, pgask


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A private data dir: these tests start their own embedded server, as a user would."""
    return env_without_pgask_settings(PGASK_DATA_DIR=str(tmp_path / "data"))


def test_db_upgrade_then_collections(cli_env: dict[str, str]) -> None:
    upgraded = pgask(["db", "upgrade"], cli_env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database at revision 0003_vector_type" in upgraded.stdout
    listed = pgask(["collections", "--json"], cli_env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"collections": []}


@pytest.mark.parametrize(
    ("variable", "value"),
    [("EMBEDDING_PROVIDER", "nope"), ("DATABASE_URL", "mysql://x/y"), ("PGASK_PORT", "http")],
)
def test_bad_setting_is_one_line_and_nonzero(
    cli_env: dict[str, str], variable: str, value: str
) -> None:
    result = pgask(["collections"], {**cli_env, variable: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"pgask: error: {variable}: ")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready within {seconds}s")


@contextlib.contextmanager
def _servers(env: dict[str, str], count: int) -> Iterator[list[tuple[str, subprocess.Popen]]]:
    """`count` `pgask serve` processes on the same data dir, each ready; (url, process)."""
    running: list[tuple[str, subprocess.Popen]] = []
    try:
        for _ in range(count):
            port = _free_port()
            proc = subprocess.Popen(
                [*PGASK, "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            running.append((f"http://127.0.0.1:{port}", proc))
            _wait_ready(running[-1][0], proc)
        yield running
    finally:
        for _, proc in running:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture
def two_servers(cli_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    with _servers(cli_env, 2) as running:
        yield running[0][0], running[1][0]


def test_two_serve_processes_share_one_database(two_servers: tuple[str, str]) -> None:
    first, second = two_servers
    created = httpx.post(f"{first}/v1/collections", json={"name": "shared"}, timeout=30)
    assert created.status_code == 201, created.text
    seen = httpx.get(f"{second}/v1/collections/shared", timeout=30)
    assert seen.status_code == 200
    assert seen.json()["embedding"]["dimensions"] == 384


def test_the_last_serve_to_stop_stops_the_embedded_postgres(cli_env: dict[str, str]) -> None:
    """SIGTERM (what systemd, Docker and Ctrl-C-less shells send) ends `pgask serve`
    cleanly: the embedded server keeps running for the other process, and stops with the
    last one (it used to be left running: uvicorn's exit skipped the atexit handler)."""
    postmaster = Path(cli_env["PGASK_DATA_DIR"]) / "pg" / "postmaster.pid"
    with _servers(cli_env, 2) as running:
        (_, first), (second_url, second) = running
        first.terminate()
        assert first.wait(timeout=30) == 128 + signal.SIGTERM
        assert httpx.get(f"{second_url}/readyz", timeout=10).status_code == 200
        assert postmaster.exists()
        second.terminate()
        assert second.wait(timeout=30) == 128 + signal.SIGTERM
    _wait_stopped(postmaster)


def test_a_killed_process_does_not_keep_the_embedded_postgres_running(
    cli_env: dict[str, str],
) -> None:
    """A `pgask serve` killed with SIGKILL never says it is gone; the next pgask process
    forgets it, so the server stops when that process exits."""
    postmaster = Path(cli_env["PGASK_DATA_DIR"]) / "pg" / "postmaster.pid"
    with _servers(cli_env, 1) as [(_, killed)]:
        killed.kill()
        killed.wait(timeout=30)
    assert postmaster.exists()  # still running, with a dead user on its list
    listed = pgask(["collections", "--json"], cli_env)
    assert listed.returncode == 0, listed.stderr
    _wait_stopped(postmaster)


def _wait_stopped(postmaster: Path) -> None:
    deadline = time.monotonic() + 30
    while postmaster.exists():
        assert time.monotonic() < deadline, "the embedded PostgreSQL is still running"
        time.sleep(0.2)


def test_serve_refuses_a_public_address_without_keys(cli_env: dict[str, str]) -> None:
    result = pgask(["serve", "--host", "0.0.0.0", "--port", str(_free_port())], cli_env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("pgask: error: PGASK_HOST: refusing to listen on 0.0.0.0")
