"""Two imports of one new name at once: one creates it, the other is a 409 Conflict (one
line on the CLI), never a deadlock, a 503 or a raw unique violation.

The two are made to overlap for certain: the test holds a SHARE lock on `collections`, so
each import stops at its first write there; once both wait, the lock goes and they race."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import psycopg
import pytest

from app.config import Settings
from tests.servers import ServerThread
from tests.transfer.conftest import pgask_popen

pytestmark = pytest.mark.anyio  # `exported` comes from async fixtures; the test blocks

# pg_locks, not pg_stat_activity: the latter is a snapshot for the whole transaction
WAITING = "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"


def _raced(pg_dsn: str, starts: list[Callable[[], None]]) -> None:
    """Run `starts` (each starts one import) while `collections` is locked, and let them go
    once every one of them waits for a lock."""
    with psycopg.connect(pg_dsn) as holder:
        holder.execute("LOCK TABLE collections IN SHARE MODE")
        for start in starts:
            start()
        deadline = time.monotonic() + 120
        while holder.execute(WAITING).fetchone() != (len(starts),):
            assert time.monotonic() < deadline, "the imports never reached the database"
            time.sleep(0.05)
        holder.commit()


def _http_import(
    url: str, name: str, body: bytes, answers: list[httpx.Response]
) -> threading.Thread:
    def run() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            answers.append(client.post(f"/v1/collections/{name}/import", content=body))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def test_two_http_imports_of_one_name(
    exported: Path, server: ServerThread, pg_dsn: str, collection_name: str
) -> None:
    await anyio.to_thread.run_sync(_two_http_imports, exported, server, pg_dsn, collection_name)


def _two_http_imports(exported: Path, server: ServerThread, pg_dsn: str, name: str) -> None:
    collection_name = f"{name}-race"  # `name` is the exported collection's
    body = exported.read_bytes()
    answers: list[httpx.Response] = []
    threads: list[threading.Thread] = []
    _raced(
        pg_dsn,
        [lambda: threads.append(_http_import(server.url, collection_name, body, answers))] * 2,
    )
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409], [a.text for a in answers]
    [lost] = [a for a in answers if a.status_code == 409]
    assert lost.headers["content-type"] == "application/problem+json"
    assert f"collection {collection_name!r} already exists" in lost.json()["detail"]


async def test_the_cli_beside_http(
    exported: Path, server: ServerThread, settings: Settings, pg_dsn: str, collection_name: str
) -> None:
    await anyio.to_thread.run_sync(
        _cli_beside_http, exported, server, settings, pg_dsn, collection_name
    )


def _cli_beside_http(
    exported: Path, server: ServerThread, settings: Settings, pg_dsn: str, name: str
) -> None:
    collection_name = f"{name}-race"  # `name` is the exported collection's
    answers: list[httpx.Response] = []
    threads: list[threading.Thread] = []
    processes: list[subprocess.Popen[str]] = []
    _raced(
        pg_dsn,
        [
            lambda: threads.append(
                _http_import(server.url, collection_name, exported.read_bytes(), answers)
            ),
            lambda: processes.append(
                pgask_popen(["import", str(exported), "--as", collection_name], settings)
            ),
        ],
    )
    threads[0].join()
    out, err = processes[0].communicate(timeout=300)
    [answer] = answers
    if answer.status_code == 201:  # the CLI lost: one line, exit 1
        assert processes[0].returncode == 1, out
        assert err.count("\n") == 1 and err.startswith("pgask: error: "), err
        assert "already exists" in err
    else:
        assert answer.status_code == 409, answer.text
        assert processes[0].returncode == 0, err


async def test_two_http_imports_of_two_names(
    exported: Path, server: ServerThread, pg_dsn: str, collection_name: str
) -> None:
    """Different names do not wait for each other's lock, and both are made."""
    await anyio.to_thread.run_sync(_two_names, exported, server, pg_dsn, collection_name)


def _two_names(exported: Path, server: ServerThread, pg_dsn: str, name: str) -> None:
    body = exported.read_bytes()
    answers: list[httpx.Response] = []
    threads: list[threading.Thread] = []
    _raced(
        pg_dsn,
        [
            lambda: threads.append(_http_import(server.url, f"{name}-one", body, answers)),
            lambda: threads.append(_http_import(server.url, f"{name}-two", body, answers)),
        ],
    )
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]


async def test_two_collections_created_at_once(
    server: ServerThread, pg_dsn: str, collection_name: str
) -> None:
    """POST /v1/collections makes partitions as an import does, in the same order."""
    await anyio.to_thread.run_sync(_two_creates, server, pg_dsn, collection_name)


def _two_creates(server: ServerThread, pg_dsn: str, name: str) -> None:
    answers: list[httpx.Response] = []

    def create(suffix: str) -> threading.Thread:
        def run() -> None:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                answers.append(client.post("/v1/collections", json={"name": f"{name}-{suffix}"}))

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    threads: list[threading.Thread] = []
    _raced(pg_dsn, [lambda: threads.append(create("a")), lambda: threads.append(create("b"))])
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
