"""Default deny: request connections run as a role row-level security applies to, and admins
through a role of their own (docs/decisions/0014-default-deny.md).

- `pgask_scoped` (0004) is now every request connection's session role: with no principal
  set in the transaction its policies match no row.
- `pgask_admin` (new, NOLOGIN NOBYPASSRLS) is the explicit elevation of an admin principal:
  a `USING (true)` policy of its own on every protected table, and the grants an admin's
  requests need (keys and the audit log included).
- An ingest job is visible only to keys that may read its files' groups (`params.access`),
  as its documents will be.

The connecting role (migrations, ingestion's writer, the job worker) keeps its own policy.

Revision ID: 0009_default_deny
Revises: 0008_upload_pieces
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_default_deny"
down_revision: str | None = "0008_upload_pieces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADMIN_ROLE = "pgask_admin"  # app/access.py ADMIN_ROLE
SCOPED_ROLE = "pgask_scoped"
_PROTECTED = ("collections", "documents", "chunks", "ingest_jobs", "ingest_job_files")
_TABLES = (*_PROTECTED, "api_keys", "audit_events")
_SEQUENCES = (
    "documents_id_seq",
    "chunks_id_seq",
    "ingest_job_files_id_seq",
    "audit_events_id_seq",
    "api_keys_id_seq",
    "collections_id_seq",
)
_GROUPS = "coalesce(nullif(current_setting('pgask.groups', true), ''), '{}')::text[]"
_VISIBLE_COLLECTIONS = "collection_id = ANY (ARRAY(SELECT id FROM collections))"
# A job's files carry the groups its documents will have; none means everyone.
_JOB_GROUPS = "ARRAY(SELECT jsonb_array_elements_text(coalesce(params -> 'access', '[]')))"
_JOBS = f"{_VISIBLE_COLLECTIONS} AND ({_JOB_GROUPS} = '{{}}' OR {_JOB_GROUPS} && {_GROUPS})"
_JOBS_BEFORE = _VISIBLE_COLLECTIONS


def upgrade() -> None:
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ADMIN_ROLE}')"
        f" THEN CREATE ROLE {ADMIN_ROLE} NOLOGIN NOBYPASSRLS; END IF; END $$"
    )
    # The connecting role switches to it with SET LOCAL ROLE, so it must be a member.
    op.execute(
        "DO $$ BEGIN IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        f" AND NOT pg_has_role(current_user, '{ADMIN_ROLE}', 'MEMBER')"
        f" THEN EXECUTE 'GRANT {ADMIN_ROLE} TO ' || quote_ident(current_user); END IF; END $$"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(_TABLES)} TO {ADMIN_ROLE}")
    op.execute(f"GRANT USAGE ON {', '.join(_SEQUENCES)} TO {ADMIN_ROLE}")
    for table in _PROTECTED:
        op.execute(
            f"CREATE POLICY pgask_admin ON {table} TO {ADMIN_ROLE} USING (true) WITH CHECK (true)"
        )
    _jobs_policy(_JOBS)


def downgrade() -> None:
    _jobs_policy(_JOBS_BEFORE)
    for table in _PROTECTED:
        op.execute(f"DROP POLICY pgask_admin ON {table}")
    # The role is cluster-wide (other databases may use it): only this database's grants go.
    op.execute(f"REVOKE ALL ON {', '.join(_TABLES)} FROM {ADMIN_ROLE}")
    op.execute(f"REVOKE ALL ON {', '.join(_SEQUENCES)} FROM {ADMIN_ROLE}")


def _jobs_policy(predicate: str) -> None:
    op.execute(
        f"ALTER POLICY pgask_scoped ON ingest_jobs USING ({predicate}) WITH CHECK ({predicate})"
    )
