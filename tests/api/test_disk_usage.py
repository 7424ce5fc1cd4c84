"""`GET /v1/collections/{c}` and `pgask collections` report bytes on disk."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest

from app.config import Settings
from app.db.models import Collection
from app.db.schema import hnsw_index_name
from tests.search.conftest import clustered, document, load
from tests.servers import ServerThread
from tests.transfer.conftest import pgask

pytestmark = pytest.mark.anyio

ROWS = 300
VECTOR_BYTES = 8 + 4 * 384  # pgvector: header + float4 per dimension


async def test_disk_usage(
    server: ServerThread, collection: Collection, conn: psycopg.AsyncConnection, settings: Settings
) -> None:
    vectors = clustered(ROWS)
    documents = [document(f"d{i}", [f"text {i}"], vectors[i : i + 1]) for i in range(ROWS)]
    await load(conn, collection, documents)
    cursor = await conn.execute("SELECT pg_relation_size(%s)", (hnsw_index_name(collection.id),))
    index_bytes = (await cursor.fetchone() or (0,))[0]
    await conn.commit()
    assert index_bytes > 0

    async with httpx.AsyncClient(base_url=server.url) as client:
        disk = (await client.get(f"/v1/collections/{collection.name}")).json()["disk"]
    assert disk["vector_index_bytes"] == index_bytes
    assert disk["heap_bytes"] >= ROWS * VECTOR_BYTES
    assert disk["text_index_bytes"] > 0

    listed = pgask(["collections", "--json"], settings)
    assert listed.returncode == 0, listed.stderr
    row = next(c for c in json.loads(listed.stdout)["collections"] if c["name"] == collection.name)
    assert row["vector_index_bytes"] == index_bytes
    assert row["heap_bytes"] == disk["heap_bytes"]
