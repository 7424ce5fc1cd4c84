"""Export a collection to the pgask Parquet format, streamed: a server-side cursor reads
`ROW_GROUP_ROWS` chunks at a time inside one repeatable-read snapshot, each batch becomes a
row group, and the encoded bytes are handed on as soon as they exist."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from pgvector import HalfVector, Vector

from app.access import Principal
from app.db.database import Database
from app.db.schema import embedding_column
from app.errors import NotFound
from ingest.transfer.format import ROW_GROUP_ROWS, CollectionHeader, Counts, arrow_schema

_HEADER = """
SELECT id, name, description, embedding_provider, embedding_model, embedding_dimensions,
       chunk_size, chunk_overlap, text_config::text, vector_type
FROM collections WHERE name = %s
"""
_COUNTS = """
SELECT (SELECT count(*) FROM documents WHERE collection_id = %(c)s),
       (SELECT count(*) FROM chunks WHERE collection_id = %(c)s)
"""
# Documents in external-id order and each one's chunks in order, so that an importer sees
# every document's rows together. A document without chunks gives one row of nulls. The
# embedding is read from the collection's vector type's column.
_ROWS = """
SELECT d.external_id, d.title, d.source, d.metadata::text, d.content_hash, d.access,
       c.ordinal, c.text, c.section, c.page, c.token_count, {embedding}
FROM documents d
LEFT JOIN chunks c ON c.collection_id = d.collection_id AND c.document_id = d.id
WHERE d.collection_id = %s
ORDER BY d.external_id, c.ordinal
"""


class _Buffer:
    """The file object pyarrow writes to; `drain` hands on what was written so far."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


class Export:
    """An export that has found its collection (so a missing one fails before any byte is
    sent) and streams the file from `chunks()`. Owns its connection until closed."""

    def __init__(
        self,
        conn: psycopg.AsyncConnection[Any],
        collection_id: int,
        header: CollectionHeader,
        counts: Counts,
        owned: AsyncExitStack | None = None,
    ) -> None:
        self._conn = conn
        self._owned = owned  # the pooled connection `start_export` opened, given back on close
        self._collection_id = collection_id
        self.header = header
        self.counts = counts

    async def chunks(self) -> AsyncIterator[bytes]:
        """The Parquet file, piece by piece (one or more pieces per row group)."""
        buffer = _Buffer()
        schema = arrow_schema(self.header, self.counts)
        writer = pq.ParquetWriter(buffer, schema, compression="zstd", write_page_checksum=True)
        async with self._conn.cursor(name="pgask_export", binary=True) as cursor:
            column = embedding_column(self.header.vector_type, "c")
            await cursor.execute(_ROWS.format(embedding=column), (self._collection_id,))
            while rows := await cursor.fetchmany(ROW_GROUP_ROWS):
                writer.write_batch(_batch(rows, schema))
                yield buffer.drain()
        writer.close()
        yield buffer.drain()

    async def close(self) -> None:
        try:
            await self._conn.rollback()  # read only: ends the snapshot
        finally:
            if self._owned is not None:
                await self._owned.aclose()


async def start_export(db: Database, principal: Principal | None, name: str) -> Export:
    """An export of collection `name` read as `principal` (row-level security) on a pooled
    request connection that the export holds, with its snapshot, until `Export.close()`;
    NotFound when the principal sees no such collection."""
    stack = AsyncExitStack()
    conn = await stack.enter_async_context(db.connection(principal))
    try:
        export = await open_export(conn, name)
    except BaseException:
        await stack.aclose()
        raise
    export._owned = stack
    return export


async def open_export(conn: psycopg.AsyncConnection[Any], name: str) -> Export:
    """Begin a consistent read of collection `name` on `conn` (pgvector registered, not in
    autocommit mode, no transaction begun); NotFound when there is no such collection."""
    # One snapshot for the counts and every row; the first statement of the transaction.
    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    cursor = await conn.execute(_HEADER, (name,))
    row = await cursor.fetchone()
    if row is None:
        await conn.rollback()
        raise NotFound(f"collection {name!r} does not exist")
    cursor = await conn.execute(_COUNTS, {"c": row[0]})
    documents, chunks = await cursor.fetchone() or (0, 0)
    return Export(conn, row[0], CollectionHeader(*row[1:]), Counts(documents, chunks))


def _batch(rows: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    dims = schema.field("embedding").type.list_size
    vectors = columns[-1]
    # Fill the rows of chunkless documents with zeros under a null mask, so one flat float32
    # array carries the whole batch.
    flat = np.zeros((len(rows), dims), dtype=np.float32)
    present = np.array([v is not None for v in vectors])
    if present.any():
        flat[present] = np.stack([_array(v) for v in vectors if v is not None])
    embedding = pa.FixedSizeListArray.from_arrays(
        pa.array(flat.reshape(-1)), dims, mask=pa.array(~present)
    )
    arrays = [pa.array(col, type=f.type) for col, f in zip(columns[:-1], schema, strict=False)]
    return pa.record_batch([*arrays, embedding], schema=schema)


def _array(vector: Any) -> Any:
    """pgvector's binary loaders give `Vector` or `HalfVector` objects, its text loader numpy
    arrays. A halfvec's 16-bit floats are exact in the file's float32."""
    return vector.to_numpy() if isinstance(vector, Vector | HalfVector) else np.asarray(vector)
