"""Migration 0010 makes the full-text index weigh the document title (A) and heading path (B)
above the body, recomputing the stored rows, with the frequency function search plans with;
downgrade restores the body-only index. New partitions get the statistics target."""

from __future__ import annotations

import psycopg
import pytest
from alembic import command

from app.db import migrate
from app.db.models import Collection
from app.db.schema import TSV_STATISTICS
from tests.db.conftest import Scratch
from tests.sql import scalar

pytestmark = pytest.mark.anyio

REVISION = "0010_text_index"
BEFORE = f"{REVISION}-1"  # whatever precedes it once the chain is merged
# One chunk of a titled document of collection `a`, with a heading path.
_TITLED = (
    "SELECT c.tsv::text FROM chunks c JOIN documents d ON d.id = c.document_id"
    " AND d.collection_id = c.collection_id WHERE d.external_id = 'd1' AND c.ordinal = 0"
    " AND c.collection_id = (SELECT id FROM collections WHERE name = 'a')"
)
_STATISTICS = (
    "SELECT array_agg(DISTINCT (a.attstattarget, a.attstorage)::text) FROM pg_attribute a"
    " WHERE a.attname = 'tsv' AND a.attrelid IN (SELECT relid FROM pg_partition_tree('chunks'))"
)
_HNSW = "SELECT count(*) FROM pg_class WHERE relname ~ '^chunks_hnsw_c[0-9]+$' AND relkind = 'i'"
_FUNCTION = "SELECT to_regprocedure('pgask_lexeme_statistics(integer)') IS NOT NULL"


def test_upgrade_weighs_title_and_section_and_downgrade_restores(
    seeded_before_partitions: Scratch,
) -> None:
    url, dsn = seeded_before_partitions.url, seeded_before_partitions.dsn
    migrate.upgrade(url, BEFORE)
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE documents SET title = 'Greetings Manual' WHERE external_id = 'd1'")
        conn.execute("UPDATE chunks SET section = 'Salutations' WHERE ordinal = 0")
        conn.commit()
        body_only = scalar(conn, _TITLED)
        assert "greet" not in body_only and "salut" not in body_only
    migrate.upgrade(url, REVISION)
    with psycopg.connect(dsn) as conn:
        weighted = scalar(conn, _TITLED)
        assert "'greet':1A" in weighted and "'manual':2A" in weighted
        assert "'salut':3B" in weighted
        assert "'hello':4" in weighted  # the body after them, weight D (not shown)
        assert scalar(conn, "SELECT count(*) FROM chunks WHERE title = 'Greetings Manual'") == 6
        # In the row (MAIN), with the higher statistics target, on the parent and partitions.
        assert scalar(conn, _STATISTICS) == [f"({TSV_STATISTICS},m)"]
        assert scalar(conn, _FUNCTION)
        assert scalar(conn, _HNSW) == 2  # dropped for the rewrite, built again
        # The index is there, on every partition.
        assert (
            scalar(
                conn,
                "SELECT count(*) FROM pg_partition_tree('chunks_tsv') WHERE isleaf",
            )
            == 2
        )
    command.downgrade(migrate.alembic_config(url), BEFORE)
    with psycopg.connect(dsn) as conn:
        assert scalar(conn, _TITLED) == body_only
        assert not scalar(conn, _FUNCTION)
        assert scalar(conn, _HNSW) == 2
        columns = "SELECT count(*) FROM pg_attribute WHERE attrelid = 'chunks'::regclass"
        assert scalar(conn, f"{columns} AND attname = 'title' AND NOT attisdropped") == 0
        assert scalar(conn, "SELECT count(*) FROM pg_partition_tree('chunks_tsv')") == 3
        assert scalar(conn, _STATISTICS) == ["(,x)"]  # the defaults: EXTENDED


async def test_a_new_collections_partition_gets_the_statistics_target_and_storage(
    conn, collection: Collection
) -> None:
    cursor = await conn.execute(
        "SELECT attstattarget, attstorage FROM pg_attribute WHERE attrelid = %s::regclass"
        " AND attname = 'tsv'",
        (f"chunks_c{collection.id}",),
    )
    assert await cursor.fetchone() == (TSV_STATISTICS, "m")
