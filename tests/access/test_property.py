"""Property (hypothesis): random access lists on documents and random keys' groups; every
hit of every search mode is permitted, and no permitted matching document is missing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.access import Principal, apply_principal
from app.search.service import SearchRequest, SearchTarget, search
from ingest.writer import Target, update_access, write_documents
from tests.access.conftest import BOOT, World, auth
from tests.search.conftest import clustered, connect, document

pytestmark = pytest.mark.anyio

GROUPS = ["A", "B", "C", "D"]
DOCS = 30


@pytest.fixture(scope="module")
async def prop_target(world: World, access_dsn: str) -> SearchTarget:
    async with httpx.AsyncClient(base_url=world.url, headers=auth(BOOT), timeout=60) as http:
        created = await http.post("/v1/collections", json={"name": "prop"})
    assert created.status_code == 201, created.text
    conn = await connect(access_dsn)
    try:
        row = await (
            await conn.execute("SELECT id FROM collections WHERE name = 'prop'")
        ).fetchone()
        assert row is not None
        vectors = clustered(DOCS, seed=3)
        docs = [document(f"p{i}", [f"row number {i}"], vectors[i : i + 1]) for i in range(DOCS)]
        await write_documents(conn, Target(row[0], 384), docs)
        await conn.commit()
    finally:
        await conn.close()
    return SearchTarget(row[0], 384, restricted=True)


ACCESS = st.lists(st.lists(st.sampled_from(GROUPS), max_size=2), min_size=DOCS, max_size=DOCS)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    access=ACCESS,
    groups=st.lists(st.sampled_from(GROUPS), max_size=3),
    mode=st.sampled_from(["vector", "text", "hybrid"]),
)
async def test_hits_are_exactly_the_permitted_matches(
    prop_target: SearchTarget,
    access_dsn: str,
    access: list[list[str]],
    groups: list[str],
    mode: Any,
) -> None:
    conn = await connect(access_dsn)
    try:
        by_id = {f"p{i}": sorted(set(a)) for i, a in enumerate(access)}
        async with conn.transaction():
            await update_access(conn, prop_target.collection_id, by_id)
        expected = {d for d, a in by_id.items() if not a or set(a) & set(groups)}
        principal = Principal("prop", "read", None, tuple(groups))
        request = SearchRequest(mode, k=100, query="row", vector=clustered(1, seed=9)[0])
        async with conn.transaction():
            await apply_principal(conn, principal)
            hits = await search(conn, prop_target, request)
    finally:
        await conn.close()
    assert {h.external_id for h in hits} == expected
