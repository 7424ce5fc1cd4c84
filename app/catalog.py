"""Collections: create (with their partitions and HNSW index), list, look up, delete, and the
model check.

A collection pins the embedding provider, model and dimensions it was created with
(docs/decisions/0003-embeddings.md); using it with another configured model is a Conflict, never a
silently corrupt row.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from psycopg.errors import LockNotAvailable
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import elevate_to_owner, sees_every_row
from app.db.models import Collection, Document
from app.db.schema import (
    HNSW_INDEX_PREFIX,
    PARTITION_DDL_LOCK,
    VectorType,
    create_hnsw_index_sql,
    create_partitions_sql,
    drop_partitions_sql,
)
from app.embeddings.base import ModelInfo
from app.errors import Conflict, InvalidInput, NotFound
from app.validation import MAX_DESCRIPTION_CHARS, check_text

# cl100k tokens. MiniLM takes 256 word pieces; measured word pieces per cl100k token: English
# prose 1.1, code 1.2, digits 1.4, URLs 1.5 (Cyrillic 1.7: needs the model's own count).
DEFAULT_CHUNK_SIZE = 160
DEFAULT_CHUNK_OVERLAP = 30
MAX_CHUNK_SIZE = 8191  # OpenAI embedding models' input limit
COLLECTION_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


@dataclass(frozen=True)
class DiskUsage:
    """Bytes a collection takes on disk, exact: `heap_bytes` its documents and chunks
    partitions (`pg_table_size`: heap, TOAST, free space and visibility maps),
    `vector_index_bytes` its HNSW index, `text_index_bytes` its chunks partition's
    full-text GIN index."""

    heap_bytes: int = 0
    vector_index_bytes: int = 0
    text_index_bytes: int = 0


@dataclass(frozen=True)
class CollectionStats:
    collection: Collection
    document_count: int
    chunk_count: int
    # None unless the session's principal may see every row: sizes grow with rows a
    # scoped key cannot see, so they would tell it of them.
    disk: DiskUsage | None = None


async def get_collection(session: AsyncSession, name: str) -> Collection:
    found = await session.scalar(select(Collection).where(Collection.name == name))
    if found is None:
        raise NotFound(f"collection {name!r} does not exist")
    return found


def check_compatible(collection: Collection, embedder: ModelInfo) -> None:
    """Raise Conflict when the configured embedder is not the one the collection pins."""
    pinned = (
        collection.embedding_provider,
        collection.embedding_model,
        collection.embedding_dimensions,
    )
    configured = (embedder.provider, embedder.model, embedder.dimensions)
    if pinned != configured:
        raise Conflict(
            f"collection {collection.name!r} was created with {pinned[0]} model {pinned[1]!r} "
            f"({pinned[2]} dimensions) but pgask is configured with {configured[0]} model "
            f"{configured[1]!r} ({configured[2]} dimensions); set EMBEDDING_PROVIDER/"
            "EMBEDDING_MODEL/EMBEDDING_DIMENSIONS to match, or use another collection"
        )


async def create_collection(
    session: AsyncSession,
    embedder: ModelInfo,
    *,
    name: str,
    description: str = "",
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    text_config: str = "english",
    vector_type: VectorType = "vector",
) -> Collection:
    size = chunk_size or min(DEFAULT_CHUNK_SIZE, embedder.max_input_tokens or MAX_CHUNK_SIZE)
    overlap = DEFAULT_CHUNK_OVERLAP if chunk_overlap is None else chunk_overlap
    limit = embedder.max_input_tokens or MAX_CHUNK_SIZE
    if size > limit:
        raise InvalidInput(f"chunk_size {size} exceeds the embedding model's limit of {limit}")
    if not 0 <= overlap < size:
        raise InvalidInput(f"chunk_overlap must be at least 0 and below chunk_size ({size})")
    check_text(description, "description", most=MAX_DESCRIPTION_CHARS)
    await _check_text_config(session, text_config)

    collection = Collection(
        name=name,
        description=description,
        embedding_provider=embedder.provider,
        embedding_model=embedder.model,
        embedding_dimensions=embedder.dimensions,
        chunk_size=size,
        chunk_overlap=overlap,
        text_config=text_config,
        vector_type=vector_type,
    )
    await session.execute(text(PARTITION_DDL_LOCK))  # before the row: see its comment
    session.add(collection)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"collection {name!r} already exists") from exc
    await elevate_to_owner(session)
    for statement in create_partitions_sql(collection.id, vector_type):
        await session.execute(text(statement))
    index = create_hnsw_index_sql(collection.id, embedder.dimensions, storage=vector_type)
    await session.execute(text(index))
    await session.commit()
    return collection


async def _check_text_config(session: AsyncSession, text_config: str) -> None:
    found = await session.scalar(
        text("SELECT 1 FROM pg_ts_config WHERE cfgname = :name"), {"name": text_config}
    )
    if found is None:
        raise InvalidInput(
            f"text_config {text_config!r} is not a PostgreSQL text search configuration "
            "(e.g. english, simple, german)"
        )


async def all_collections(session: AsyncSession) -> list[Collection]:
    """Every collection the session may see, by name, without counting their documents."""
    return list(await session.scalars(select(Collection).order_by(Collection.name)))


async def list_collections(session: AsyncSession, name: str | None = None) -> list[CollectionStats]:
    counts = (
        select(
            Document.collection_id,
            func.count().label("documents"),
            func.coalesce(func.sum(Document.chunk_count), 0).label("chunks"),
        )
        .group_by(Document.collection_id)
        .subquery()
    )
    query = (
        select(Collection, counts.c.documents, counts.c.chunks)
        .outerjoin(counts, counts.c.collection_id == Collection.id)
        .order_by(Collection.name)
    )
    if name is not None:
        query = query.where(Collection.name == name)
    rows = (await session.execute(query)).all()
    sized = sees_every_row(session)
    disk = await _disk_usage(session, [c.id for c, _, _ in rows]) if sized else {}
    return [
        CollectionStats(c, int(d or 0), int(n or 0), disk.get(c.id, DiskUsage()) if sized else None)
        for c, d, n in rows
    ]


# Each collection's rows are its own partitions (documents_cN, chunks_cN): exact sizes. The
# partition's full-text index is the one attached to the parent's `chunks_tsv`.
_DISK_USAGE = text(
    """
SELECT k.id,
       coalesce(pg_table_size(to_regclass('documents_c' || k.id::text)), 0)
     + coalesce(pg_table_size(to_regclass('chunks_c' || k.id::text)), 0),
       coalesce(pg_relation_size(to_regclass(:prefix || k.id::text)), 0),
       coalesce((SELECT sum(pg_relation_size(i.inhrelid)) FROM pg_inherits i
                 JOIN pg_index x ON x.indexrelid = i.inhrelid
                 WHERE i.inhparent = 'chunks_tsv'::regclass
                   AND x.indrelid = to_regclass('chunks_c' || k.id::text)), 0)
FROM collections k WHERE k.id = ANY(:ids)
"""
)


async def _disk_usage(session: AsyncSession, ids: list[int]) -> dict[int, DiskUsage]:
    rows = await session.execute(_DISK_USAGE, {"ids": ids, "prefix": HNSW_INDEX_PREFIX})
    return {cid: DiskUsage(int(h), int(v), int(t)) for cid, h, v, t in rows.all()}


async def collection_stats(session: AsyncSession, name: str) -> CollectionStats:
    found = await list_collections(session, name)
    if found:
        return found[0]
    raise NotFound(f"collection {name!r} does not exist")


async def delete_collection(session: AsyncSession, name: str) -> None:
    """Drop its partitions (and with them its HNSW index), then its row: the rows go in one
    catalog change, leaving no dead tuples behind."""
    collection = await get_collection(session, name)
    await elevate_to_owner(session)
    await _drop_partitions(session, collection.id)
    await session.execute(delete(Collection).where(Collection.id == collection.id))
    await session.commit()


# Dropping takes ACCESS EXCLUSIVE on the chunks parent, then on the documents parent. A
# writer into another collection holds documents and then asks for chunks: waiting for
# documents while holding chunks would deadlock with it. So each try waits briefly (less
# than PostgreSQL's 1 s deadlock_timeout, so the drop is always the side that gives way),
# lets go of both, and tries again; the short waits also keep searches from queueing long
# behind the lock request.
DROP_LOCK_TIMEOUT_MS = 500
DROP_ATTEMPTS = 30


async def _drop_partitions(session: AsyncSession, collection_id: int) -> None:
    previous = await session.scalar(text("SELECT current_setting('lock_timeout')"))
    await session.execute(
        text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{DROP_LOCK_TIMEOUT_MS}ms"}
    )
    for attempt in range(DROP_ATTEMPTS):
        try:
            async with session.begin_nested():  # a savepoint: its rollback frees its locks
                for statement in drop_partitions_sql(collection_id):
                    await session.execute(text(statement))
            break
        except DBAPIError as exc:
            if not isinstance(exc.orig, LockNotAvailable) or attempt == DROP_ATTEMPTS - 1:
                raise
            await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
    await session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": previous})
