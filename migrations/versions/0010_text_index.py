"""The full-text index weighs a chunk's document title (A) and heading path (B) above its
body (D): `chunks.title` holds a copy of the document's title, and the generated `tsv` is

    setweight(to_tsvector(text_config, title), 'A')
    || setweight(to_tsvector(text_config, section), 'B')
    || to_tsvector(text_config, text)

Search ranks with weights that count a query word in the title 2.5 times one in the body
(app/search/sql.py RANK_WEIGHTS), and a word found only in the title still matches
(docs/decisions/0015-text-ranking.md). A generated column can read only its own row, hence
the copy; the writer sends it with the chunk (ingest/writer.py), and a document's title
changes only when its chunks are rewritten, so the copy never drifts.

Upgrade drops the collections' HNSW indexes and the old `tsv` (and its GIN index), adds and
fills `title`, then adds the new `tsv`: ADD COLUMN ... STORED rewrites every partition (which
also leaves no dead tuple of the title UPDATE behind) and rebuilds its other indexes; then
each HNSW index is built again, once (maintenance_work_mem 512 MB for the builds). Cost,
measured: docs/decisions/0015-text-ranking.md. The tables keep ACCESS EXCLUSIVE locks
until the migration commits: searches of every collection wait for it.

The statistics target of `tsv` is raised to TSV_STATISTICS (10,000 most common lexemes
instead of 1,000), so that search knows the frequency of every lexeme above ~0.05% of a
collection's chunks (`pgask_lexeme_statistics`, app/search/terms.py).

`tsv` is stored MAIN (kept in the row, compressed if need be), like the vectors since
0007: with the default EXTENDED, 92% of msmarco chunk rows had their tsvector moved to TOAST
(the vector stays in the row, so the row is over 2 kB), and ranking read it from there: a
3-word OR query over 1,728 of 5,094 chunks took 33-38 ms, 11-16 ms with `tsv` in the row.
The chunk text goes to TOAST instead; it is read for the k hits only.

Row-level security is lifted for the migration's own statements (NO FORCE, restored after)
so that the table owner's UPDATE sees every row whatever policies apply to it.

Revision ID: 0010_text_index
Revises: 0009_default_deny
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from typing import cast

import sqlalchemy as sa
from alembic import op

from app.db.schema import (
    HNSW_INDEX_PREFIX,
    TSV_STATISTICS,
    VectorType,
    create_hnsw_index_sql,
    drop_hnsw_index_sql,
)

revision: str = "0010_text_index"
down_revision: str | None = "0009_default_deny"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# app/db/models.py Chunk.tsv repeats these expressions.
WEIGHTED = (
    "setweight(to_tsvector(text_config, title), 'A')"
    " || setweight(to_tsvector(text_config, section), 'B')"
    " || to_tsvector(text_config, text)"
)
BODY_ONLY = "to_tsvector(text_config, text)"
_INDEX = "CREATE INDEX chunks_tsv ON chunks USING gin (tsv)"
# A collection's most common lexemes and their frequencies (the share of its chunks holding
# each), from its chunks partition's ANALYZE statistics: the smallest frequency listed comes
# last, after the max, as in pg_stats. SECURITY DEFINER: pg_stats shows a table's statistics
# only to roles that may read it, and request roles read through the parent. It returns
# statistics (about ANALYZE's sample) only, never rows.
_STATISTICS = """
CREATE FUNCTION pgask_lexeme_statistics(collection integer)
RETURNS TABLE (lexemes text[], frequencies real[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
SELECT st.most_common_elems::text::text[], st.most_common_elem_freqs
FROM pg_stats st
WHERE st.schemaname = current_schema() AND st.tablename = 'chunks_c' || collection
  AND st.attname = 'tsv' AND NOT st.inherited
$$
"""
_TABLES = ("documents", "chunks")
# maintenance_work_mem of the rewrite's index builds (pgask's ingest default,
# PGASK_INGEST_MAINTENANCE_WORK_MEM_MB): a 384-d graph of 250,000 chunks fits.
BUILD_MEMORY = "512MB"


# The chunks a scoped principal may read, by the chunks policy's own predicate
# (migrations/versions/0004_access.py), read with the view owner's rights. Scoped full-text
# search takes its candidates here: `@@` is not leakproof, so on `chunks` itself row-level
# security's quals run first and the text index cannot be used (a scan of every visible row
# per search), while through this view (not a security barrier, on purpose) the planner
# combines the text and access indexes. The rows a search returns are still read from
# `chunks` under row-level security (app/search/sql.py hits_sql): the view only proposes.
# tests/access/test_text_candidates.py checks that it shows each principal exactly what
# the policy does. The key's groups and collections are sub-selects, computed once per query:
# written inline, the groups' text was parsed into an array for every candidate row (a key
# seeing 99% of 200,000 chunks ranked 12,848 candidates in 2x the admin's time). The
# groups test is wrapped (IS TRUE) so that it is a filter on the text index's candidates:
# the planner cannot tell a key of 1% from one of 99%, and AND-ing the text index with the
# access index cost the 99% key a 198,000-row bitmap (45 ms) per search; a search by a key
# that sees few rows adds the test in its indexable form itself (app/search/sql.py).
_GROUPS = "coalesce(nullif(current_setting('pgask.groups', true), ''), '{}')::text[]"
_COLLECTIONS = "coalesce(nullif(current_setting('pgask.collections', true), ''), '{}')::text[]"
SCOPED_ROLE = "pgask_scoped"  # app/access.py SCOPED_ROLE
_CANDIDATES = f"""
CREATE VIEW chunks_text_candidates AS
SELECT c.collection_id, c.id, c.document_id, c.tsv, c.metadata, c.access FROM chunks c
WHERE (c.access && (SELECT {_GROUPS} || '{{*}}'::text[])) IS TRUE
  AND c.collection_id = ANY (ARRAY(
        SELECT k.id FROM collections k
        WHERE current_setting('pgask.all_collections', true) = 'on'
           OR k.name = ANY ({_COLLECTIONS})))
"""


def upgrade() -> None:
    op.execute(f"SELECT set_config('maintenance_work_mem', '{BUILD_MEMORY}', true)")
    forced = _lift_force()
    hnsw = _drop_hnsw()
    op.execute("ALTER TABLE chunks DROP COLUMN tsv")
    op.execute("ALTER TABLE chunks ADD COLUMN title text NOT NULL DEFAULT ''")
    op.execute(
        "UPDATE chunks c SET title = d.title FROM documents d"
        " WHERE d.collection_id = c.collection_id AND d.id = c.document_id AND d.title <> ''"
    )
    _add_tsv(WEIGHTED, weighted=True)
    _build_hnsw(hnsw)
    _restore_force(forced)
    op.execute(_STATISTICS)
    op.execute(_CANDIDATES)
    op.execute(f"GRANT SELECT ON chunks_text_candidates TO {SCOPED_ROLE}")


def downgrade() -> None:
    op.execute("DROP VIEW chunks_text_candidates")
    op.execute("DROP FUNCTION pgask_lexeme_statistics(integer)")
    op.execute(f"SELECT set_config('maintenance_work_mem', '{BUILD_MEMORY}', true)")
    forced = _lift_force()
    hnsw = _drop_hnsw()
    op.execute("ALTER TABLE chunks DROP COLUMN tsv")
    op.execute("ALTER TABLE chunks DROP COLUMN title")
    _add_tsv(BODY_ONLY, weighted=False)
    _build_hnsw(hnsw)
    _restore_force(forced)


def _add_tsv(expression: str, weighted: bool) -> None:
    """Add `tsv` (one rewrite of every partition). The weighted one is stored MAIN, in the
    row (the rewrite already writes it so, being the same statement) and gets the higher
    statistics target; both recurse to the partitions."""
    storage = ", ALTER COLUMN tsv SET STORAGE MAIN" if weighted else ""
    op.execute(
        f"ALTER TABLE chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({expression}) STORED"
        + storage
    )
    if weighted:
        op.execute(f"ALTER TABLE chunks ALTER COLUMN tsv SET STATISTICS {TSV_STATISTICS}")
    op.execute(_INDEX)
    op.execute("ANALYZE chunks")


def _drop_hnsw() -> list[tuple[int, int, VectorType]]:
    """Drop the collections' HNSW indexes, returning those there were. The title UPDATE
    would otherwise insert every updated row into them one by one, and the rewrite rebuild
    them with the session's maintenance_work_mem (64 MB by default: a 200,000-chunk graph
    spills to disk); `_build_hnsw` builds each once, after the rewrite."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id, embedding_dimensions, vector_type FROM collections"
            " WHERE to_regclass(:prefix || id::text) IS NOT NULL ORDER BY id"
        ),
        {"prefix": HNSW_INDEX_PREFIX},
    )
    found = [(int(i), int(d), cast(VectorType, v)) for i, d, v in rows]
    for collection_id, _, _ in found:
        op.execute(drop_hnsw_index_sql(collection_id))
    return found


def _build_hnsw(indexes: list[tuple[int, int, VectorType]]) -> None:
    for collection_id, dimensions, storage in indexes:
        op.execute(create_hnsw_index_sql(collection_id, dimensions, storage=storage))


def _lift_force() -> list[str]:
    """Turn FORCE ROW LEVEL SECURITY off on the tables this migration reads and writes, and
    return those it was on for."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT relname FROM pg_class"
            " WHERE oid = ANY(CAST(:t AS regclass[])) AND relforcerowsecurity"
        ),
        {"t": list(_TABLES)},
    )
    forced = [str(name) for (name,) in rows]
    for table in forced:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    return forced


def _restore_force(forced: list[str]) -> None:
    for table in forced:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
