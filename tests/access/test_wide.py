"""A key that sees most of a collection reads its hits by key, one probe per hit.

Row-level security's test is not leakproof, so the planner cannot push a hit's `c.id = r.id`
below it; joined as a plain join, a key seeing 99% of the rows had every visible chunk
hashed to read 10 hits (20x the admin's time at 200,000 chunks). The hits are read through
LATERAL subqueries (`sql.Scope.chunk_of_hit`), which no join strategy can turn into a scan:
with nested loops disabled, the plan still reads at most one chunk per hit, and the hits
are the admin's hits that the key may read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal, apply_principal
from app.catalog import create_collection
from app.search import sql
from app.search.filters import compile_filter
from app.search.service import SearchRequest, SearchTarget, search, visible_rows
from tests.conftest import MINILM
from tests.search.conftest import clustered, document, load, reindex

pytestmark = pytest.mark.anyio

ROWS = 1_000
K = 10
WIDE = Principal("other", "read", None, ("other",))  # sees 99% of the rows
NARROW = Principal("team", "read", None, ("team",))  # sees 1%


def group(row: int) -> list[str]:
    return ["team"] if row % 100 == 0 else ["other"]


@pytest.fixture
async def target(session: AsyncSession, conn, collection_name: str) -> SearchTarget:
    collection = await create_collection(session, MINILM, name=collection_name)
    vectors = clustered(ROWS, seed=3)
    docs = [
        replace(document(f"d{i}", [f"vacuum row {i}"], vectors[i : i + 1]), access=group(i))
        for i in range(ROWS)
    ]
    await load(conn, collection, docs)
    await reindex(conn, collection)
    return SearchTarget.of(collection)


def scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if plan.get("Relation Name", "").startswith("chunks"):
        yield plan
    for child in plan.get("Plans", ()):
        yield from scans(child)


async def test_a_wide_key_reads_one_chunk_per_hit(conn, target: SearchTarget) -> None:
    """The hits step alone, fed K ranked ids the key may read: with nested loops (and
    scans) disabled, a plain join read every visible chunk (990 rows); the probes read K."""
    cursor = await conn.execute(
        "SELECT id FROM chunks WHERE collection_id = %s AND access = '{other}' ORDER BY id"
        " LIMIT %s",
        (target.collection_id, K),
    )
    ids = [r[0] for r in await cursor.fetchall()]
    scope = sql.Scope(target.collection_id, 384, compile_filter(None), restricted=True)
    ranked = "ranked AS MATERIALIZED (SELECT id, 1.0 AS score FROM unnest(%(ids)s::bigint[]) id)"
    query = sql.hits_sql(scope, ranked, include_text=True)
    async with conn.transaction():
        await apply_principal(conn, WIDE)
        await conn.execute("SET LOCAL enable_nestloop = off")
        await conn.execute("SET LOCAL enable_seqscan = off")
        cursor = await conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", {"ids": ids})
        row = await cursor.fetchone()
    plan = row[0][0]["Plan"]
    assert plan["Actual Rows"] == K
    read = [(s["Node Type"], s["Actual Rows"] * s["Actual Loops"]) for s in scans(plan)]
    assert sum(rows for _, rows in read) == K, read


async def test_a_wide_key_finds_the_admins_hits_it_may_read(conn, target: SearchTarget) -> None:
    request = SearchRequest("vector", k=50, vector=clustered(1, seed=5)[0])
    async with conn.transaction():
        admin = await search(conn, target, request)
    async with conn.transaction():
        await apply_principal(conn, WIDE)
        wide = await search(conn, replace(target, restricted=True), request)
    visible = [h.chunk_id for h in admin if group(int(h.external_id[1:])) == ["other"]]
    found = [h.chunk_id for h in wide]
    assert found[: len(visible)] == visible
    assert all(group(int(h.external_id[1:])) == ["other"] for h in wide)
    assert len(wide) == 50


async def test_the_rows_a_key_sees_are_estimated_from_the_statistics(
    conn, target: SearchTarget
) -> None:
    """`visible_rows` reads ANALYZE's shares of the access groups (the fixture analysed):
    99% and 1% of the 1,000 rows, and next to nothing for a group the collection lacks."""
    estimates = {}
    for principal in (WIDE, NARROW, Principal("none", "read", None, ("absent",))):
        async with conn.transaction():
            await apply_principal(conn, principal)
            estimate = await visible_rows(conn, replace(target, restricted=True))
        assert estimate is not None and estimate.rows == ROWS
        estimates[principal.name] = estimate.visible
    assert 985 <= estimates["other"] <= 1000
    assert 9 <= estimates["team"] <= 12
    assert estimates["none"] < 1


async def test_a_narrow_key_gets_the_exact_nearest_of_its_rows(conn, target: SearchTarget) -> None:
    """Seeing 10 rows (estimated), the key's vector and hybrid searches scan its rows: every
    one of them comes back, the vector search's nearest first."""
    query = clustered(1, seed=9)[0]
    vectors = clustered(ROWS, seed=3)  # the fixture's
    theirs = [i for i in range(ROWS) if group(i) == ["team"]]
    nearest = [f"d{i}" for i in sorted(theirs, key=lambda i: -float(vectors[i] @ query))]
    for mode in ("vector", "hybrid"):
        request = SearchRequest(mode, k=K, vector=query, query="vacuum row")
        async with conn.transaction():
            await apply_principal(conn, NARROW)
            found = await search(conn, replace(target, restricted=True), request)
        assert sorted(h.external_id for h in found) == sorted(nearest), mode
        if mode == "vector":
            assert [h.external_id for h in found] == nearest
