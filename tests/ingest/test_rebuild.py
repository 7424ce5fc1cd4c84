"""A load large next to a small collection rebuilds its HNSW index instead of inserting row
by row (`ingest.service.rebuild_is_cheaper`): the plan's decision on the real database,
searches while the index is gone (exact, still right), and a load that fails half-way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import numpy as np
import psycopg
import pytest

from app.db.models import Collection
from app.db.schema import hnsw_index_name
from app.embeddings import Embedder
from app.search.service import SearchRequest, SearchTarget, search
from ingest.context import Ingestion
from ingest.items import Item, with_vector
from ingest.loaders import Block, LoadedDocument
from ingest.pipeline import Pipeline, Plan
from ingest.prepare import Prepared
from ingest.service import (
    REBUILD_FACTOR,
    REBUILD_MAX_STORED,
    REBUILD_MIN_DOCUMENTS,
    make_plan,
    rebuild_is_cheaper,
)

pytestmark = pytest.mark.anyio

DIMS = 384


def _documents(prefix: str, count: int, seed: int) -> list[Prepared]:
    vectors = np.random.default_rng(seed).standard_normal((count, DIMS), dtype=np.float32)
    return [
        with_vector(LoadedDocument(f"{prefix}{i}", [Block(f"{prefix} passage {i}")]), vector)
        for i, vector in enumerate(vectors)
    ]


async def _each(items: Sequence[Item]) -> AsyncIterator[Item]:
    for item in items:
        yield item


async def _plan(
    ingestion: Ingestion, embedder: Embedder, collection: Collection, docs: Sequence[Prepared]
) -> Plan:
    """The plan for an API batch of `docs` (their ids known before the run)."""
    ids = [d.doc.external_id for d in docs]
    return await make_plan(
        ingestion, collection, embedder, expected_documents=len(ids), incoming=ids
    )


async def _load(
    ingestion: Ingestion, embedder: Embedder, collection: Collection, items: Sequence[Prepared]
) -> Pipeline:
    plan = await _plan(ingestion, embedder, collection, items)
    pipeline = Pipeline(ingestion.db, embedder, plan, strict=True)
    await pipeline.run(_each(items))
    return pipeline


async def _nearest(conn: psycopg.AsyncConnection, collection: Collection, doc: Prepared) -> str:
    assert doc.vectors is not None
    request = SearchRequest("vector", k=1, vector=doc.vectors[0])
    [hit] = await search(conn, SearchTarget.of(collection), request)
    return hit.external_id


async def _has_index(conn: psycopg.AsyncConnection, collection: Collection) -> bool:
    # A transaction of its own: one left open would keep its cached (stale) catalog view.
    async with conn.transaction():
        cursor = await conn.execute("SELECT to_regclass(%s)", (hnsw_index_name(collection.id),))
        return (await cursor.fetchone() or (None,))[0] is not None


def test_the_decision_weighs_the_load_against_what_is_stored() -> None:
    assert rebuild_is_cheaper(0, REBUILD_MIN_DOCUMENTS)
    assert not rebuild_is_cheaper(0, REBUILD_MIN_DOCUMENTS - 1)  # small loads insert
    assert rebuild_is_cheaper(REBUILD_FACTOR * 1000 - 1, 1000)
    assert not rebuild_is_cheaper(REBUILD_FACTOR * 1000, 1000)
    # However large the load, a large collection keeps its index (and fast searches).
    assert not rebuild_is_cheaper(REBUILD_MAX_STORED, 10 * REBUILD_MAX_STORED)


async def test_the_plan_weighs_the_new_documents_against_the_stored(
    ingestion: Ingestion, embedder: Embedder, collection: Collection
) -> None:
    stored = REBUILD_FACTOR * REBUILD_MIN_DOCUMENTS
    first = await _load(ingestion, embedder, collection, _documents("a", stored, seed=1))
    assert first.plan.bulk and first.report.added == stored
    for count, bulk in ((REBUILD_MIN_DOCUMENTS, False), (REBUILD_MIN_DOCUMENTS + 1, True)):
        plan = await _plan(ingestion, embedder, collection, _documents("b", count, seed=9))
        assert plan.bulk is bulk
    # Sent again (unchanged or not), stored documents are no reason to rebuild; nor are
    # files, whose documents are only known once parsed.
    again = _documents("a", stored, seed=10)
    assert not (await _plan(ingestion, embedder, collection, again)).bulk
    mixed = again[:REBUILD_MIN_DOCUMENTS] + _documents("c", REBUILD_MIN_DOCUMENTS, seed=11)
    assert not (await _plan(ingestion, embedder, collection, mixed)).bulk  # 200 new: 800 held
    files = await make_plan(ingestion, collection, embedder, expected_documents=10 * stored)
    assert not files.bulk


async def test_searches_during_a_rebuild_find_what_is_stored(
    ingestion: Ingestion, embedder: Embedder, collection: Collection, conn: psycopg.AsyncConnection
) -> None:
    old, new = _documents("old", 250, seed=2), _documents("new", 250, seed=3)
    await _load(ingestion, embedder, collection, old)
    dropped, resume = asyncio.Event(), asyncio.Event()

    async def paused() -> AsyncIterator[Item]:
        dropped.set()  # the pipeline asks for items once the index is dropped
        await resume.wait()
        for doc in new:
            yield doc

    plan = await _plan(ingestion, embedder, collection, new)
    assert plan.bulk
    running = asyncio.create_task(Pipeline(ingestion.db, embedder, plan, strict=True).run(paused()))
    await dropped.wait()
    assert not await _has_index(conn, collection)
    assert [await _nearest(conn, collection, d) for d in old[:20]] == [
        d.doc.external_id for d in old[:20]
    ]
    resume.set()
    report = await running
    assert report.added == len(new)
    assert await _has_index(conn, collection)
    for docs in (old[:20], new[:20]):
        assert [await _nearest(conn, collection, d) for d in docs] == [
            d.doc.external_id for d in docs
        ]


async def test_a_rebuild_that_fails_keeps_the_stored_documents_and_the_index(
    ingestion: Ingestion, embedder: Embedder, collection: Collection, conn: psycopg.AsyncConnection
) -> None:
    old, new = _documents("old", 250, seed=4), _documents("new", 250, seed=5)
    await _load(ingestion, embedder, collection, old)

    async def broken() -> AsyncIterator[Item]:
        for doc in new[:200]:
            yield doc
        raise ConnectionResetError("the client went away")

    plan = await _plan(ingestion, embedder, collection, new)
    assert plan.bulk
    with pytest.raises(ConnectionResetError):
        await Pipeline(ingestion.db, embedder, plan, strict=True).run(broken())
    assert await _has_index(conn, collection)
    cursor = await conn.execute(
        "SELECT count(*) FILTER (WHERE external_id LIKE 'old%%'), count(*) FROM documents"
        " WHERE collection_id = %s",
        (collection.id,),
    )
    assert await cursor.fetchone() == (len(old), len(old))
    assert await _nearest(conn, collection, old[7]) == old[7].doc.external_id


async def test_two_rebuilds_at_once_both_land_and_the_index_stays(
    ingestion: Ingestion, embedder: Embedder, collection: Collection, conn: psycopg.AsyncConnection
) -> None:
    """The bulk-load lock makes the second wait for the first (index built) before it drops
    the index again: both loads are stored, searchable through the index after."""
    old = _documents("old", 250, seed=6)
    await _load(ingestion, embedder, collection, old)
    first, second = _documents("one", 250, seed=7), _documents("two", 250, seed=8)
    runs = await asyncio.gather(
        *(_load(ingestion, embedder, collection, docs) for docs in (first, second))
    )
    assert [r.plan.bulk for r in runs] == [True, True]
    assert [r.report.added for r in runs] == [250, 250]
    assert await _has_index(conn, collection)
    for docs in (old, first, second):
        assert await _nearest(conn, collection, docs[3]) == docs[3].doc.external_id
