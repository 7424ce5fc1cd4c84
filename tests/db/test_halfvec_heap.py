"""Migration 0006 moves halfvec collections' vectors into `embedding_half` and back, with
their HNSW indexes, and leaves vector collections as they were."""

from __future__ import annotations

import psycopg
import pytest
from alembic import command

from app.db import migrate
from tests.db.conftest import Scratch
from tests.sql import scalar

# Collection 1 is `vector`, 2 is `halfvec` (tests/db/conftest.py SEED); its values are small
# integers, exact as 16-bit floats, so the move is lossless both ways.
_VECTORS = (
    "SELECT md5(string_agg(concat_ws('|', id, collection_id, {column}::text), ','"
    " ORDER BY id)) FROM chunks"
)
_INDEX = "SELECT indexdef FROM pg_indexes WHERE indexname = %s"


def test_migration_moves_halfvec_vectors_both_ways(seeded_before_partitions: Scratch) -> None:
    url, dsn = seeded_before_partitions.url, seeded_before_partitions.dsn
    migrate.upgrade(url, "0005_partitions")
    with psycopg.connect(dsn) as conn:
        before = scalar(conn, _VECTORS.format(column="embedding"))

    migrate.upgrade(url)
    with psycopg.connect(dsn) as conn:
        both = "coalesce(embedding, embedding_half::vector)"
        assert scalar(conn, _VECTORS.format(column=both)) == before
        where = "SELECT collection_id, count(embedding), count(embedding_half) FROM chunks"
        counts = conn.execute(f"{where} GROUP BY collection_id ORDER BY 1").fetchall()
        assert counts == [(1, 60, 0), (2, 0, 60)]
        assert "((embedding_half)::halfvec(3)) halfvec_cosine_ops" in scalar(
            conn, _INDEX, ("chunks_hnsw_c2",)
        )
        assert "((embedding)::vector(3)) vector_cosine_ops" in scalar(
            conn, _INDEX, ("chunks_hnsw_c1",)
        )
        with pytest.raises(psycopg.errors.CheckViolation, match="chunks_c2_vector_type"):
            conn.execute(
                "UPDATE chunks SET embedding = embedding_half::vector, embedding_half = NULL"
                " WHERE collection_id = 2"
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.CheckViolation, match="one_embedding"):
            conn.execute(
                "UPDATE chunks SET embedding_half = embedding::halfvec WHERE collection_id = 1"
            )

    command.downgrade(migrate.alembic_config(url), "0005_partitions")
    with psycopg.connect(dsn) as conn:
        assert scalar(conn, _VECTORS.format(column="embedding")) == before
        assert scalar(conn, "SELECT count(*) FROM chunks WHERE embedding IS NULL") == 0
        assert "((embedding)::halfvec(3)) halfvec_cosine_ops" in scalar(
            conn, _INDEX, ("chunks_hnsw_c2",)
        )
        columns = "SELECT count(*) FROM pg_attribute WHERE attrelid = 'chunks'::regclass"
        assert scalar(conn, f"{columns} AND attname = 'embedding_half'") == 0
