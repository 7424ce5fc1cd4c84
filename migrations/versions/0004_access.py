"""Access control: API keys and an audit log in PostgreSQL, `access` groups on documents and
chunks, and row-level security that a NOLOGIN role (`pgask_scoped`) is subject to.

Requests of non-admin keys run `SET LOCAL ROLE pgask_scoped` with their collections and
groups in `pgask.*` settings (`app/access.py`); everything else (migrations, admin keys,
workers) runs as the connecting role, which a permissive `USING (true)` policy of its own
lets through unchanged, so FORCE ROW LEVEL SECURITY costs the unscoped paths nothing: the
planner drops a constant-true qual.

Revision ID: 0004_access
Revises: 0003_vector_type
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_access"
down_revision: str | None = "0003_vector_type"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPED_ROLE = "pgask_scoped"  # app/access.py SCOPED_ROLE
_TABLES = ("collections", "documents", "chunks", "ingest_jobs", "ingest_job_files")
_WRITABLE = ("documents", "chunks", "ingest_jobs", "ingest_job_files")
_SEQUENCES = (
    "documents_id_seq",
    "chunks_id_seq",
    "ingest_job_files_id_seq",
    "audit_events_id_seq",
)

# Settings unset (or reset to '') mean "nothing": a scoped transaction that forgot to set
# them sees no rows at all.
_ALL = "current_setting('pgask.all_collections', true) = 'on'"
_COLLECTIONS = "coalesce(nullif(current_setting('pgask.collections', true), ''), '{}')::text[]"
_GROUPS = "coalesce(nullif(current_setting('pgask.groups', true), ''), '{}')::text[]"
_VISIBLE_COLLECTIONS = "collection_id = ANY (ARRAY(SELECT id FROM collections))"
# chunks.access holds '*' (app/access.py EVERYONE) for documents without groups: one `&&`
# the GIN index answers, where `access = '{}' OR ...` scanned every row of a collection.
_POLICIES = {
    "collections": f"({_ALL} OR name = ANY ({_COLLECTIONS}))",
    "documents": f"{_VISIBLE_COLLECTIONS} AND (access = '{{}}' OR access && {_GROUPS})",
    "chunks": f"{_VISIBLE_COLLECTIONS} AND access && ({_GROUPS} || '{{*}}'::text[])",
    "ingest_jobs": _VISIBLE_COLLECTIONS,
    "ingest_job_files": "job_id IN (SELECT id FROM ingest_jobs)",
}


def _access_column(default: str) -> sa.Column:
    return sa.Column(
        "access",
        postgresql.ARRAY(sa.Text()),
        server_default=sa.text(f"'{default}'::text[]"),
        nullable=False,
    )


def _timestamp(name: str, *, default: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.now() if default else None,
        nullable=not default,
    )


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("collections", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column(
            "groups",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        _timestamp("created_at", default=True),
        _timestamp("expires_at"),
        _timestamp("revoked_at"),
        _timestamp("last_used_at"),
        sa.CheckConstraint("role IN ('read', 'write', 'admin')", name=op.f("ck_api_keys_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        _timestamp("at", default=True),
        sa.Column("key_name", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column(
            "detail", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.add_column("documents", _access_column("{}"))
    op.add_column("chunks", _access_column("{*}"))
    op.create_index("chunks_access", "chunks", ["access"], postgresql_using="gin", unique=False)
    _create_role_and_policies()


def _create_role_and_policies() -> None:
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SCOPED_ROLE}')"
        f" THEN CREATE ROLE {SCOPED_ROLE} NOLOGIN NOBYPASSRLS; END IF; END $$"
    )
    # The connecting role switches to it with SET LOCAL ROLE, so it must be a member
    # (a superuser already may).
    op.execute(
        "DO $$ BEGIN IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        f" AND NOT pg_has_role(current_user, '{SCOPED_ROLE}', 'MEMBER')"
        f" THEN EXECUTE 'GRANT {SCOPED_ROLE} TO ' || quote_ident(current_user); END IF; END $$"
    )
    op.execute(f"GRANT SELECT ON {', '.join(_TABLES)} TO {SCOPED_ROLE}")
    op.execute(f"GRANT INSERT, UPDATE, DELETE ON {', '.join(_WRITABLE)} TO {SCOPED_ROLE}")
    op.execute(f"GRANT USAGE ON {', '.join(_SEQUENCES)} TO {SCOPED_ROLE}")
    # Write keys' deletions are audited in their own transaction; they may not read the log.
    op.execute(f"GRANT INSERT ON audit_events TO {SCOPED_ROLE}")
    for table, predicate in _POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY pgask_unscoped ON {table} TO CURRENT_USER USING (true)")
        op.execute(
            f"CREATE POLICY pgask_scoped ON {table} TO {SCOPED_ROLE}"
            f" USING ({predicate}) WITH CHECK ({predicate})"
        )


def downgrade() -> None:
    for table in _POLICIES:
        op.execute(f"DROP POLICY pgask_scoped ON {table}")
        op.execute(f"DROP POLICY pgask_unscoped ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # The role is cluster-wide (other databases may use it): only this database's grants go.
    op.execute(f"REVOKE ALL ON {', '.join(_TABLES)}, audit_events FROM {SCOPED_ROLE}")
    op.execute(f"REVOKE ALL ON {', '.join(_SEQUENCES)} FROM {SCOPED_ROLE}")
    op.drop_index("chunks_access", table_name="chunks", postgresql_using="gin")
    op.drop_column("chunks", "access")
    op.drop_column("documents", "access")
    op.drop_table("audit_events")
    op.drop_table("api_keys")
