"""DDL that depends on data: each collection's partial expression HNSW index.

DESIGN.md decision 4: one chunks table with an untyped `vector` column; each collection gets
`USING hnsw ((embedding::vector(n)) vector_cosine_ops) WHERE collection_id = N`
(`halfvec(n)` above 2,000 dimensions, pgvector's limit for `vector` in an HNSW index).
Queries must repeat `vector_expression()` and the predicate exactly, or the planner cannot
use the index. DDL takes no bound parameters, so the two integers are checked and formatted
here, and nowhere else.
"""

from __future__ import annotations

from typing import Any, Literal

HNSW_INDEX_PREFIX = "chunks_hnsw_c"
MAX_VECTOR_INDEX_DIMS = 2000
MAX_HALFVEC_INDEX_DIMS = 4000
# A collection's choice: `halfvec` indexes 16-bit floats (half the index) at any dimension.
VectorType = Literal["vector", "halfvec"]
VECTOR_TYPES: tuple[VectorType, ...] = ("vector", "halfvec")


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


def vector_expression(
    dimensions: int, column: str = "embedding", storage: VectorType = "vector"
) -> str:
    """The indexed expression, e.g. `(embedding::vector(384))`."""
    return f"({column}::{vector_type(dimensions, storage)})"


def opclass(dimensions: int, storage: VectorType = "vector") -> str:
    return "halfvec_cosine_ops" if _half(dimensions, storage) else "vector_cosine_ops"


def hnsw_index_name(collection_id: int) -> str:
    return f"{HNSW_INDEX_PREFIX}{_check_int(collection_id, 'collection_id')}"


def create_hnsw_index_sql(
    collection_id: int,
    dimensions: int,
    *,
    storage: VectorType = "vector",
    m: int = 16,
    ef_construction: int = 64,
) -> str:
    cid = _check_int(collection_id, "collection_id")
    expression = vector_expression(dimensions, storage=storage)
    return (
        f"CREATE INDEX IF NOT EXISTS {hnsw_index_name(cid)} ON chunks "
        f"USING hnsw ({expression} {opclass(dimensions, storage)}) "
        f"WITH (m = {_check_int(m, 'm')}, ef_construction = {_check_int(ef_construction, 'ef')}) "
        f"WHERE collection_id = {cid}"
    )


def drop_hnsw_index_sql(collection_id: int, *, concurrently: bool = False) -> str:
    """A plain DROP INDEX locks the whole shared chunks table (ACCESS EXCLUSIVE), so every
    collection's searches queue behind it; CONCURRENTLY does not, but cannot run inside a
    transaction block."""
    how = "CONCURRENTLY " if concurrently else ""
    return f"DROP INDEX {how}IF EXISTS {hnsw_index_name(collection_id)}"


def include_object(
    _obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Alembic autogenerate hook: per-collection HNSW indexes are made at run time, not by
    migrations, so the model/migration comparison ignores them."""
    return not (type_ == "index" and name is not None and name.startswith(HNSW_INDEX_PREFIX))


def collection_predicate(collection_id: int, alias: str = "c") -> str:
    """`c.collection_id = N` with N inlined: a bound `$1` would make a prepared statement's
    generic plan unable to match the partial HNSW index (DESIGN.md decision 4)."""
    if not alias.isidentifier():
        raise ValueError(f"alias must be an identifier, got {alias!r}")
    return f"{alias}.collection_id = {_check_int(collection_id, 'collection_id')}"
