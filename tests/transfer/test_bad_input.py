"""Every bad export or import is one line on stderr, a non-zero exit, and changes nothing:
no file written, no collection (not even a staging one) left behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.config import Settings
from app.db.models import Collection
from app.errors import InvalidInput
from ingest.transfer.format import KEY_COLLECTION, KEY_COUNTS, KEY_VERSION
from ingest.transfer.importer import import_collection
from tests.transfer.conftest import pgask

pytestmark = pytest.mark.anyio


async def state(conn: psycopg.AsyncConnection) -> tuple[Any, ...]:
    cursor = await conn.execute(
        "SELECT (SELECT array_agg(name ORDER BY name) FROM collections),"
        " (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)"
    )
    found = await cursor.fetchone()
    await conn.commit()
    assert found is not None
    return tuple(found)


def refused(args: list[str], settings: Settings, message: str) -> None:
    done = pgask(args, settings)
    assert done.returncode == 1, done.stdout
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("pgask: error: "), done.stderr
    assert message in done.stderr


def rewritten(source: Path, target: Path, **changes: bytes) -> Path:
    """The export with some header values changed (the rows as they were)."""
    table = pq.read_table(source)
    metadata = dict(table.schema.metadata) | {k.encode(): v for k, v in changes.items()}
    pq.write_table(table.replace_schema_metadata(metadata), target)
    return target


async def test_truncated_files_leave_nothing(
    exported: Path, settings: Settings, conn: psycopg.AsyncConnection, tmp_path: Path
) -> None:
    data = await anyio.Path(exported).read_bytes()
    before = await state(conn)
    for cut in (0, 4, len(data) // 10, len(data) // 2, len(data) - 9, len(data) - 1):
        short = tmp_path / f"cut-{cut}.parquet"
        short.write_bytes(data[:cut])
        refused(["import", str(short), "--as", "cut"], settings, "not a pgask export")
    assert await state(conn) == before


async def test_failures_during_the_load_roll_everything_back(
    exported: Path, settings: Settings, conn: psycopg.AsyncConnection, tmp_path: Path
) -> None:
    before = await state(conn)
    # Bytes flipped inside the data pages: the header reads, the page checksums do not match.
    data = bytearray(await anyio.Path(exported).read_bytes())
    for offset in range(len(data) // 4, len(data) // 4 + 64):
        data[offset] ^= 0xFF
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(bytes(data))
    refused(["import", str(damaged), "--as", "damaged"], settings, "damaged export")
    # Every row written, then the count check fails: the whole transaction goes.
    counts = json.dumps({"documents": 5, "chunks": 9}).encode()
    extra = rewritten(exported, tmp_path / "extra.parquet", **{KEY_COUNTS.decode(): counts})
    refused(["import", str(extra), "--as", "extra"], settings, "its header says 5 and 9")
    assert await state(conn) == before


def with_column(source: Path, target: Path, name: str, change: Callable[[list[Any]], None]) -> Path:
    """The export with one column's values changed in place (its header as it was)."""
    table = pq.read_table(source)
    values = table.column(name).to_pylist()
    change(values)
    index = table.schema.get_field_index(name)
    column = pa.array(values, type=table.schema.field(name).type)
    pq.write_table(table.set_column(index, table.schema.field(name), column), target)
    return target


async def test_rows_the_database_refuses_roll_everything_back(
    exported: Path, settings: Settings, conn: psycopg.AsyncConnection, tmp_path: Path
) -> None:
    before = await state(conn)

    def repeat_ordinal(ordinals: list[Any]) -> None:
        ordinals[1] = ordinals[0]  # a/eiffel's two chunks both ordinal 0: a unique violation

    def nul_in_metadata(metadata: list[Any]) -> None:
        metadata[0] = json.dumps({"note": "\x00"})  # valid JSON, refused by jsonb

    repeated = with_column(exported, tmp_path / "r.parquet", "ordinal", repeat_ordinal)
    refused(["import", str(repeated), "--as", "repeated"], settings, "damaged export")
    nul = with_column(exported, tmp_path / "n.parquet", "metadata", nul_in_metadata)
    refused(["import", str(nul), "--as", "nul"], settings, "the database refused a value")
    header = json.loads(pq.read_schema(exported).metadata[KEY_COLLECTION])
    overlap = json.dumps(header | {"chunk_overlap": header["chunk_size"]}).encode()
    settings_file = rewritten(
        exported, tmp_path / "o.parquet", **{KEY_COLLECTION.decode(): overlap}
    )
    refused(["import", str(settings_file), "--as", "o"], settings, "settings are invalid")
    assert await state(conn) == before


async def test_a_document_repeated_across_batches_is_refused(
    exported: Path, conn: psycopg.AsyncConnection, tmp_path: Path
) -> None:
    """d/photo's rows renamed a/eiffel: in batches of 2 rows the first a/eiffel is written
    before the second is read; the second would overwrite it while the counts add up."""
    before = await state(conn)

    def repeat_document(ids: list[Any]) -> None:
        ids[5:8] = ["a/eiffel"] * 3

    path = with_column(exported, tmp_path / "d.parquet", "external_id", repeat_document)
    with pytest.raises(InvalidInput, match="not in external-id order"):
        await import_collection(conn, path, name="repeated-doc", batch_rows=2)
    assert await state(conn) == before


async def test_foreign_and_newer_files_are_refused(
    exported: Path, settings: Settings, conn: psycopg.AsyncConnection, tmp_path: Path
) -> None:
    before = await state(conn)
    newer = rewritten(exported, tmp_path / "v2.parquet", **{KEY_VERSION.decode(): b"2"})
    refused(["import", str(newer), "--as", "v2"], settings, "version 2 is newer")
    other = tmp_path / "other.parquet"
    pq.write_table(pq.read_table(exported).replace_schema_metadata({}), other)
    refused(["import", str(other)], settings, "not a pgask export (no pgask.format")
    text = tmp_path / "notes.parquet"
    text.write_text("just text\n")
    refused(["import", str(text)], settings, "not a pgask export")
    refused(["import", str(tmp_path / "missing.parquet")], settings, "no such file")
    assert await state(conn) == before


async def test_existing_names_need_as_or_replace_with_the_same_model(
    exported: Path,
    settings: Settings,
    conn: psycopg.AsyncConnection,
    tmp_path: Path,
) -> None:
    before = await state(conn)
    refused(["import", str(exported)], settings, "already exists; import --as NAME or --replace")
    header = json.loads(pq.read_schema(exported).metadata[KEY_COLLECTION])
    other_model = json.dumps(header | {"embedding_model": "other/model"}).encode()
    mismatched = rewritten(
        exported, tmp_path / "m.parquet", **{KEY_COLLECTION.decode(): other_model}
    )
    refused(["import", str(mismatched), "--replace"], settings, "import it --as another name")
    refused(["import", str(exported), "--as", "bad name!"], settings, "not a valid collection")
    assert await state(conn) == before


async def test_bad_exports_write_no_file(
    filled: Collection, settings: Settings, tmp_path: Path
) -> None:
    target = tmp_path / "out.parquet"
    refused(["export", "no-such-collection", "-o", str(target)], settings, "does not exist")
    assert [p async for p in anyio.Path(tmp_path).iterdir()] == []
    refused(
        ["export", filled.name, "-o", str(tmp_path / "no" / "dir.parquet")],
        settings,
        "cannot write",
    )
