"""The migrations and the ORM models agree, and the per-collection HNSW index lives and dies
with its collection."""

from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from app.db.models import Base
from app.db.schema import create_hnsw_index_sql, include_object, vector_expression


def _libpq(db_url: str) -> str:
    return db_url.replace("postgresql+psycopg://", "postgresql://")


def test_models_match_migrations(db_url: str) -> None:
    engine = create_engine(db_url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": include_object, "compare_type": True}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_vector_extension_is_installed(db_url: str) -> None:
    with psycopg.connect(_libpq(db_url)) as conn:
        version = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
    assert version is not None
    assert tuple(int(p) for p in version[0].split(".")[:2]) >= (0, 8)


def test_index_ddl_uses_halfvec_above_2000_dims() -> None:
    assert vector_expression(384) == "(embedding::vector(384))"
    assert vector_expression(3072) == "(embedding::halfvec(3072))"
    assert "halfvec_cosine_ops" in create_hnsw_index_sql(3, 3072)
    assert " ON chunks_c7 USING hnsw " in create_hnsw_index_sql(7, 384)
    assert "WHERE" not in create_hnsw_index_sql(7, 384)


@pytest.mark.parametrize("bad", [0, -1, "7; DROP TABLE chunks", 1.5, True])
def test_index_ddl_rejects_anything_but_positive_ints(bad: object) -> None:
    with pytest.raises(ValueError):
        create_hnsw_index_sql(bad, 384)  # type: ignore[arg-type]


def test_index_ddl_rejects_dimensions_hnsw_cannot_index() -> None:
    with pytest.raises(ValueError):
        vector_expression(4001)
