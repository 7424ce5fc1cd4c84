"""documents and chunks LIST-partitioned by collection_id, one partition per collection.

Every key of both tables now includes `collection_id` (PostgreSQL requires it of a
partitioned table's primary and unique keys, Citus of a distributed table's keys), each
chunks partition has its own HNSW index (no longer a partial index on a shared table), and
the full-text, metadata and access GIN indexes are partitioned indexes on the parent.

Both directions rebuild the tables the same way: the old ones are set aside under `_old`
names, new ones are made `LIKE` them (columns, defaults, generated `tsv`), the rows copied,
then keys, indexes, grants, row-level security and policies are put back (the grants and
policies are copied from the old tables, so 0004's rules are not written twice), and the old
tables dropped. The id sequences are kept, so ids and the next id are unchanged.

Revision ID: 0005_partitions
Revises: 0004_access
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from alembic import op

from app.db.schema import (
    PARTITIONED,
    VectorType,
    create_hnsw_index_sql,
    create_partitions_sql,
    hnsw_index_name,
    opclass,
    vector_expression,
)

revision: str = "0005_partitions"
down_revision: str | None = "0004_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CASCADE = "ON DELETE CASCADE"
_TO_COLLECTIONS = f"FOREIGN KEY (collection_id) REFERENCES collections (id) {_CASCADE}"
# Indexes both layouts have on chunks (on the partitioned parent they cascade to partitions).
_GIN = (
    "CREATE INDEX chunks_tsv ON chunks USING gin (tsv)",
    "CREATE INDEX chunks_metadata ON chunks USING gin (metadata jsonb_path_ops)",
    "CREATE INDEX chunks_access ON chunks USING gin (access)",
)


@dataclass(frozen=True)
class Layout:
    partitioned: bool
    keys: dict[str, tuple[str, ...]]  # table -> ADD CONSTRAINT clauses
    indexes: tuple[str, ...]


PARTITIONS = Layout(
    partitioned=True,
    keys={
        "documents": (
            "pk_documents PRIMARY KEY (collection_id, id)",
            "uq_documents_collection_id_external_id UNIQUE (collection_id, external_id)",
        ),
        "chunks": (
            "pk_chunks PRIMARY KEY (collection_id, id)",
            "uq_chunks_collection_id_document_id_ordinal"
            " UNIQUE (collection_id, document_id, ordinal)",
        ),
    },
    indexes=_GIN,
)
SHARED = Layout(
    partitioned=False,
    keys={
        "documents": (
            "pk_documents PRIMARY KEY (id)",
            "uq_documents_collection_id_external_id UNIQUE (collection_id, external_id)",
        ),
        "chunks": (
            "pk_chunks PRIMARY KEY (id)",
            "uq_chunks_document_id_ordinal UNIQUE (document_id, ordinal)",
        ),
    },
    indexes=(
        "CREATE INDEX ix_documents_collection_id ON documents (collection_id)",
        "CREATE INDEX chunks_collection_id ON chunks (collection_id)",
        *_GIN,
    ),
)


def _foreign_keys(layout: Layout) -> tuple[str, ...]:
    document = (
        "(collection_id, document_id) REFERENCES documents (collection_id, id)"
        if layout.partitioned
        else "(document_id) REFERENCES documents (id)"
    )
    return (
        f"ALTER TABLE documents ADD CONSTRAINT fk_documents_collection_id {_TO_COLLECTIONS}",
        f"ALTER TABLE chunks ADD CONSTRAINT fk_chunks_collection_id {_TO_COLLECTIONS}",
        "ALTER TABLE chunks ADD CONSTRAINT fk_chunks_document_id"
        f" FOREIGN KEY {document} {_CASCADE}",
    )


def upgrade() -> None:
    _rebuild(PARTITIONS)


def downgrade() -> None:
    _rebuild(SHARED)


def _rebuild(layout: Layout) -> None:
    collections = _collections()
    for table in PARTITIONED:
        _set_aside(table)
    for table in PARTITIONED:
        _create(table, layout)
    if layout.partitioned:
        for collection_id, _, _ in collections:
            for statement in create_partitions_sql(collection_id):
                op.execute(statement)
    for table in PARTITIONED:
        _copy_rows(table)
    for statement in (*_foreign_keys(layout), *layout.indexes):
        op.execute(statement)
    for collection_id, dimensions, storage in collections:
        op.execute(_hnsw(layout, collection_id, dimensions, storage))
    for table in PARTITIONED:
        _copy_access(f"{table}_old", table)
    op.execute("DROP TABLE chunks_old, documents_old")
    for table in PARTITIONED:
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
        op.execute(f"ANALYZE {table}")


def _collections() -> list[tuple[int, int, VectorType]]:
    rows = op.get_bind().execute(
        sa.text("SELECT id, embedding_dimensions, vector_type FROM collections ORDER BY id")
    )
    return [(int(i), int(d), cast(VectorType, v)) for i, d, v in rows]


def _set_aside(table: str) -> None:
    """Rename the table and every index on it or its partitions (index names are schema-wide)
    to `_old`, and keep its id sequence from being dropped with it."""
    bind = op.get_bind()
    indexes = bind.execute(
        sa.text(
            # pg_partition_tree gives nothing for a table that is not partitioned.
            "SELECT i.indexrelid::regclass::text FROM pg_index i"
            " WHERE i.indrelid = CAST(:t AS regclass)"
            " OR i.indrelid IN (SELECT relid FROM pg_partition_tree(CAST(:t AS regclass)))"
        ),
        {"t": table},
    )
    for (index,) in indexes.all():
        op.execute(f'ALTER INDEX "{index}" RENAME TO "{index}_old"')
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")


def _create(table: str, layout: Layout) -> None:
    partition = " PARTITION BY LIST (collection_id)" if layout.partitioned else ""
    op.execute(
        f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS INCLUDING GENERATED)"
        + partition
    )
    for key in layout.keys[table]:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {key}")


def _copy_rows(table: str) -> None:
    columns = op.get_bind().execute(
        sa.text(
            "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
            " WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped"
            " AND attgenerated = ''"
        ),
        {"t": table},
    )
    names = columns.scalar_one()
    op.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {table}_old")


def _hnsw(layout: Layout, collection_id: int, dimensions: int, storage: VectorType) -> str:
    if layout.partitioned:
        return create_hnsw_index_sql(collection_id, dimensions, storage=storage)
    # 0004's layout: a partial index per collection on the shared table.
    expression = vector_expression(dimensions, storage=storage)
    return (
        f"CREATE INDEX {hnsw_index_name(collection_id)} ON chunks USING hnsw"
        f" ({expression} {opclass(dimensions, storage)}) WHERE collection_id = {collection_id}"
    )


def _copy_access(old: str, new: str) -> None:
    """The old table's grants (to roles other than its owner), row-level security switches
    and policies, on the new table: 0004's rules carried over, not restated."""
    bind = op.get_bind()
    grants = bind.execute(
        sa.text(
            "SELECT quote_ident(a.grantee::regrole::text), a.privilege_type"
            " FROM pg_class c, aclexplode(c.relacl) a"
            " WHERE c.oid = CAST(:t AS regclass) AND a.grantee NOT IN (0, c.relowner)"
        ),
        {"t": old},
    )
    for grantee, privilege in grants.all():
        op.execute(f"GRANT {privilege} ON {new} TO {grantee}")
    enabled, forced = bind.execute(
        sa.text(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE oid = CAST(:t AS regclass)"
        ),
        {"t": old},
    ).one()
    if enabled:
        op.execute(f"ALTER TABLE {new} ENABLE ROW LEVEL SECURITY")
    if forced:
        op.execute(f"ALTER TABLE {new} FORCE ROW LEVEL SECURITY")
    policies = bind.execute(
        sa.text(
            "SELECT quote_ident(policyname), permissive, cmd,"
            " (SELECT string_agg(CASE r WHEN 'public' THEN 'PUBLIC' ELSE quote_ident(r) END,"
            " ', ') FROM unnest(roles) AS r), qual, with_check"
            " FROM pg_policies WHERE schemaname = current_schema() AND tablename = :t"
        ),
        {"t": old},
    )
    for name, permissive, cmd, roles, qual, check in policies.all():
        clauses = f" USING ({qual})" if qual else ""
        clauses += f" WITH CHECK ({check})" if check else ""
        op.execute(f"CREATE POLICY {name} ON {new} AS {permissive} FOR {cmd} TO {roles}{clauses}")
