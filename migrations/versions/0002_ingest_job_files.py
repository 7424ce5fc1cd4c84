"""Uploaded files of ingest jobs, stored in PostgreSQL so any `pgask worker` can process them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_job_files",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["ingest_jobs.id"],
            name=op.f("fk_ingest_job_files_job_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_job_files")),
        sa.UniqueConstraint("job_id", "name", name=op.f("uq_ingest_job_files_job_id_name")),
    )
    # Workers look for queued jobs and for running jobs whose heartbeat went stale.
    op.create_index(
        "ingest_jobs_running",
        "ingest_jobs",
        ["heartbeat_at"],
        unique=False,
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("ingest_jobs_running", table_name="ingest_jobs")
    op.drop_table("ingest_job_files")
