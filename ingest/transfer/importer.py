"""Import a pgask export into a collection, all or nothing, with no embedding calls.

Everything happens in one transaction: the collection is created under a staging name, the
chunks go in through the binary-COPY writer row group by row group, the HNSW index is built
once at the end, and only then is the staging collection renamed (replacing the old one with
`replace`). A damaged file, a wrong count, or a killed process rolls it all back, so no
partial collection is ever visible. Building the index inside the transaction holds a SHARE
lock on the new collection's chunks partition only; making and dropping partitions takes a
brief ACCESS EXCLUSIVE lock on the parents (it waits for transactions already using them).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from app.catalog import COLLECTION_NAME_PATTERN
from app.db.database import Database
from app.db.schema import (
    PARTITION_DDL_LOCK,
    create_hnsw_index_sql,
    create_partitions_sql,
    drop_partitions_sql,
)
from app.errors import Conflict, InvalidInput
from app.keys import check_groups
from app.validation import (
    MAX_ACCESS_GROUPS,
    check_document_fields,
    check_text,
    check_vectors,
    parse_json,
    shown_id,
)
from ingest.transfer.format import ROW_GROUP_ROWS, CollectionHeader, Counts, read_header
from ingest.writer import ChunkRecord, DocumentRecord, Target, analyze_chunks, write_documents

_INSERT_COLLECTION = """
INSERT INTO collections (name, description, embedding_provider, embedding_model,
                         embedding_dimensions, chunk_size, chunk_overlap, text_config,
                         vector_type)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::regconfig, %s) RETURNING id
"""
_EXISTING = """
SELECT id, embedding_provider, embedding_model, embedding_dimensions
FROM collections WHERE name = %s FOR UPDATE
"""


@dataclass
class ImportSeconds:
    """Where an import's time went. `decode` (Parquet to documents, in a thread) overlaps
    `write` (the binary COPY, waited for here), so the phases add up to more than the
    wall time when the two run side by side."""

    decode: float = 0.0
    write: float = 0.0
    index: float = 0.0  # the HNSW build
    analyze: float = 0.0

    @contextmanager
    def timing(self, phase: Literal["write", "index", "analyze"]) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, phase, getattr(self, phase) + time.perf_counter() - started)


@dataclass(frozen=True)
class ImportResult:
    name: str
    documents: int
    chunks: int
    replaced: bool
    seconds: ImportSeconds = field(default_factory=ImportSeconds)


def open_file(
    path: Path, shown_as: str | None = None
) -> tuple[pq.ParquetFile, CollectionHeader, Counts]:
    """Open and check an export's header; InvalidInput for anything that is not one.
    Errors name the file `shown_as` (default: its path; a server names an upload without
    its temporary path)."""
    label = shown_as or str(path)
    try:
        # pre_buffer off: with it, iter_batches keeps what it read of every row group
        # until the file is closed, and memory grows with the file (measured: 164 MB of
        # Arrow buffers at the end of a 100,000 x 384 file, 18 MB without).
        parquet = pq.ParquetFile(path, page_checksum_verification=True, pre_buffer=False)
    except FileNotFoundError as exc:
        raise InvalidInput(f"{label}: no such file") from exc
    except (OSError, pa.ArrowException) as exc:
        raise InvalidInput(f"{label}: not a pgask export (not a readable Parquet file)") from exc
    header, counts = read_header(parquet.schema_arrow)
    return parquet, header, counts


async def import_collection(
    conn: psycopg.AsyncConnection[Any],
    path: Path,
    *,
    name: str | None = None,
    replace: bool = False,
    on_rows: Callable[[int], None] = lambda _rows: None,
    batch_rows: int = ROW_GROUP_ROWS,
    shown_as: str | None = None,
) -> ImportResult:
    """Load the export at `path` as collection `name` (default: the exported name).
    `conn` comes from `Database.owner_connection()` (pgvector registered, not in autocommit mode,
    errors mapped on the way out). Errors name the file `shown_as` (default: its path).

    Imports, and collection creations, are serialized (PARTITION_DDL_LOCK, taken before
    anything is read or created): a second import of one name finds the first's collection
    and is a Conflict, never a deadlock or a unique violation."""
    label = shown_as or str(path)
    parquet, header, counts = open_file(path, label)
    target_name = name or header.name
    if not re.match(COLLECTION_NAME_PATTERN, target_name):
        raise InvalidInput(f"{target_name!r} is not a valid collection name")
    seconds = ImportSeconds()
    decoder = _Decoder(parquet.iter_batches(batch_rows), str(path), label)
    async with conn.transaction():
        await conn.execute(PARTITION_DDL_LOCK)  # before anything is read or created
        old = await _existing(conn, target_name, header, replace)
        target = await _create_staging(conn, header)
        try:
            loaded = await _load(conn, target, decoder, on_rows, seconds)
        except psycopg.errors.IntegrityError as exc:
            # A repeated ordinal: the file's fault, which map_db_errors cannot know (a value
            # PostgreSQL refuses, DataError, it turns into InvalidInput on its own).
            # The primary message only: DETAIL and CONTEXT lines would break the one-line rule.
            raise InvalidInput(f"{label}: damaged export: {exc.diag.message_primary}") from exc
        if loaded != counts:
            raise InvalidInput(
                f"{label}: damaged export: read {loaded.documents} documents and "
                f"{loaded.chunks} chunks, its header says {counts.documents} and {counts.chunks}"
            )
        await conn.execute("SELECT set_config('maintenance_work_mem', '512MB', true)")
        index = create_hnsw_index_sql(
            target.collection_id, target.dimensions, storage=target.vector_type
        )
        with seconds.timing("index"):
            await conn.execute(index)
        if old is not None:
            for statement in drop_partitions_sql(old):
                await conn.execute(statement)
            await conn.execute("DELETE FROM collections WHERE id = %s", (old,))
        await _rename(conn, target_name, target.collection_id)
    with seconds.timing("analyze"):
        await analyze_chunks(conn, target.collection_id)
    await conn.commit()
    seconds.decode = decoder.seconds
    return ImportResult(target_name, loaded.documents, loaded.chunks, old is not None, seconds)


async def _existing(
    conn: psycopg.AsyncConnection[Any], name: str, header: CollectionHeader, replace: bool
) -> int | None:
    """The id of the collection the import replaces, after checking it may."""
    row = await (await conn.execute(_EXISTING, (name,))).fetchone()
    if row is None:
        return None
    if not replace:
        raise Conflict(f"collection {name!r} already exists; import --as NAME or --replace")
    pinned = tuple(row[1:])
    incoming = (header.embedding_provider, header.embedding_model, header.embedding_dimensions)
    if pinned != incoming:
        raise Conflict(
            f"collection {name!r} uses {pinned[0]} model {pinned[1]!r} ({pinned[2]} dimensions) "
            f"but the export was made with {incoming[0]} model {incoming[1]!r} "
            f"({incoming[2]} dimensions); import it --as another name"
        )
    return int(row[0])


async def _rename(conn: psycopg.AsyncConnection[Any], name: str, collection_id: int) -> None:
    """The staging collection takes its name. A collection of that name created meanwhile
    by other means than an import (which waits on the lock) is a Conflict."""
    try:
        async with conn.transaction():
            await conn.execute(
                "UPDATE collections SET name = %s WHERE id = %s", (name, collection_id)
            )
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(
            f"collection {name!r} was created by another request meanwhile; import --as"
            " another name, or --replace"
        ) from exc


async def _create_staging(conn: psycopg.AsyncConnection[Any], header: CollectionHeader) -> Target:
    found = await conn.execute(
        "SELECT 1 FROM pg_ts_config WHERE cfgname = %s", (header.text_config,)
    )
    if await found.fetchone() is None:
        raise InvalidInput(f"text_config {header.text_config!r} does not exist on this server")
    staging = f"{header.name}.import-{uuid.uuid4().hex}"  # never seen: renamed before commit
    values = (
        staging,
        header.description,
        header.embedding_provider,
        header.embedding_model,
        header.embedding_dimensions,
        header.chunk_size,
        header.chunk_overlap,
        header.text_config,
        header.vector_type,
    )
    try:
        async with conn.transaction():
            row = await (await conn.execute(_INSERT_COLLECTION, values)).fetchone()
            assert row is not None
            for statement in create_partitions_sql(int(row[0]), header.vector_type):
                await conn.execute(statement)
    except psycopg.errors.CheckViolation as exc:
        reason = exc.diag.message_primary  # without DETAIL: one line
        raise InvalidInput(f"the export's collection settings are invalid: {reason}") from exc
    return Target(int(row[0]), header.embedding_dimensions, header.text_config, header.vector_type)


async def _load(
    conn: psycopg.AsyncConnection[Any],
    target: Target,
    decoder: _Decoder,
    on_rows: Callable[[int], None],
    seconds: ImportSeconds,
) -> Counts:
    """Write every document, a batch at a time. The next batch is decoded in a thread while
    this one is copied: the server's work and this process's overlap, and an HTTP import
    does not hold up the event loop while it decodes."""
    loaded = Counts(0, 0)
    upcoming = asyncio.ensure_future(asyncio.to_thread(decoder.next))
    try:
        while (decoded := await upcoming) is not None:
            documents, rows = decoded
            upcoming = asyncio.ensure_future(asyncio.to_thread(decoder.next))
            with seconds.timing("write"):
                loaded = await _write(conn, target, documents, loaded)
            on_rows(rows)
    finally:
        # Never leave the thread reading a file the caller is about to delete.
        await asyncio.wait({upcoming})
        if not upcoming.cancelled():
            upcoming.exception()  # retrieved: its error (if any) is not the one to report
    return loaded


async def _write(
    conn: psycopg.AsyncConnection[Any],
    target: Target,
    documents: list[DocumentRecord],
    so_far: Counts,
) -> Counts:
    if documents:
        await write_documents(conn, target, documents)
    chunks = sum(len(d.chunks) for d in documents)
    return Counts(so_far.documents + len(documents), so_far.chunks + chunks)


class _Decoder:
    """The file's rows as whole documents, one batch at a time, in one thread at a time.
    A document's rows may straddle two batches: the last document of a batch waits for the
    next batch. Whatever is wrong with a row is InvalidInput naming the file `label` (never
    `path`, which may be a server's temporary file)."""

    def __init__(self, batches: Iterator[pa.RecordBatch], path: str, label: str) -> None:
        self._batches = batches
        self._path, self._label = path, label
        self._pending: list[dict[str, Any]] = []
        self._last_id: str | None = None
        self.seconds = 0.0

    def next(self) -> tuple[list[DocumentRecord], int] | None:
        """The documents completed by the next batch and that batch's row count; None at
        the end of the file."""
        started = time.perf_counter()
        try:
            return self._next()
        except InvalidInput as exc:
            raise InvalidInput(f"{self._label}: damaged export: {exc.detail}") from exc
        except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
            # A damaged page (checksum, truncation), or a string column that is not UTF-8
            reason = str(exc).replace(self._path, self._label).splitlines()[0]
            raise InvalidInput(f"{self._label}: damaged export: {reason}") from exc
        finally:
            self.seconds += time.perf_counter() - started

    def _next(self) -> tuple[list[DocumentRecord], int] | None:
        batch = next(self._batches, None)
        while batch is not None and not batch.num_rows:
            batch = next(self._batches, None)
        if batch is None:
            if not self._pending:
                return None
            rows, self._pending = self._pending, []
            return self._documents(rows), 0
        rows = self._pending + _rows(batch)
        last = rows[-1]["external_id"]
        split = next(i for i, r in enumerate(rows) if r["external_id"] == last)
        self._pending = rows[split:]
        return self._documents(rows[:split]), batch.num_rows

    def _documents(self, rows: list[dict[str, Any]]) -> list[DocumentRecord]:
        documents = _documents(rows)
        if documents and self._last_id is not None and documents[0].external_id <= self._last_id:
            raise InvalidInput("documents are not in external-id order")
        if documents:
            self._last_id = documents[-1].external_id
        return documents


def _rows(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    column = batch.column("embedding")
    dims = column.type.list_size
    flat = column.values.slice(column.offset * dims, len(column) * dims)
    vectors = flat.to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dims)
    rows: list[dict[str, Any]] = batch.drop_columns(["embedding"]).to_pylist()
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    present = np.flatnonzero(valid)
    check_vectors(vectors[present], lambda n: _chunk_name(rows[int(present[n])]) + ": embedding")
    for row, vector, is_valid in zip(rows, vectors, valid.tolist(), strict=True):
        row["embedding"] = vector if is_valid else None
    return rows


def _documents(rows: list[dict[str, Any]]) -> list[DocumentRecord]:
    """Consecutive rows of one external id make one document; ids must come in order."""
    documents: list[DocumentRecord] = []
    start = 0
    for end in range(1, len(rows) + 1):
        if end < len(rows) and rows[end]["external_id"] == rows[start]["external_id"]:
            continue
        documents.append(_document(rows[start:end]))
        start = end
    ids = [d.external_id for d in documents]
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        raise InvalidInput("documents are not in external-id order")
    return documents


def _document(rows: list[dict[str, Any]]) -> DocumentRecord:
    """One document, checked as the API checks one (app/validation.py)."""
    first = rows[0]
    where = f"document {shown_id(first['external_id'])}"
    try:
        metadata = parse_json(first["metadata"], "metadata")
        check_document_fields(first["external_id"], first["title"], first["source"], metadata)
        if len(first["access"]) > MAX_ACCESS_GROUPS:
            raise InvalidInput(
                f"access: {len(first['access'])} groups; at most {MAX_ACCESS_GROUPS}"
            )
        access = check_groups(first["access"], "access")
        chunks = [
            _chunk(r) for r in rows if r["ordinal"] is not None and r["embedding"] is not None
        ]
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{where}: metadata is not JSON ({exc.msg})") from exc
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.detail}") from exc
    return DocumentRecord(
        first["external_id"],
        content_hash=first["content_hash"],
        chunks=chunks,
        title=first["title"],
        source=first["source"],
        metadata=metadata,
        access=access,
    )


def _chunk(row: dict[str, Any]) -> ChunkRecord:
    """One chunk row, checked: what the pipeline writes has text, an ordinal and a token
    count of at least 0, and a page (PDFs only) of at least 1."""
    ordinal, text, tokens, page = row["ordinal"], row["text"], row["token_count"], row["page"]
    where = f"chunk {ordinal}"
    if ordinal < 0:
        raise InvalidInput(f"{where}: a negative ordinal")
    if text is None or not text.strip():
        raise InvalidInput(f"{where}: no text")
    check_text(text, f"{where}: text")
    section = check_text(row["section"] or "", f"{where}: section")
    if tokens is None or tokens < 0:
        raise InvalidInput(f"{where}: token_count {tokens} is not a count")
    if page is not None and page < 1:
        raise InvalidInput(f"{where}: page {page} (pages count from 1)")
    return ChunkRecord(ordinal, text, tokens, row["embedding"], section=section, page=page)


def _chunk_name(row: dict[str, Any]) -> str:
    return f"document {shown_id(row['external_id'])} chunk {row['ordinal']}"


async def import_into(
    db: Database,
    path: Path,
    *,
    name: str | None = None,
    replace: bool = False,
    on_rows: Callable[[int], None] = lambda _rows: None,
    shown_as: str | None = None,
) -> ImportResult:
    """`import_collection` on a connection of the owner's pool: an import creates a
    collection, its partitions and index and writes with binary COPY (admins only, which the
    caller checks)."""
    async with db.owner_connection() as conn:
        return await import_collection(
            conn, path, name=name, replace=replace, on_rows=on_rows, shown_as=shown_as
        )
