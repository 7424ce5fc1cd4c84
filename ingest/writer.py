"""The database write path: documents upserted and their chunks replaced with binary COPY,
one transaction per batch, so readers see every document either fully old or fully new.

Two writers of the same document serialise on its row lock (the upsert), and each deletes
the chunks it finds before copying its own, so concurrent ingests never leave duplicates.
Documents are written in external-id order so two overlapping batches cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.types.json import Jsonb

from app.db.schema import create_hnsw_index_sql, drop_hnsw_index_sql
from app.errors import InvalidInput

_COPY_CHUNKS = (
    "COPY chunks (collection_id, document_id, ordinal, text, section, page, token_count,"
    " metadata, embedding, text_config) FROM STDIN WITH (FORMAT BINARY)"
)
# regconfig has no binary dumper in psycopg; on the wire it is its oid, so send an oid.
_COPY_TYPES = ["int4", "int8", "int4", "text", "text", "int4", "int4", "jsonb", "vector", "oid"]

# One statement for the whole batch: the rows come out of unnest in the (sorted) order given,
# so concurrent writers lock documents in the same order and cannot deadlock.
_UPSERT_DOCUMENTS = """
INSERT INTO documents (collection_id, external_id, title, source, metadata, content_hash,
                       chunk_count)
SELECT %s, d.* FROM unnest(%s::text[], %s::text[], %s::text[], %s::jsonb[], %s::text[],
                           %s::int[]) AS d
ON CONFLICT (collection_id, external_id) DO UPDATE
SET title = EXCLUDED.title, source = EXCLUDED.source, metadata = EXCLUDED.metadata,
    content_hash = EXCLUDED.content_hash, chunk_count = EXCLUDED.chunk_count,
    updated_at = now()
RETURNING external_id, id
"""


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


@dataclass(frozen=True)
class Target:
    """Where chunks go: the collection's id, pinned dimensions and text search config."""

    collection_id: int
    dimensions: int
    text_config: str = "english"


def _check(document: DocumentRecord, dimensions: int) -> None:
    where = f"document {document.external_id!r}"
    texts = [document.external_id, document.title, document.source]
    texts += [c.text for c in document.chunks] + [c.section for c in document.chunks]
    if any("\x00" in t for t in texts):
        raise InvalidInput(f"{where}: contains NUL characters, which PostgreSQL text rejects")
    for chunk in document.chunks:
        vector = np.asarray(chunk.embedding)
        if vector.shape != (dimensions,):
            raise InvalidInput(
                f"{where} chunk {chunk.ordinal}: embedding has shape {vector.shape}, "
                f"the collection takes {dimensions} dimensions"
            )
        if not np.isfinite(vector).all():
            raise InvalidInput(f"{where} chunk {chunk.ordinal}: embedding is not finite")


async def write_documents(
    conn: psycopg.AsyncConnection[Any], target: Target, documents: Sequence[DocumentRecord]
) -> dict[str, int]:
    """Insert or replace `documents` and all their chunks in one transaction.

    Returns the database id of each document by external id. The connection must have
    pgvector registered. Raises InvalidInput (writing nothing) on a malformed document.
    """
    ordered = sorted(documents, key=lambda d: d.external_id)
    if len({d.external_id for d in ordered}) != len(ordered):
        raise InvalidInput("the same external id appears twice in one batch")
    for document in ordered:
        _check(document, target.dimensions)

    ids: dict[str, int] = {}
    async with conn.transaction():
        cursor = await conn.execute("SELECT %s::regconfig::oid", (target.text_config,))
        text_config_oid = (await cursor.fetchone() or (None,))[0]
        async with conn.cursor() as cur:
            await cur.execute(
                _UPSERT_DOCUMENTS,
                (
                    target.collection_id,
                    [d.external_id for d in ordered],
                    [d.title for d in ordered],
                    [d.source for d in ordered],
                    [Jsonb(dict(d.metadata)) for d in ordered],
                    [d.content_hash for d in ordered],
                    [len(d.chunks) for d in ordered],
                ),
            )
            ids = dict(await cur.fetchall())
            await cur.execute(
                "DELETE FROM chunks WHERE document_id = ANY(%s)", (list(ids.values()),)
            )
            async with cur.copy(_COPY_CHUNKS) as copy:
                copy.set_types(_COPY_TYPES)
                for doc in ordered:
                    metadata = Jsonb(dict(doc.metadata))
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
                                metadata,
                                np.asarray(chunk.embedding, dtype=np.float32),
                                text_config_oid,
                            )
                        )
    return ids


async def delete_documents(
    conn: psycopg.AsyncConnection[Any], collection_id: int, external_ids: Sequence[str]
) -> int:
    """Delete documents (their chunks cascade); returns how many existed."""
    async with conn.transaction():
        cursor = await conn.execute(
            "DELETE FROM documents WHERE collection_id = %s AND external_id = ANY(%s)",
            (collection_id, list(external_ids)),
        )
        return cursor.rowcount


async def drop_index(conn: psycopg.AsyncConnection[Any], target: Target) -> None:
    """Drop the collection's HNSW index before a large first load (`build_index` after)."""
    await conn.execute(drop_hnsw_index_sql(target.collection_id))


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
        # SET takes no bound parameters; set_config does, and is_local=true scopes it to
        # this transaction like SET LOCAL.
        await conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (f"{mem}MB",))
        await conn.execute(create_hnsw_index_sql(target.collection_id, target.dimensions))
    if analyze:
        await conn.execute("ANALYZE chunks")
