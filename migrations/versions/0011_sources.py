"""Synced sources (docs/decisions/0028-sources-and-syncs-as-jobs.md): `sources`, one row per
folder, repository, site or bucket a collection is kept in sync with, and `source_items`,
the version of each item its last sync stored (what the next sync compares with).

A source's name is unique over the database (commands and routes name it alone). Its last
sync is its latest ingest job (`job_id`: status, progress, per-file errors); `synced_at`,
`cursor` and `last_sync` are written when a sync completes.

Row-level security as for ingest jobs (0009_default_deny): `pgask_scoped` sees a source of a
collection it sees whose `access` groups it holds (or that has none: its documents are
everyone's), and its items; only `pgask_admin` (and the connecting role: the worker) writes.

Revision ID: 0011_sources
Revises: 0010_text_index
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_sources"
down_revision: str | None = "0010_text_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPED_ROLE = "pgask_scoped"  # app/access.py SCOPED_ROLE
ADMIN_ROLE = "pgask_admin"  # app/access.py ADMIN_ROLE
_GROUPS = "coalesce(nullif(current_setting('pgask.groups', true), ''), '{}')::text[]"
_POLICIES = {
    "sources": "collection_id = ANY (ARRAY(SELECT id FROM collections))"
    f" AND (access = '{{}}' OR access && {_GROUPS})",
    "source_items": "source_id IN (SELECT id FROM sources)",
}


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("options", postgresql.JSONB(), nullable=False),
        sa.Column(
            "access",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),  # None: on request only
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "cursor", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "last_sync", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("interval_seconds > 0", name=op.f("ck_sources_interval")),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_sources_collection_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["ingest_jobs.id"], name=op.f("fk_sources_job_id"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    # Workers look for the sources whose sync is due.
    op.create_index(
        "sources_due",
        "sources",
        ["next_sync_at"],
        postgresql_where=sa.text("next_sync_at IS NOT NULL"),
    )
    op.create_table(
        "source_items",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        # Not a document (an image, a binary): read once per version, never ingested.
        sa.Column("skipped", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_items_source_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "key", name=op.f("pk_source_items")),
    )
    op.execute(f"GRANT SELECT ON sources, source_items TO {SCOPED_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON sources, source_items TO {ADMIN_ROLE}")
    op.execute(f"GRANT USAGE ON sources_id_seq TO {ADMIN_ROLE}")
    for table, predicate in _POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY pgask_unscoped ON {table} TO CURRENT_USER USING (true)")
        op.execute(
            f"CREATE POLICY pgask_scoped ON {table} TO {SCOPED_ROLE}"
            f" USING ({predicate}) WITH CHECK ({predicate})"
        )
        op.execute(
            f"CREATE POLICY pgask_admin ON {table} TO {ADMIN_ROLE} USING (true) WITH CHECK (true)"
        )


def downgrade() -> None:
    op.drop_table("source_items")
    op.drop_index("sources_due", table_name="sources")
    op.drop_table("sources")
