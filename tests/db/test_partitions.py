"""documents and chunks are partitioned per collection: partitions live and die with their
collection, only the parents are reachable by the scoped role, searches and writes touch
only their collection's partition, and migration 0005 moves existing rows both ways."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import SCOPED_ROLE
from app.catalog import create_collection, delete_collection
from app.db import migrate
from app.db.models import Collection
from app.db.schema import hnsw_index_name, partition_name
from app.search import sql
from app.search.filters import compile_filter
from ingest.writer import Target, write_documents
from tests.conftest import MINILM
from tests.db.conftest import Scratch
from tests.search.conftest import clustered, connect, document, load, reindex
from tests.sql import scalar

pytestmark = pytest.mark.anyio

_COUNT = "SELECT count(*) FROM chunks WHERE collection_id = %s"


def _exists(pg_dsn: str, name: str) -> bool:
    with psycopg.connect(pg_dsn) as conn:
        return bool(scalar(conn, "SELECT to_regclass(%s) IS NOT NULL", (name,)))


async def test_partitions_are_made_and_dropped_with_the_collection(
    session: AsyncSession, collection: Collection, conn: psycopg.AsyncConnection, pg_dsn: str
) -> None:
    vectors = clustered(20, seed=3)
    await load(conn, collection, [document(f"d{i}", ["t"], vectors[i : i + 1]) for i in range(20)])
    names = [partition_name(t, collection.id) for t in ("documents", "chunks")]
    assert all(_exists(pg_dsn, n) for n in [*names, hnsw_index_name(collection.id)])
    with psycopg.connect(pg_dsn) as check:
        assert scalar(check, f"SELECT count(*) FROM {names[1]}") == 20

    await delete_collection(session, collection.name)
    assert not any(_exists(pg_dsn, n) for n in [*names, hnsw_index_name(collection.id)])
    with psycopg.connect(pg_dsn) as check:
        assert scalar(check, _COUNT, (collection.id,)) == 0


async def test_deleting_a_collection_gives_way_to_a_writer_of_another(
    session: AsyncSession, conn: psycopg.AsyncConnection, pg_dsn: str
) -> None:
    """A writer into another collection holds the documents parent, then asks for chunks;
    the delete, holding chunks and waiting for documents, deadlocked with it (PostgreSQL then
    aborted one of them). Now the delete lets go and tries again: both succeed."""
    doomed = await create_collection(session, MINILM, name=f"p-{uuid.uuid4().hex[:8]}")
    other = await create_collection(session, MINILM, name=f"p-{uuid.uuid4().hex[:8]}")
    await conn.execute(
        "INSERT INTO documents (collection_id, external_id, content_hash) VALUES (%s, 'x', 'h')",
        (other.id,),
    )
    deleting = asyncio.create_task(delete_collection(session, doomed.name))
    await asyncio.sleep(1.0)  # the delete now holds chunks or waits for documents
    await conn.execute(_COUNT, (other.id,))
    await conn.commit()
    await deleting
    assert not _exists(pg_dsn, partition_name("chunks", doomed.id))
    assert not _exists(pg_dsn, partition_name("documents", doomed.id))
    await delete_collection(session, other.name)


async def test_creating_a_collection_does_not_wait_for_open_readers(
    session: AsyncSession, pg_dsn: str
) -> None:
    """Partitions are attached, not made with PARTITION OF: no ACCESS EXCLUSIVE lock on
    the parents, so a transaction still reading them (and every search queued behind such a
    lock) does not hold up a new collection (lock_timeout makes waiting an error)."""
    with psycopg.connect(pg_dsn) as reader:
        reader.execute("SELECT count(*) FROM chunks")
        reader.execute("SELECT count(*) FROM documents")
        await session.execute(text("SELECT set_config('lock_timeout', '5s', true)"))
        made = await create_collection(session, MINILM, name=f"p-{uuid.uuid4().hex[:8]}")
        reader.rollback()
    assert _exists(pg_dsn, partition_name("chunks", made.id))
    await delete_collection(session, made.name)


async def test_the_scoped_role_cannot_read_a_partition_directly(
    collection: Collection, conn: psycopg.AsyncConnection, pg_dsn: str
) -> None:
    """Row-level security applies to queries through the parent only: a partition has no
    policies, so it must have no grants either."""
    vectors = clustered(3, seed=4)
    await load(conn, collection, [document(f"d{i}", ["t"], vectors[i : i + 1]) for i in range(3)])
    with psycopg.connect(pg_dsn) as scoped:
        scoped.execute(f"SET ROLE {SCOPED_ROLE}")
        scoped.execute("SELECT set_config('pgask.all_collections', 'on', false)")
        assert scalar(scoped, _COUNT, (collection.id,)) == 3
        for table in ("documents", "chunks"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                scoped.execute(f"SELECT count(*) FROM {partition_name(table, collection.id)}")
            scoped.rollback()
            scoped.execute(f"SET ROLE {SCOPED_ROLE}")


def _relations(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "Relation Name" in node:
        yield node["Relation Name"], node.get("Index Name", "")
    for child in node.get("Plans", []):
        yield from _relations(child)


async def test_search_prunes_to_the_partition_and_uses_its_hnsw_index(
    collection: Collection, conn: psycopg.AsyncConnection
) -> None:
    vectors = clustered(300, seed=5)
    await load(conn, collection, [document(f"d{i}", ["t"], vectors[i : i + 1]) for i in range(300)])
    await reindex(conn, collection)
    scope = sql.Scope(collection.id, 384, compile_filter(None), "vector")
    query = sql.hits_sql(scope, sql.vector_ranked(scope, exact=False), include_text=True)
    # 300 rows: scanning them all and sorting is cheaper; what is checked is that the index
    # is one the planner can use for this expression on this partition.
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        await conn.execute("SELECT set_config(%s, 'off', true)", (setting,))
    cursor = await conn.execute(
        "EXPLAIN (FORMAT JSON) " + query, {"qvec": vectors[0], "k": 10}, prepare=False
    )
    plan = (await cursor.fetchone() or ([{}],))[0][0]["Plan"]
    relations = set(_relations(plan))
    chunks = partition_name("chunks", collection.id)
    assert (chunks, hnsw_index_name(collection.id)) in relations
    # Pruned when planned: only this collection's partitions appear, none of the others.
    assert {name for name, _ in relations} == {chunks, partition_name("documents", collection.id)}
    assert "Subplans Removed" not in json.dumps(plan)


async def test_a_generic_plan_prunes_late_so_writes_force_custom_plans(
    collection: Collection, conn: psycopg.AsyncConnection
) -> None:
    """With a bound collection id, a generic plan keeps every partition until the executor
    prunes them (and locks them all first); a custom plan is pruned when planned."""
    await conn.execute("PREPARE q(int) AS SELECT count(*) FROM chunks WHERE collection_id = $1")
    plans = {}
    for mode in ("force_generic_plan", "force_custom_plan"):
        await conn.execute("SELECT set_config('plan_cache_mode', %s, false)", (mode,))
        cursor = await conn.execute(f"EXPLAIN (FORMAT JSON) EXECUTE q({collection.id:d})")
        plans[mode] = json.dumps((await cursor.fetchone() or ([{}],))[0])
    await conn.rollback()
    assert '"Subplans Removed"' in plans["force_generic_plan"]
    assert '"Subplans Removed"' not in plans["force_custom_plan"]
    assert partition_name("chunks", collection.id) in plans["force_custom_plan"]


async def test_writes_to_one_collection_do_not_wait_for_another_collections_lock(
    session: AsyncSession, collection: Collection, pg_dsn: str
) -> None:
    """A bulk load's index build holds a SHARE lock on its chunks partition for minutes:
    writes to other collections, past psycopg's prepare threshold and PostgreSQL's switch
    to generic plans, must not touch that partition (lock_timeout makes waiting an error)."""
    other = await create_collection(session, MINILM, name=f"p-{uuid.uuid4().hex[:8]}")
    vectors = clustered(12, seed=6)
    async with await psycopg.AsyncConnection.connect(pg_dsn) as builder:
        await builder.execute(f"LOCK TABLE {partition_name('chunks', other.id)} IN SHARE MODE")
        async with await connect(pg_dsn) as writer:
            await writer.execute("SET lock_timeout = '5s'")
            target = Target(collection.id, 384)
            for i in range(12):  # a replacement each time: DELETE of chunks, then COPY
                doc = document("same", [f"v{i}"], vectors[i : i + 1])
                await write_documents(writer, target, [doc])
            await writer.commit()
        await builder.rollback()
    await delete_collection(session, other.name)


_CONTENT = (
    "SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM ("
    " SELECT c.id, c.collection_id, c.document_id, c.ordinal, c.text, c.embedding::text,"
    " c.tsv::text, c.access, d.external_id, d.access FROM chunks c"
    " JOIN documents d ON d.id = c.document_id) x"
)


def test_migration_moves_rows_both_ways(seeded_before_partitions: Scratch) -> None:
    url, dsn = seeded_before_partitions.url, seeded_before_partitions.dsn
    with psycopg.connect(dsn) as conn:
        before = scalar(conn, _CONTENT)
        next_id = scalar(conn, "SELECT last_value FROM chunks_id_seq")
    migrate.upgrade(url, "0005_partitions")
    with psycopg.connect(dsn) as conn:
        assert scalar(conn, _CONTENT) == before
        assert scalar(conn, "SELECT last_value FROM chunks_id_seq") == next_id
        assert scalar(conn, "SELECT count(*) FROM chunks_c2") == 60
        assert scalar(conn, "SELECT relkind::text FROM pg_class WHERE relname = 'chunks'") == "p"
        hnsw = scalar(conn, "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunks_hnsw_c2'")
        assert (
            "ON public.chunks_c2 USING hnsw (((embedding)::halfvec(3)) halfvec_cosine_ops)" in hnsw
        )
        assert "WHERE" not in hnsw
        assert scalar(conn, "SELECT count(*) FROM pg_policies WHERE tablename = 'chunks'") == 2
    command.downgrade(migrate.alembic_config(url), "0004_access")
    with psycopg.connect(dsn) as conn:
        assert scalar(conn, _CONTENT) == before
        assert scalar(conn, "SELECT relkind::text FROM pg_class WHERE relname = 'chunks'") == "r"
        hnsw = scalar(conn, "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunks_hnsw_c1'")
        assert hnsw.endswith("WHERE (collection_id = 1)")
        assert scalar(conn, "SELECT count(*) FROM pg_policies WHERE tablename = 'chunks'") == 2
        assert scalar(conn, "SELECT to_regclass('chunks_c1') IS NULL")
