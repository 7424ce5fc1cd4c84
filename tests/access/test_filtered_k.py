"""Row-level security filters like a WHERE clause the SQL does not show, and search still
returns k rows: the exact-or-iterative decision counts the rows the principal sees."""

from __future__ import annotations

from dataclasses import replace

import httpx
import numpy as np
import pytest

from app.access import Principal, apply_principal
from app.db.schema import create_hnsw_index_sql, drop_hnsw_index_sql
from app.search.service import EXACT_MAX_ROWS, SearchRequest, SearchTarget, search
from ingest.writer import Target, write_documents
from tests.access.conftest import BOOT, World, auth
from tests.search.conftest import clustered, connect, document
from tests.search.test_vector import near

pytestmark = pytest.mark.anyio

# 'wide' (20%: 2,400 rows) is past EXACT_MAX_ROWS and searched through the index, 'rare' (1%)
# is searched exactly: both paths, with as few rows as that takes.
ROWS = 6 * EXACT_MAX_ROWS


def group_of(i: int) -> str:
    """1% 'rare', 20% 'wide', the rest 'other'."""
    return "rare" if i % 100 == 0 else "wide" if i % 5 == 1 else "other"


@pytest.fixture(scope="module")
async def big(world: World, access_dsn: str) -> tuple[SearchTarget, np.ndarray]:
    async with httpx.AsyncClient(base_url=world.url, headers=auth(BOOT), timeout=60) as http:
        assert (await http.post("/v1/collections", json={"name": "big"})).status_code == 201
    vectors = clustered(ROWS, seed=11)
    conn = await connect(access_dsn)
    try:
        row = await (await conn.execute("SELECT id FROM collections WHERE name = 'big'")).fetchone()
        assert row is not None
        target = Target(row[0], 384)
        docs = [
            replace(document(f"r{i}", [f"row {i}"], vectors[i : i + 1]), access=[group_of(i)])
            for i in range(ROWS)
        ]
        # Loaded without the index, built once after: inserting each row into the HNSW graph
        # took most of this fixture's time.
        await conn.execute(drop_hnsw_index_sql(row[0]))
        for start in range(0, ROWS, 5000):
            await write_documents(conn, target, docs[start : start + 5000])
        await conn.execute(create_hnsw_index_sql(row[0], 384))
        await conn.execute("ANALYZE chunks")
        await conn.commit()
    finally:
        await conn.close()
    return SearchTarget(row[0], 384, restricted=True), vectors


@pytest.mark.parametrize("group", ["rare", "wide"])
async def test_scoped_vector_search_returns_k_with_recall(
    big: tuple[SearchTarget, np.ndarray], access_dsn: str, group: str
) -> None:
    target, vectors = big
    mask = np.array([group_of(i) == group for i in range(ROWS)])
    principal = Principal("k", "read", None, (group,))
    conn = await connect(access_dsn)
    recalls = []
    try:
        for query in near(vectors, 20, seed=12):
            async with conn.transaction():
                await apply_principal(conn, principal)
                hits = await search(conn, target, SearchRequest("vector", k=10, vector=query))
            assert len(hits) == 10
            found = {int(h.external_id[1:]) for h in hits}
            assert all(mask[i] for i in found)
            expected = set(np.argsort(-np.where(mask, vectors @ query, -np.inf))[:10].tolist())
            recalls.append(len(found & expected) / 10)
    finally:
        await conn.close()
    assert np.mean(recalls) >= 0.95
