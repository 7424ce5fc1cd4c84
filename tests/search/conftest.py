"""Helpers for search tests: chunks written with the real binary-COPY writer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector.psycopg import register_vector_async

from app.db.models import Collection
from app.db.schema import create_hnsw_index_sql
from ingest.writer import ChunkRecord, DocumentRecord, Target, write_documents


def document(
    external_id: str,
    texts: Sequence[str],
    vectors: npt.NDArray[np.float32],
    **fields: Any,
) -> DocumentRecord:
    chunks = [
        ChunkRecord(ordinal=i, text=t, token_count=len(t.split()), embedding=v)
        for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
    ]
    return DocumentRecord(external_id, content_hash=external_id, chunks=chunks, **fields)


async def load(
    conn: psycopg.AsyncConnection[Any],
    collection: Collection,
    documents: Sequence[DocumentRecord],
    batch: int = 500,
) -> dict[str, int]:
    target = Target(
        collection.id,
        collection.embedding_dimensions,
        collection.text_config,
        collection.vector_type,
    )
    ids: dict[str, int] = {}
    for start in range(0, len(documents), batch):
        ids |= (await write_documents(conn, target, documents[start : start + batch])).ids
    await conn.execute("ANALYZE chunks")
    await conn.commit()
    return ids


def clustered(
    n: int, dims: int = 384, clusters: int = 50, seed: int = 0, spread: float = 1.0
) -> npt.NDArray[np.float32]:
    """Unit vectors around random cluster centres: a stand-in for real embeddings, whose
    neighbourhoods are clustered too (uniform random vectors make HNSW look worse)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dims))
    points = centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, dims))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


async def connect(dsn: str) -> psycopg.AsyncConnection[Any]:
    conn = await psycopg.AsyncConnection.connect(dsn)
    await register_vector_async(conn)
    return conn


async def reindex(conn: psycopg.AsyncConnection[Any], collection: Collection) -> None:
    """Build the collection's HNSW index in one go after a bulk load (faster than growing
    it row by row), as a bulk loader should."""
    index = create_hnsw_index_sql(
        collection.id, collection.embedding_dimensions, storage=collection.vector_type
    )
    await conn.execute(index)
    await conn.execute("ANALYZE chunks")
    await conn.commit()
