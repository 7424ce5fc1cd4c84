"""Every bad export or import is one line on stderr, a non-zero exit, and changes nothing:
no file written, no collection (not even a staging one) left behind."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.config import Settings
from app.db.models import Collection
from app.errors import InvalidInput
from ingest.transfer.format import KEY_COLLECTION, KEY_COUNTS, KEY_VERSION
from ingest.transfer.importer import import_collection
from tests.servers import ServerThread
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
        metadata[0] = json.dumps({"note": "\x00"})  # valid JSON, which jsonb refuses

    repeated = with_column(exported, tmp_path / "r.parquet", "ordinal", repeat_ordinal)
    refused(["import", str(repeated), "--as", "repeated"], settings, "damaged export")
    nul = with_column(exported, tmp_path / "n.parquet", "metadata", nul_in_metadata)
    refused(["import", str(nul), "--as", "nul"], settings, "must not contain NUL characters")
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


def _rows_of(path: Path, external_id: str) -> list[int]:
    ids = pq.read_table(path, columns=["external_id"]).column("external_id").to_pylist()
    return [n for n, found in enumerate(ids) if found == external_id]


def _set(column: str, external_id: str, value: Any) -> Callable[[Path, Path], Path]:
    """A change to one document's rows: `column` set to `value` in each of them."""

    def change(source: Path, target: Path) -> Path:
        rows = _rows_of(source, external_id)

        def update(values: list[Any]) -> None:
            for n in rows:
                values[n] = value

        return with_column(source, target, column, update)

    return change


def _header(**changes: Any) -> Callable[[Path, Path], Path]:
    def change(source: Path, target: Path) -> Path:
        header = json.loads(pq.read_schema(source).metadata[KEY_COLLECTION])
        collection = json.dumps(header | changes).encode()
        return rewritten(source, target, **{KEY_COLLECTION.decode(): collection})

    return change


def _version(value: bytes) -> Callable[[Path, Path], Path]:
    return lambda source, target: rewritten(source, target, **{KEY_VERSION.decode(): value})


DEEP = '{"a": ' * 200_000 + "1" + "}" * 200_000
#: (what is wrong, how to make it, what the one-line error says)
MALFORMED: list[tuple[str, Callable[[Path, Path], Path], str]] = [
    ("dimensions as text", _header(embedding_dimensions="384"), "'384' is not a number"),
    ("metadata 200,000 deep", _set("metadata", "b/everest", DEEP), "nests deeper than 200"),
    ("a chunk without text", _set("text", "b/everest", None), "chunk 0: no text"),
    ("bidi id", _set("external_id", "e/empty", "e/\u202egnp.md"), "bidirectional-override"),
    ("id with a newline", _set("external_id", "e/empty", "e/a\nb"), "control or bidi"),
    ("empty id", _set("external_id", "a/eiffel", ""), "empty document id"),
    ("a zero vector", _set("embedding", "b/everest", [0.0] * 384), "all zeros has no direction"),
    ("a 5 MB title", _set("title", "b/everest", "t" * 5_000_000), "at most 2000"),
    ("a 20 MB description", _header(description="d" * 20_000_000), "at most 2000"),
    ("101 access groups", _set("access", "b/everest", [f"g{n}" for n in range(101)]), "at most"),
    ("a negative ordinal", _set("ordinal", "b/everest", -1), "a negative ordinal"),
    ("page 0", _set("page", "b/everest", 0), "pages count from 1"),
    ("a negative token count", _set("token_count", "b/everest", -5), "token_count -5"),
    ("a lone surrogate in metadata", _set("metadata", "b/everest", '{"k": "\\ud800"}'), "lone"),
    ("format version -1", _version(b"-1"), "no format version -1"),
    ("format version 0", _version(b"0"), "no format version 0"),
    ("negative chunk_size", _header(chunk_size=-3), "chunk_size must be at least 1"),
]


@pytest.mark.parametrize(("label", "make", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_exports_are_refused_on_the_cli_and_over_http(
    exported: Path,
    settings: Settings,
    conn: psycopg.AsyncConnection,
    server: ServerThread,
    tmp_path: Path,
    label: str,
    make: Callable[[Path, Path], Path],
    message: str,
) -> None:
    """One line and exit 1 on the CLI, problem+json 422 over HTTP (its detail naming no
    temporary path of the server), and nothing created: no collection, no staging one."""
    before = await state(conn)
    path = make(exported, tmp_path / "bad.parquet")
    refused(["import", str(path), "--as", "bad-cli"], settings, message)
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
        with path.open("rb") as body:
            answer = await client.post("/v1/collections/bad-http/import", content=body.read())
    assert answer.status_code == 422, (label, answer.text)
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert message in detail and "\n" not in detail, detail
    assert "pgask-import-" not in detail and tempfile.gettempdir() not in detail, detail
    assert await state(conn) == before
