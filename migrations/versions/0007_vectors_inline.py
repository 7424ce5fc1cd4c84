"""Chunk vectors stay in the row: storage MAIN on `embedding` and `embedding_half`.

pgvector's types default to storage EXTERNAL, so a chunk row over 2 kB (a 384-d vector is
1.5 kB, plus the text and its tsvector) had its vector moved to TOAST: 98% of the rows of a
msmarco collection. Every exact scan (a filter matching under 2,000 rows, or a plan the
planner prefers for a small collection) then read two TOAST pages per row to get the
vector: 19.4 ms against 5.8 ms for 10,000 x 384 rows, table 4% larger (bench/sizing.py
data). With MAIN, PostgreSQL compresses and moves the text and tsvector first and the
vector only when the row is still too large (a halfvec(1536) is 3 kB: it still goes).

ALTER COLUMN ... SET STORAGE recurses to the partitions and rewrites nothing: rows written
from now on keep their vectors in place, stored rows keep theirs in TOAST until rewritten
(`VACUUM FULL chunks_cN`, or an export and import). New partitions copy it from the parent
(`app/db/schema.py` create_partitions_sql, INCLUDING STORAGE).

Revision ID: 0007_vectors_inline
Revises: 0006_halfvec_heap
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_vectors_inline"
down_revision: str | None = "0006_halfvec_heap"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("embedding", "embedding_half")


def upgrade() -> None:
    _set_storage("MAIN")


def downgrade() -> None:
    _set_storage("EXTERNAL")


def _set_storage(storage: str) -> None:
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE chunks ALTER COLUMN {column} SET STORAGE {storage}")
