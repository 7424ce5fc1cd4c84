"""halfvec collections store their heap as halfvec: a second column, `embedding_half`.

A partition has its parent's column types, so `chunks.embedding` (untyped `vector`, 4-byte
floats) cannot become `halfvec` for some collections only. Instead every chunk has both
columns and uses the one of its collection's vector type (`app/db/schema.py`
embedding_column); the other is NULL, which costs a bit in the row's null bitmap. A CHECK
keeps exactly one set, and a CHECK on each collection's chunks partition that it is the one
of the collection's type. Each halfvec collection's vectors move over (`::halfvec`, the same
rounding its HNSW index already applied) and its index is rebuilt on the new column;
downgrade moves them back (`::vector` is exact).

Names are spelled here rather than taken from `app/db/schema.py`: a migration records what
the schema was at this revision.

Revision ID: 0006_halfvec_heap
Revises: 0005_partitions
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from typing import cast

import sqlalchemy as sa
from alembic import op

from app.db.schema import (
    VectorType,
    create_hnsw_index_sql,
    drop_hnsw_index_sql,
    partition_name,
    vector_column_check_sql,
)

revision: str = "0006_halfvec_heap"
down_revision: str | None = "0005_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "ck_chunks_one_embedding"
_ONE_SET = "num_nulls(embedding, embedding_half) = 1"


def upgrade() -> None:
    op.execute("ALTER TABLE chunks ADD COLUMN embedding_half halfvec")
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding DROP NOT NULL")
    collections = _collections()
    for collection_id, dimensions, storage in collections:
        if storage == "halfvec":
            _move(collection_id, dimensions, "embedding", "embedding_half")
    op.execute(f"ALTER TABLE chunks ADD CONSTRAINT {_CHECK} CHECK ({_ONE_SET})")
    for collection_id, _, storage in collections:
        op.execute(vector_column_check_sql(collection_id, storage))


def downgrade() -> None:
    op.execute(f"ALTER TABLE chunks DROP CONSTRAINT {_CHECK}")
    for collection_id, dimensions, storage in _collections():
        partition = partition_name("chunks", collection_id)
        op.execute(f"ALTER TABLE {partition} DROP CONSTRAINT {partition}_vector_type")
        if storage == "halfvec":
            _move(collection_id, dimensions, "embedding_half", "embedding")
    op.execute("ALTER TABLE chunks ALTER COLUMN embedding SET NOT NULL")
    op.execute("ALTER TABLE chunks DROP COLUMN embedding_half")


def _collections() -> list[tuple[int, int, VectorType]]:
    rows = op.get_bind().execute(
        sa.text("SELECT id, embedding_dimensions, vector_type FROM collections ORDER BY id")
    )
    return [(int(i), int(d), cast(VectorType, v)) for i, d, v in rows]


def _move(collection_id: int, dimensions: int, source: str, target: str) -> None:
    """The collection's vectors from `source` to `target` (cast to its type), and its HNSW
    index rebuilt on `target`. The index goes first: updating every row under it would
    also insert every vector into it again."""
    kind = "halfvec" if target == "embedding_half" else "vector"
    partition = partition_name("chunks", collection_id)
    op.execute(drop_hnsw_index_sql(collection_id))
    op.execute(f"UPDATE {partition} SET {target} = {source}::{kind}, {source} = NULL")
    op.execute(create_hnsw_index_sql(collection_id, dimensions, storage="halfvec", column=target))
    op.execute(f"ANALYZE {partition}")
