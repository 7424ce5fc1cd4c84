"""DDL that depends on data: each collection's partitions and its expression HNSW index.

docs/decisions/0004-vector-column-and-per-collection-indexes.md: `documents` and `chunks` are
LIST-partitioned by `collection_id`, one
partition per collection (`documents_c7`, `chunks_c7`), made with the collection and dropped
with it. The parents share one untyped `vector` column; each chunks partition gets
`USING hnsw ((embedding::vector(n)) vector_cosine_ops)` (`halfvec(n)` above 2,000
dimensions, pgvector's limit for `vector` in an HNSW index). A partition has its parent's
column types, so a `halfvec` collection stores its vectors in a second column,
`embedding_half` (16-bit floats: half the heap), and leaves `embedding` NULL; a CHECK keeps
exactly one of the two set, and `embedding_column()` is the one place that says which.
Queries must repeat `vector_expression()` exactly, or the planner cannot use the index, and
name the collection as a constant (`collection_predicate`) so the planner prunes to its
partition. DDL takes no bound parameters, so the integers are checked and formatted here,
and nowhere else.
"""

from __future__ import annotations

import re
from typing import Any, Literal

HNSW_INDEX_PREFIX = "chunks_hnsw_c"
# The partitioned tables, parent first: a chunk references its document.
PARTITIONED = ("documents", "chunks")
PARTITION_PATTERN = r"^(documents|chunks)_c[0-9]+$"
MAX_VECTOR_INDEX_DIMS = 2000
MAX_HALFVEC_INDEX_DIMS = 4000
# Statistics target of chunks.tsv: ANALYZE lists the 10 x TSV_STATISTICS most common lexemes
# of a collection with their frequencies, which full-text search plans with
# (app/search/terms.py; migrations/versions/0010_text_index.py).
TSV_STATISTICS = 1000
# A collection's choice: `halfvec` indexes 16-bit floats (half the index) at any dimension.
VectorType = Literal["vector", "halfvec"]
VECTOR_TYPES: tuple[VectorType, ...] = ("vector", "halfvec")
_EMBEDDING_COLUMNS: dict[VectorType, str] = {"vector": "embedding", "halfvec": "embedding_half"}


def _check_int(value: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _half(dimensions: int, storage: VectorType) -> bool:
    if storage not in VECTOR_TYPES:
        raise ValueError(f"vector type must be one of {VECTOR_TYPES}, got {storage!r}")
    return storage == "halfvec" or dimensions > MAX_VECTOR_INDEX_DIMS


def vector_type(dimensions: int, storage: VectorType = "vector") -> str:
    """`vector(n)`, or `halfvec(n)` when the collection asks for it or above pgvector's
    2,000-dimension index limit for `vector`."""
    dims = _check_int(dimensions, "dimensions")
    if dims > MAX_HALFVEC_INDEX_DIMS:
        raise ValueError(f"{dims} dimensions: HNSW indexes support at most 4,000 (halfvec)")
    return f"halfvec({dims})" if _half(dims, storage) else f"vector({dims})"


def embedding_column(storage: VectorType, alias: str = "") -> str:
    """The chunks column holding the vectors of a collection of this vector type, e.g.
    `c.embedding_half`: the pgvector type of the column is the vector type's name."""
    if storage not in VECTOR_TYPES:
        raise ValueError(f"vector type must be one of {VECTOR_TYPES}, got {storage!r}")
    return _qualified(_EMBEDDING_COLUMNS[storage], alias)


def _qualified(column: str, alias: str) -> str:
    if alias and not alias.isidentifier():
        raise ValueError(f"alias must be an identifier, got {alias!r}")
    return f"{alias}.{column}" if alias else column


def vector_expression(
    dimensions: int, storage: VectorType = "vector", *, alias: str = "", column: str = ""
) -> str:
    """The indexed expression, e.g. `(embedding::vector(384))` or
    `(embedding_half::halfvec(384))`. `column` overrides the vector type's column, for the
    migrations that ran before `embedding_half` existed."""
    qualified = _qualified(column, alias) if column else embedding_column(storage, alias)
    return f"({qualified}::{vector_type(dimensions, storage)})"


def opclass(dimensions: int, storage: VectorType = "vector") -> str:
    return "halfvec_cosine_ops" if _half(dimensions, storage) else "vector_cosine_ops"


def hnsw_index_name(collection_id: int) -> str:
    return f"{HNSW_INDEX_PREFIX}{_check_int(collection_id, 'collection_id')}"


def partition_name(table: str, collection_id: int) -> str:
    """`chunks_c7`: the partition of `table` holding collection 7's rows."""
    if table not in PARTITIONED:
        raise ValueError(f"{table!r} is not partitioned by collection")
    return f"{table}_c{_check_int(collection_id, 'collection_id')}"


# Taken by a transaction that creates a collection and its partitions, before it inserts
# the collection's row, and held to its end. ATTACH takes SHARE ROW EXCLUSIVE on
# `collections` (the foreign key's table), which every other creator's insert holds a
# conflicting lock on: two creators at once deadlocked (measured: two imports racing,
# "deadlock detected" on ALTER TABLE documents ATTACH PARTITION). The first ATTACH holds
# its locks to the end of its transaction anyway, so this only puts the creators in order.
PARTITION_DDL_LOCK = "SELECT pg_advisory_xact_lock(hashtext('pgask.partitions'))"


def create_partitions_sql(collection_id: int, storage: VectorType | None) -> list[str]:
    """The collection's partitions, to run in the transaction that inserts its row (after
    PARTITION_DDL_LOCK, taken before that insert). Each is
    made on its own, then attached: ATTACH takes a SHARE UPDATE EXCLUSIVE lock on the parent
    (and, for chunks' foreign key, SHARE ROW EXCLUSIVE on the parents: other writers wait,
    readers never do), where `CREATE TABLE ... PARTITION OF` would take ACCESS EXCLUSIVE and
    queue every search behind any transaction still open on the parent. Attaching gives it
    the parent's keys, foreign keys and full-text/metadata/access indexes (CHECK constraints it
    must already have, hence INCLUDING CONSTRAINTS; INCLUDING STORAGE keeps the vectors in
    the row, migration 0007); the HNSW index is its own
    (`create_hnsw_index_sql`). No grant on them: the scoped role reads and writes
    through the parents, where row-level security applies (a partition has no policies).
    The chunks partition also refuses vectors in the other type's column
    (`vector_column_check_sql`); `storage` None is for migrations before that column."""
    cid = _check_int(collection_id, "collection_id")
    statements = []
    for table in PARTITIONED:
        partition = partition_name(table, cid)
        statements.append(
            f"CREATE TABLE {partition} (LIKE {table} INCLUDING DEFAULTS INCLUDING GENERATED"
            " INCLUDING CONSTRAINTS INCLUDING STORAGE)"
        )
        if table == "chunks" and storage is not None:
            statements.append(vector_column_check_sql(cid, storage))
            # LIKE copies no statistics target.
            statements.append(
                f"ALTER TABLE {partition} ALTER COLUMN tsv SET STATISTICS {TSV_STATISTICS}"
            )
        statements.append(f"ALTER TABLE {table} ATTACH PARTITION {partition} FOR VALUES IN ({cid})")
    return statements


def vector_column_check_sql(collection_id: int, storage: VectorType) -> str:
    """A CHECK on the collection's chunks partition that its vectors are in its vector
    type's column: a writer told the wrong type fails instead of storing vectors that no
    search of the collection reads (the parent's CHECK only wants one of the two set)."""
    partition = partition_name("chunks", collection_id)
    return (
        f"ALTER TABLE {partition} ADD CONSTRAINT {partition}_vector_type"
        f" CHECK ({embedding_column(storage)} IS NOT NULL)"
    )


def drop_partitions_sql(collection_id: int) -> list[str]:
    """Drop the collection's rows in catalog changes: no row-by-row delete, no dead tuples
    for VACUUM. The chunks partition goes first; the documents partition is detached before
    it is dropped, which checks that no chunk still references it (a plain DROP refuses: the
    chunks foreign key depends on it). Each step takes a brief ACCESS EXCLUSIVE lock on the
    parent (PostgreSQL locks a partition's parent to drop or detach it), so it waits for
    transactions already using that table."""
    chunks = partition_name("chunks", collection_id)
    documents = partition_name("documents", collection_id)
    return [
        f"DROP TABLE {chunks}",
        f"ALTER TABLE documents DETACH PARTITION {documents}",
        f"DROP TABLE {documents}",
    ]


def create_hnsw_index_sql(
    collection_id: int,
    dimensions: int,
    *,
    storage: VectorType = "vector",
    m: int = 16,
    ef_construction: int = 64,
    column: str = "",
) -> str:
    cid = _check_int(collection_id, "collection_id")
    expression = vector_expression(dimensions, storage, column=column)
    return (
        f"CREATE INDEX IF NOT EXISTS {hnsw_index_name(cid)} ON {partition_name('chunks', cid)} "
        f"USING hnsw ({expression} {opclass(dimensions, storage)}) "
        f"WITH (m = {_check_int(m, 'm')}, ef_construction = {_check_int(ef_construction, 'ef')})"
    )


def drop_hnsw_index_sql(collection_id: int, *, concurrently: bool = False) -> str:
    """A plain DROP INDEX locks the collection's chunks partition (ACCESS EXCLUSIVE), so its
    searches queue behind it; CONCURRENTLY does not, but cannot run inside a transaction
    block."""
    how = "CONCURRENTLY " if concurrently else ""
    return f"DROP INDEX {how}IF EXISTS {hnsw_index_name(collection_id)}"


def _is_partition(name: str) -> bool:
    return re.match(PARTITION_PATTERN, name) is not None


def include_object(
    obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Alembic autogenerate hook: per-collection partitions and HNSW indexes are made at run
    time, not by migrations, so the model/migration comparison ignores them, and the
    foreign keys PostgreSQL derives on `chunks` for each documents partition."""
    if type_ == "foreign_key_constraint":
        return not _is_partition(obj.referred_table.name)
    if name is None:
        return True
    if type_ == "table":
        return not _is_partition(name)
    return not (type_ == "index" and name.startswith(HNSW_INDEX_PREFIX))


def collection_predicate(collection_id: int, alias: str = "c") -> str:
    """`c.collection_id = N` with N inlined, so the planner prunes to the collection's
    partition whatever plan a prepared statement gets: a generic plan for a bound `$1`
    prunes only at executor start, after locking every partition
    (docs/decisions/0004-vector-column-and-per-collection-indexes.md)."""
    if not alias.isidentifier():
        raise ValueError(f"alias must be an identifier, got {alias!r}")
    return f"{alias}.collection_id = {_check_int(collection_id, 'collection_id')}"
