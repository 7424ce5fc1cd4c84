"""`pgask_access_statistics(collection)`: the access groups of a collection's chunks and the
share of its chunks holding each, from its chunks partition's ANALYZE statistics (the
`access` column's most common elements, as `pgask_lexeme_statistics` reads `tsv`'s).

Search estimates from it how many of a collection's rows a scoped key sees, instead of
counting them under row-level security for every search (a capped count of 2,000 rows read
2,000 heap rows: 12 ms per search for a key seeing 1% of 1,000,000 chunks), and chooses by
it how to search (app/search/visibility.py). SECURITY DEFINER: pg_stats shows a table's
statistics only to roles that may read it, and request roles read through the parent. It
returns group names and shares of ANALYZE's sample, never rows; a key learns from it the
names of groups it does not hold, which it cannot reach (pgask's roles are NOLOGIN and only
pgask's own SQL calls it).

`chunks.access` and `chunks.metadata` are stored MAIN (in the row, compressed if need be),
like `tsv` and the vectors: with the default EXTENDED, a chunk row over 2 kB (its vector is
in the row) had them moved to TOAST, and 57% of 1,000,000 bench chunks kept `access` there:
row-level security's test and the view's filter then read TOAST for every candidate, which
doubled a scoped full-text search (a key seeing 99%: 50 ms against 24 to count 4,537
candidates). Rows written before keep their storage until rewritten: the next ingest of
their document, or `VACUUM FULL chunks_c<id>` (which locks the collection while it runs:
docs/operations.md).

Revision ID: 0012_access_statistics
Revises: 0011_sources
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_access_statistics"
down_revision: str | None = "0011_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATISTICS = """
CREATE FUNCTION pgask_access_statistics(collection integer)
RETURNS TABLE (groups text[], frequencies real[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
SELECT st.most_common_elems::text::text[], st.most_common_elem_freqs
FROM pg_stats st
WHERE st.schemaname = current_schema() AND st.tablename = 'chunks_c' || collection
  AND st.attname = 'access' AND NOT st.inherited
$$
"""


_STORAGE = (
    "ALTER TABLE chunks ALTER COLUMN access SET STORAGE {0}, ALTER COLUMN metadata SET STORAGE {0}"
)


def upgrade() -> None:
    op.execute(_STATISTICS)
    op.execute(_STORAGE.format("MAIN"))


def downgrade() -> None:
    op.execute(_STORAGE.format("EXTENDED"))
    op.execute("DROP FUNCTION pgask_access_statistics(integer)")
