"""Collections choose how their HNSW index stores vectors: `vector` or `halfvec`.

Revision ID: 0003_vector_type
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_vector_type"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "collections",
        sa.Column("vector_type", sa.Text(), server_default="vector", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_collections_vector_type"),
        "collections",
        "vector_type IN ('vector', 'halfvec')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_collections_vector_type"), "collections", type_="check")
    op.drop_column("collections", "vector_type")
