"""The database write path: documents upserted and their chunks replaced with binary COPY,
one transaction per batch, so readers see every document either fully old or fully new.

Two writers of the same document serialise on its row lock (the upsert), and each deletes
the chunks it finds before copying its own, so concurrent ingests never leave duplicates.
Documents are written in external-id order so two overlapping batches cannot deadlock.

Every statement touches only its collection's partitions, so it never waits for another
collection's index build (which holds that partition's SHARE lock for minutes): a generic
plan of `collection_id = $1` locks every partition before it prunes, so the chunks DELETE
names the collection as a constant, and deletions of documents (whose foreign-key cascade
runs its own prepared DELETE on chunks) run with custom plans (`custom_plans`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector import HalfVector
from psycopg.types.json import Jsonb

from app.access import EVERYONE
from app.db.schema import (
    HNSW_INDEX_PREFIX,
    VectorType,
    collection_predicate,
    create_hnsw_index_sql,
    drop_hnsw_index_sql,
    embedding_column,
    partition_name,
)
from app.errors import CollectionDeleted, InvalidInput

log = logging.getLogger(__name__)

# First key of the session advisory lock a bulk load holds on its collection (second key)
# from dropping the HNSW index until it is built again: `repair_indexes` skips that one.
BULK_LOAD_LOCK = 0x70676B01

_COPY_CHUNKS = (
    "COPY chunks (collection_id, document_id, ordinal, text, section, page, token_count,"
    " metadata, {embedding}, text_config, access, title) FROM STDIN WITH (FORMAT BINARY)"
)
# The largest finite 16-bit float: a halfvec collection refuses anything beyond it.
HALFVEC_MAX = float(np.finfo(np.float16).max)

# One statement for the whole batch: the rows come out of unnest in the (sorted) order given,
# so concurrent writers lock documents in the same order and cannot deadlock. The arrays go
# in binary (%b): no per-element quoting and escaping.
_UPSERT_DOCUMENTS = """
INSERT INTO documents (collection_id, external_id, title, source, metadata, content_hash,
                       chunk_count, access)
SELECT %s, d.external_id, d.title, d.source, d.metadata, d.content_hash, d.chunk_count,
       ARRAY(SELECT jsonb_array_elements_text(d.access))
FROM unnest(%b::text[], %b::text[], %b::text[], %b::jsonb[], %b::text[], %b::int[],
            %b::jsonb[]) AS d(external_id, title, source, metadata, content_hash, chunk_count,
                              access)
ON CONFLICT (collection_id, external_id) DO UPDATE
SET title = EXCLUDED.title, source = EXCLUDED.source, metadata = EXCLUDED.metadata,
    content_hash = EXCLUDED.content_hash, chunk_count = EXCLUDED.chunk_count,
    access = EXCLUDED.access, updated_at = now()
WHERE documents.content_hash IS DISTINCT FROM EXCLUDED.content_hash
   OR documents.access IS DISTINCT FROM EXCLUDED.access
RETURNING external_id, id, old.id IS NULL
"""
# The hash check runs under the row lock ON CONFLICT takes: of two runs writing the same
# document at once, only the first inserts it (no `old` row: "added"); the second finds it
# stored unchanged, returns no row and rewrites none of its chunks. (`xmax = 0` said the
# same before documents was partitioned; a partitioned table returns no system columns.)


@dataclass(frozen=True)
class Written:
    """What a batch really wrote: the database id of each document inserted or changed
    (documents already stored with the same hash are absent), and which were new."""

    ids: dict[str, int]
    inserted: set[str]


@dataclass(frozen=True)
class ChunkRecord:
    ordinal: int
    text: str
    token_count: int
    embedding: npt.NDArray[np.float32]
    section: str = ""
    page: int | None = None


@dataclass(frozen=True)
class DocumentRecord:
    external_id: str
    content_hash: str
    chunks: Sequence[ChunkRecord]
    title: str = ""
    source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    access: Sequence[str] = ()  # groups that may read it (row-level security)


@dataclass(frozen=True)
class Target:
    """Where chunks go: the collection's id, pinned dimensions and text search config."""

    collection_id: int
    dimensions: int
    text_config: str = "english"
    vector_type: VectorType = "vector"


def _check(documents: Sequence[DocumentRecord], target: Target) -> list[Any]:
    """Reject a malformed batch before anything is written; the embeddings as COPY sends
    them (float32 arrays, or HalfVector for a halfvec collection)."""
    dimensions = target.dimensions
    for document in documents:
        texts = [document.external_id, document.title, document.source]
        texts += [c.text for c in document.chunks] + [c.section for c in document.chunks]
        if any("\x00" in t for t in texts):
            raise InvalidInput(
                f"document {document.external_id!r}: contains NUL characters, "
                "which PostgreSQL text rejects"
            )
    chunks = [(d, c) for d in documents for c in d.chunks]
    vectors = [np.asarray(c.embedding, dtype=np.float32) for _, c in chunks]
    for (document, chunk), vector in zip(chunks, vectors, strict=True):
        if vector.shape != (dimensions,):
            raise InvalidInput(
                f"document {document.external_id!r} chunk {chunk.ordinal}: embedding has shape "
                f"{vector.shape}, the collection takes {dimensions} dimensions"
            )
    # One pass over the whole batch; the per-chunk search only runs when something is wrong.
    matrix = np.stack(vectors) if vectors else np.zeros((0, dimensions), dtype=np.float32)
    if not np.isfinite(matrix).all():
        document, chunk = next(
            dc for dc, v in zip(chunks, vectors, strict=True) if not np.isfinite(v).all()
        )
        raise InvalidInput(
            f"document {document.external_id!r} chunk {chunk.ordinal}: embedding is not finite"
        )
    return _as_stored(vectors, matrix, target.vector_type)


def _as_stored(
    vectors: list[npt.NDArray[np.float32]], matrix: npt.NDArray[np.float32], storage: VectorType
) -> list[Any]:
    """What COPY sends: the float32 arrays, or for a halfvec collection HalfVectors (16-bit
    floats), once no value is beyond float16's range (it would become infinite)."""
    if storage == "vector":
        return vectors
    if (np.abs(matrix) > HALFVEC_MAX).any():
        raise InvalidInput(
            f"a value exceeds {HALFVEC_MAX:g}, the largest a halfvec collection can store"
        )
    return [HalfVector(v) for v in vectors]


def _copy_types(storage: VectorType) -> list[str]:
    """The COPY columns' types. regconfig has no binary dumper in psycopg; on the wire it is
    its oid, so send an oid. The embedding column's type is the collection's vector type."""
    return [
        "int4",
        "int8",
        "int4",
        "text",
        "text",
        "int4",
        "int4",
        "jsonb",
        storage,
        "oid",
        "text[]",
        "text",
    ]


def _jsonb(value: Mapping[str, Any]) -> Jsonb:
    """Metadata encoded once, though it is sent twice (document and each chunk)."""
    return Jsonb(json.dumps(dict(value)).encode(), dumps=bytes)


async def write_documents(
    conn: psycopg.AsyncConnection[Any], target: Target, documents: Sequence[DocumentRecord]
) -> Written:
    """Insert or replace `documents` and all their chunks in one transaction, skipping
    those already stored with the same content hash.

    The connection must have pgvector registered. Raises InvalidInput (writing nothing) on
    a malformed document, CollectionDeleted when the collection is gone.
    """
    ordered = sorted(documents, key=lambda d: d.external_id)
    if len({d.external_id for d in ordered}) != len(ordered):
        raise InvalidInput("the same external id appears twice in one batch")
    vectors = iter(_check(ordered, target))
    metadata = [_jsonb(d.metadata) for d in ordered]

    async with conn.transaction():
        await lock_collection(conn, target.collection_id)
        async with conn.cursor() as cur:
            await cur.execute(
                _UPSERT_DOCUMENTS,
                (
                    target.collection_id,
                    [d.external_id for d in ordered],
                    [d.title for d in ordered],
                    [d.source for d in ordered],
                    metadata,
                    [d.content_hash for d in ordered],
                    [len(d.chunks) for d in ordered],
                    [Jsonb(list(d.access)) for d in ordered],
                ),
            )
            rows = await cur.fetchall()
            ids = {external_id: id_ for external_id, id_, _ in rows}
            inserted = {external_id for external_id, _, new in rows if new}
            # The collection id inlined, so the plan prunes to its partition: faster per
            # one-document write than forcing custom plans
            # (docs/decisions/0004-vector-column-and-per-collection-indexes.md).
            await cur.execute(
                f"DELETE FROM chunks WHERE {collection_predicate(target.collection_id, 'chunks')}"
                " AND document_id = ANY(%s)",
                (list(ids.values()),),
            )
            await _copy_chunks(cur, target, zip(ordered, metadata, strict=True), ids, vectors)
    return Written(ids, inserted)


async def append_chunks(
    conn: psycopg.AsyncConnection[Any], target: Target, document_id: int, part: DocumentRecord
) -> None:
    """COPY more chunks of a document whose first part `write_documents` wrote in the
    transaction still open on `conn` (a document of more chunks than one batch is written
    in parts, all in one transaction, so it is never held whole). Raises InvalidInput on
    a malformed part: the caller rolls the whole document back."""
    vectors = iter(_check([part], target))
    async with conn.cursor() as cur:
        parts = [(part, _jsonb(part.metadata))]
        await _copy_chunks(cur, target, parts, {part.external_id: document_id}, vectors)


async def finish_document(
    conn: psycopg.AsyncConnection[Any], target: Target, document_id: int, chunk_count: int
) -> None:
    """Record the chunk count of a document written in parts (its first part's upsert
    could not know it), in the same transaction."""
    await conn.execute(
        "UPDATE documents SET chunk_count = %s WHERE collection_id = %s AND id = %s",
        (chunk_count, target.collection_id, document_id),
    )


async def _copy_chunks(
    cur: psycopg.AsyncCursor[Any],
    target: Target,
    documents: Iterable[tuple[DocumentRecord, Jsonb]],
    ids: Mapping[str, int],
    vectors: Iterator[Any],
) -> None:
    """COPY the chunks of `documents` (with their encoded metadata) that are in `ids`;
    `vectors` holds the embeddings of all their chunks, in order."""
    cursor = await cur.execute("SELECT %s::regconfig::oid", (target.text_config,))
    text_config_oid = (await cursor.fetchone() or (None,))[0]
    column = embedding_column(target.vector_type)
    async with cur.copy(_COPY_CHUNKS.format(embedding=column)) as copy:
        copy.set_types(_copy_types(target.vector_type))
        for doc, doc_metadata in documents:
            if doc.external_id not in ids:
                for _ in doc.chunks:
                    next(vectors)  # stored unchanged meanwhile: nothing to rewrite
                continue
            for chunk in doc.chunks:
                await copy.write_row(
                    (
                        target.collection_id,
                        ids[doc.external_id],
                        chunk.ordinal,
                        chunk.text,
                        chunk.section,
                        chunk.page,
                        chunk.token_count,
                        doc_metadata,
                        next(vectors),
                        text_config_oid,
                        chunk_access(doc.access),
                        doc.title,  # weighed by the generated tsv (migration 0010)
                    )
                )


async def lock_collection(conn: psycopg.AsyncConnection[Any], collection_id: int) -> None:
    """Keep the collection from being deleted until this transaction ends, or raise
    CollectionDeleted when it already is (so nothing of a deleted collection is written)."""
    cursor = await conn.execute(
        "SELECT 1 FROM collections WHERE id = %s FOR KEY SHARE", (collection_id,)
    )
    if await cursor.fetchone() is None:
        raise CollectionDeleted("the collection was deleted during this ingest: stopped")


async def custom_plans(conn: psycopg.AsyncConnection[Any]) -> None:
    """Plan this transaction's statements (and the foreign keys' cascades and checks) for
    their parameters' values, so they prune to one collection's partitions before locking
    anything. psycopg prepares a statement after 5 runs, and PostgreSQL may then choose a
    generic plan, which locks every partition of the table."""
    await conn.execute("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")


def chunk_access(access: Sequence[str]) -> list[str]:
    """A chunk's copy of its document's access: the groups, or `EVERYONE` for a document
    without groups, so the chunks policy is one `&&` the GIN index on access answers (an
    `access = '{}' OR ...` made every scoped search scan the whole collection)."""
    return list(access) or [EVERYONE]


async def update_access(
    conn: psycopg.AsyncConnection[Any], collection_id: int, access: Mapping[str, list[str]]
) -> None:
    """Set the access groups of documents (by external id) and of their chunks, in one
    transaction: the chunks policy reads the chunk's own copy."""
    ids = sorted(access)
    groups = [Jsonb(access[i]) for i in ids]
    async with conn.transaction():
        await custom_plans(conn)
        await conn.execute(
            "UPDATE documents d SET access = ARRAY(SELECT jsonb_array_elements_text(u.access)),"
            " updated_at = now() FROM unnest(%s::text[], %s::jsonb[]) AS u(external_id, access)"
            " WHERE d.collection_id = %s AND d.external_id = u.external_id",
            (ids, groups, collection_id),
        )
        await conn.execute(
            "UPDATE chunks c SET access = CASE WHEN d.access = '{}' THEN %s ELSE d.access END"
            " FROM documents d WHERE c.collection_id = %s AND d.collection_id = c.collection_id"
            " AND c.document_id = d.id AND d.external_id = ANY(%s)",
            (chunk_access(()), collection_id, ids),
        )


async def delete_documents(
    conn: psycopg.AsyncConnection[Any], collection_id: int, external_ids: Sequence[str]
) -> int:
    """Delete documents (their chunks cascade); returns how many existed."""
    async with conn.transaction():
        await custom_plans(conn)
        cursor = await conn.execute(
            "DELETE FROM documents WHERE collection_id = %s AND external_id = ANY(%s)",
            (collection_id, list(external_ids)),
        )
        return cursor.rowcount


async def drop_index(conn: psycopg.AsyncConnection[Any], target: Target) -> None:
    """Drop the collection's HNSW index before a large first load (`build_index` after),
    without locking out the other collections' searches. The connection must be in
    autocommit mode. It takes the bulk-load lock on the collection, so `repair_indexes`
    does not build the index back while the load runs; `end_bulk_load` releases it (or the
    connection's end, when the load is killed)."""
    await conn.execute(
        "SELECT pg_advisory_lock(%s, %s)", (BULK_LOAD_LOCK, int(target.collection_id))
    )
    await conn.execute(drop_hnsw_index_sql(target.collection_id, concurrently=True))


async def build_index(
    conn: psycopg.AsyncConnection[Any],
    target: Target,
    *,
    maintenance_work_mem_mb: int = 512,
    analyze: bool = True,
) -> None:
    """Create the collection's HNSW index if it is missing (after a bulk load, or a load that
    was killed before it could rebuild it), with more memory for this build only, and
    refresh the planner's statistics. Cheap when the index already exists and not `analyze`.
    The connection must be in autocommit mode."""
    mem = int(maintenance_work_mem_mb)
    async with conn.transaction():
        try:
            await lock_collection(conn, target.collection_id)
        except CollectionDeleted:
            return  # deleted meanwhile: its index would stay behind, unused and unremoved
        # SET takes no bound parameters; set_config does, and is_local=true scopes it to
        # this transaction like SET LOCAL.
        await conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (f"{mem}MB",))
        await conn.execute(
            create_hnsw_index_sql(
                target.collection_id, target.dimensions, storage=target.vector_type
            )
        )
    if analyze:
        await analyze_chunks(conn, target.collection_id)


async def end_bulk_load(conn: psycopg.AsyncConnection[Any], target: Target) -> None:
    """Release the bulk-load lock `drop_index` took (after `build_index`)."""
    await conn.execute(
        "SELECT pg_advisory_unlock(%s, %s)", (BULK_LOAD_LOCK, int(target.collection_id))
    )


async def repair_indexes(
    conn: psycopg.AsyncConnection[Any], *, maintenance_work_mem_mb: int = 512
) -> list[int]:
    """Build the missing HNSW index of every collection that no bulk load is filling: the
    index a bulk load killed before its end (SIGKILL, power loss) could not build back.
    Returns the ids of the collections repaired. The connection must be in autocommit mode."""
    cursor = await conn.execute(
        "SELECT id, embedding_dimensions, vector_type FROM collections"
        " WHERE to_regclass(%s || id::text) IS NULL ORDER BY id",
        (HNSW_INDEX_PREFIX,),
    )
    repaired = []
    for collection_id, dimensions, storage in await cursor.fetchall():
        lock = (BULK_LOAD_LOCK, collection_id)
        got = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", lock)
        if not (await got.fetchone() or (False,))[0]:
            continue  # a bulk load is running: it builds the index itself
        try:
            log.warning(
                "collection %s has no HNSW index (a load was killed?): building it", collection_id
            )
            target = Target(collection_id, dimensions, vector_type=storage)
            await build_index(conn, target, maintenance_work_mem_mb=maintenance_work_mem_mb)
            repaired.append(collection_id)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s, %s)", lock)
    return repaired


async def analyze_chunks(conn: psycopg.AsyncConnection[Any], collection_id: int) -> None:
    """Refresh the planner's statistics on the collection's partitions (after a bulk load):
    a search prunes to them and plans with their statistics, so the other collections'
    partitions need no new scan."""
    partitions = ", ".join(partition_name(t, collection_id) for t in ("documents", "chunks"))
    await conn.execute(f"ANALYZE {partitions}")
