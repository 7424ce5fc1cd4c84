"""Fixtures for the database tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from alembic import command
from sqlalchemy.engine import URL, make_url

from app.db import migrate
from tests.conftest import Databases
from tests.sql import scalar

# Two collections (1 `vector`, 2 `halfvec`) of 20 documents x 3 chunks in the layout of
# 0004_access; vectors are small integers, exact as 16-bit floats.
SEED = """
INSERT INTO collections (name, embedding_provider, embedding_model, embedding_dimensions,
                         chunk_size, chunk_overlap, vector_type)
VALUES ('a', 'local', 'm', 3, 100, 10, 'vector'), ('h', 'local', 'm', 3, 100, 10, 'halfvec');
INSERT INTO documents (collection_id, external_id, content_hash, access)
SELECT c.id, 'd' || g, 'h', CASE WHEN g % 2 = 0 THEN '{x}'::text[] ELSE '{}' END
FROM collections c, generate_series(1, 20) g;
INSERT INTO chunks (collection_id, document_id, ordinal, text, token_count, embedding)
SELECT d.collection_id, d.id, o, 'hello ' || d.external_id, 2, ARRAY[d.id, o + 1, 1]::real[]::vector
FROM documents d, generate_series(0, 2) o;
"""


@dataclass(frozen=True)
class Scratch:
    url: URL  # SQLAlchemy, for the migrations
    dsn: str  # libpq, for psycopg

    @classmethod
    def of(cls, url: str) -> Scratch:
        return cls(make_url(url), url.replace("postgresql+psycopg://", "postgresql://"))


@pytest.fixture
def seeded_before_partitions(scratch_db: str) -> Scratch:
    """The scratch database migrated to 0004_access (the layout before partitions) and
    holding SEED's rows."""
    scratch = Scratch.of(scratch_db)
    migrate.upgrade(scratch.url, "0004_access")
    with psycopg.connect(scratch.dsn) as conn:
        conn.execute(SEED)
        conn.commit()
    return scratch


@pytest.fixture
def scratch_db(databases: Databases) -> Iterator[str]:
    """An empty database on the test server, for running migrations both ways."""
    url = databases.create(None, prefix="pgask_mig")
    try:
        yield url
    finally:
        databases.drop(url)


def check_storage_round_trip(
    scratch: Scratch, revision: str, columns: tuple[str, ...], before: str, after: str
) -> None:
    """Migrating from `revision` to head changes the storage of chunks' `columns` (on the
    parent and every partition) from `before` to `after`, and downgrading back restores it
    (pg_attribute.attstorage letters: e EXTERNAL, m MAIN, x EXTENDED)."""
    storage = (
        "SELECT string_agg(DISTINCT a.attstorage::text, '') FROM pg_attribute a"
        " WHERE a.attname = ANY(%s)"
        " AND a.attrelid IN (SELECT relid FROM pg_partition_tree('chunks'))"
    )
    migrate.upgrade(scratch.url, revision)
    with psycopg.connect(scratch.dsn) as conn:
        assert scalar(conn, storage, (list(columns),)) == before
        assert scalar(conn, "SELECT count(*) FROM pg_partition_tree('chunks')") == 3
    migrate.upgrade(scratch.url)
    with psycopg.connect(scratch.dsn) as conn:
        assert scalar(conn, storage, (list(columns),)) == after
    command.downgrade(migrate.alembic_config(scratch.url), revision)
    with psycopg.connect(scratch.dsn) as conn:
        assert scalar(conn, storage, (list(columns),)) == before
