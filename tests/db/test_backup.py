"""`pgask backup` while an ingest writes, `pgask restore` into a new data dir: the restored
server has every document committed before the backup began, and no half document."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import psycopg
import pytest

from app.config import Settings, load_settings
from app.db.embedded import database_url, libpq_url
from app.db.models import Collection
from tests.search.conftest import clustered, document, load

pytestmark = pytest.mark.anyio

CHUNKS = 3


def pgask(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGASK_")}
    environment.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=environment | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def write_until(
    conn: psycopg.AsyncConnection, collection: Collection, stop: anyio.Event, start: int
) -> int:
    """One 3-chunk document per transaction until told to stop; returns the next number."""
    vectors = clustered(CHUNKS)
    n = start
    while not stop.is_set():
        await load(conn, collection, [document(f"w{n:06d}", ["a", "b", "c"], vectors)])
        n += 1
    return n


async def test_backup_during_ingest_restores_whole_documents(
    conn: psycopg.AsyncConnection, collection: Collection, data_dir: Path, tmp_path: Path
) -> None:
    before = await write_until_count(conn, collection, 20)
    stop = anyio.Event()
    written: list[int] = []

    async def writer() -> None:
        written.append(await write_until(conn, collection, stop, before))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(writer)
        done = await anyio.to_thread.run_sync(
            lambda: pgask(["backup", str(tmp_path / "b")], PGASK_DATA_DIR=str(data_dir))
        )
        stop.set()
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout
    assert written[0] > before, "no document was written while the backup ran"

    restored_dir = tmp_path / "restored"
    done = pgask(["restore", str(tmp_path / "b")], PGASK_DATA_DIR=str(restored_dir))
    assert done.returncode == 0, done.stderr
    url = database_url(load_settings(pgask_data_dir=restored_dir, _env_file=None))
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as restored:
        cursor = await restored.execute(
            "SELECT d.external_id, d.chunk_count, count(c.id) FROM documents d"
            " JOIN collections k ON k.id = d.collection_id LEFT JOIN chunks c"
            " ON c.document_id = d.id WHERE k.name = %s GROUP BY d.collection_id, d.id",
            (collection.name,),
        )
        found = await cursor.fetchall()
    numbers = sorted(int(external_id[1:]) for external_id, _, _ in found)
    assert numbers[:before] == list(range(before))  # all committed before the backup
    assert numbers == list(range(len(numbers)))  # and a prefix of the rest: no gap
    assert {(chunks, copied) for _, chunks, copied in found} == {(CHUNKS, CHUNKS)}


async def write_until_count(
    conn: psycopg.AsyncConnection, collection: Collection, count: int
) -> int:
    vectors = clustered(CHUNKS)
    for n in range(count):
        await load(conn, collection, [document(f"w{n:06d}", ["a", "b", "c"], vectors)])
    return count


def test_refusals_are_one_line(tmp_path: Path, settings: Settings, data_dir: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file").write_text("x")
    cases = [
        (
            ["backup", str(tmp_path / "x")],
            {"DATABASE_URL": settings.database.url or ""},
            "DATABASE_URL is set",
        ),
        (["backup", str(taken)], {"PGASK_DATA_DIR": str(data_dir)}, "is not empty"),
        (["restore", str(taken)], {"PGASK_DATA_DIR": str(tmp_path / "new")}, "not a pgask backup"),
        (["restore", str(taken)], {"PGASK_DATA_DIR": str(data_dir)}, "is not empty"),
    ]
    for args, env, message in cases:
        done = pgask(args, **env)
        assert done.returncode == 1, (args, done.stdout)
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("pgask: error: ") and message in last, done.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "new" / "pg").exists()
