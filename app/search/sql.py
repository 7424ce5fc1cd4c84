"""The SQL text of each search mode. Values are named parameters (`%(qvec)s`, the filter's
`%(f0)s`...); the only formatted parts are the collection id and the vector expression from
`app/db/schema.py`, both checked there, so the planner prunes every scan of chunks and
documents to the collection's partitions and uses its HNSW index
(docs/decisions/0004-vector-column-and-per-collection-indexes.md).

Every mode ends in a CTE `ranked(id, score)` that `hits_sql` joins to the chunk and document
columns a hit returns, ordered by score: that final sort is also what puts the rows of a
`relaxed_order` iterative index scan back in distance order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.db.schema import VectorType, collection_predicate, vector_expression, vector_type
from app.search.filters import Compiled

# The document of chunk `c`, found in the same collection's partition.
DOCUMENT_JOIN = "d.collection_id = c.collection_id AND d.id = c.document_id"


@dataclass(frozen=True)
class Scope:
    """Which rows a search may see: one collection, narrowed by a compiled filter."""

    collection_id: int
    dimensions: int
    where: Compiled
    vector_type: VectorType = "vector"
    #: row-level security narrows what the session sees (a scoped principal)
    restricted: bool = False
    #: ... to fewer rows of the collection than the count that tells (`service.EXACT_MAX_ROWS`)
    narrow: bool = False

    @property
    def from_clause(self) -> str:
        return f"chunks c{self._document_join}"

    @property
    def text_from_clause(self) -> str:
        """Where full-text candidates come from: `chunks`, or for a scoped principal the
        `chunks_text_candidates` view of the rows its policy lets it read, where the text
        index can be used (migrations/versions/0010_text_index.py). Either way the hits
        are read back from `chunks` (`hits_sql`), under row-level security."""
        source = "chunks_text_candidates" if self.restricted else "chunks"
        return f"{source} c{self._document_join}"

    @property
    def _document_join(self) -> str:
        return f" JOIN documents d ON {DOCUMENT_JOIN}" if self.where.uses_document else ""

    @property
    def chunk_join(self) -> str:
        """`chunks c` joined to `r.id` within the collection's partition."""
        return f"chunks c ON {collection_predicate(self.collection_id)} AND c.id = r.id"

    @property
    def chunk_of_hit(self) -> str:
        """The chunk `r.id`, looked up by its key for each hit (a LATERAL subquery).

        Joined as a plain join, a scoped principal's chunks could be hashed whole: row-level
        security's test is not leakproof, so the planner cannot push `c.id = r.id` below it
        and, for a key that sees most rows, estimates every visible row; at 200,000 chunks
        a key seeing 99% of them took 20x the admin's time for a 10-hit vector search
        (docs/decisions/0016-scoped-text-candidates.md). `LIMIT 1` per hit keeps it a
        primary-key probe whatever the estimate."""
        return (
            "SELECT c.id, c.collection_id, c.document_id, c.section, c.page, c.text, "
            f"c.metadata FROM chunks c WHERE {collection_predicate(self.collection_id)} "
            "AND c.id = r.id LIMIT 1"
        )

    @property
    def document_of_hit(self) -> str:
        """The document of the hit's chunk `c`, by its key, in the collection's partition
        (the constant collection id prunes it when planned; `c.collection_id` would not)."""
        return (
            "SELECT d.external_id, d.title, d.source FROM documents d "
            f"WHERE {collection_predicate(self.collection_id, alias='d')} "
            "AND d.id = c.document_id LIMIT 1"
        )

    @property
    def predicate(self) -> str:
        return f"{collection_predicate(self.collection_id)} AND {self.where.sql}"

    @property
    def distance(self) -> str:
        """Cosine distance to `%(qvec)s`, spelled exactly as the index expression."""
        expr = vector_expression(self.dimensions, self.vector_type, alias="c")
        return f"{expr} <=> %(qvec)s::{vector_type(self.dimensions, self.vector_type)}"


def vector_candidates(scope: Scope, limit: str, *, exact: bool) -> str:
    """`(id, document_id, distance)` of the nearest chunks; `limit` names the LIMIT parameter.

    With `exact`, the ORDER BY sits above an `OFFSET 0` fence, so no index scan can provide
    the order and PostgreSQL computes every distance in the (small, filtered) set.
    """
    inner = f"SELECT c.id, c.document_id, {scope.distance} AS distance FROM {scope.from_clause}"
    inner += f" WHERE {scope.predicate}"
    if exact:
        exact_order = f"ORDER BY distance, id LIMIT %({limit})s::int"
        return f"SELECT * FROM ({inner} OFFSET 0) AS exact {exact_order}"
    return f"{inner} ORDER BY {scope.distance} LIMIT %({limit})s::int"


_OPERATORS = re.compile(r'"|(^|\s)-\S|(^|\s)or(\s|$)', re.IGNORECASE)


def plain_words(query: str) -> bool:
    """True when the query uses none of websearch_to_tsquery's operators (quotes, OR,
    -negation): only then may its implicit AND become OR."""
    return _OPERATORS.search(query) is None


def tsquery(*, any_word: bool, rank: bool = False) -> str:
    """The full-text query. A query of plain words (`any_word`) is OR'ed lexemes, planned
    from the collection's statistics (`app/search/terms.py`): tiers of them find the
    candidates (`text_candidates`), `%(trank)s` (every lexeme) ranks them. Quotes, OR and
    -negation keep websearch_to_tsquery's meaning on the collection's parser, for both."""
    if any_word and rank:
        return "%(trank)s::tsquery"
    return "websearch_to_tsquery(%(cfg)s::regconfig, %(qtext)s::text)"


# ts_rank's weights of D (the text), C (unused), B (the heading path) and A (the title): a
# title word counts 2.5 body words, a heading word 2. On the FastAPI docs' 30 questions
# (hit@1 / @3, text and hybrid): 18/25 and 20/28 without titles and headings in the index,
# 25/28 and 26/29 with ts_rank's default weights (0.1, 0.2, 0.4, 1.0), 24/28 and 27/30 with
# these (docs/decisions/0015-text-ranking.md).
RANK_WEIGHTS = "{0.1, 0.2, 0.2, 0.25}"

# The chunks policy's groups test (migrations/versions/0004_access.py), in the form the
# access index answers. `chunks_text_candidates` applies it as a filter of the text index's
# candidates (right for a key that sees most rows); a key that sees few adds it like this,
# so the planner ANDs the two indexes. It narrows nothing the view does not.
GROUPS_TEST = (
    "c.access && (SELECT coalesce(nullif(current_setting('pgask.groups', true), ''), '{}')"
    "::text[] || '{*}'::text[])"
)


def text_candidates(scope: Scope, limit: str, *, any_word: bool, tiers: int = 1) -> str:
    """`(id, document_id, rank)` of the best full-text matches (GIN index on `tsv`).

    A plain-word question's candidates are found by `tiers` tsqueries, `%(tier0)s`, ...,
    surest first (`terms.TermPlan`); tier i adds the rows the tiers before it
    (`%(before<i>)s`) did not find. At most `%(tcap)s` candidates are ranked
    (`terms.RANK_CAP`): the LIMIT stops the heap scans beneath it, so a search's cost does
    not follow an estimate that was wrong, and the first tiers' rows are the ones kept.

    `ts_rank` (term frequency, title and headings weighted above the body) rather than
    `ts_rank_cd` (cover density): with any-word queries it scored nDCG@10 0.718 against
    0.655 on msmarco-5k (docs/benchmarks/search.md). A plain-word question's best
    `%(depth)s` by `ts_rank` are then ranked by `WEIGHTED_RANK`, each word weighed by its
    rarity: msmarco-5k text nDCG@10 0.718 -> 0.722, hybrid 0.808 -> 0.810
    (docs/decisions/0045-rare-words-rank-higher.md)."""
    ranked = tsquery(any_word=any_word, rank=True)
    narrowed = f" AND {GROUPS_TEST}" if scope.restricted and scope.narrow else ""
    matching = (
        f"SELECT c.id, c.document_id, c.tsv FROM {scope.text_from_clause} WHERE {scope.predicate}"
    )
    if any_word:
        parts = [
            f"{matching}{narrowed} AND c.tsv @@ %(tier{i})s::tsquery"
            + (f" AND NOT c.tsv @@ %(before{i})s::tsquery" if i else "")
            for i in range(tiers)
        ]
    else:
        parts = [f"{matching}{narrowed} AND c.tsv @@ {tsquery(any_word=False)}"]
    rank = f"ts_rank('{RANK_WEIGHTS}'::float4[], m.tsv, {ranked})"
    found = f"({' UNION ALL '.join(parts)} LIMIT %(tcap)s::int) AS m"
    if not any_word:
        return (
            f"SELECT m.id, m.document_id, {rank} AS rank FROM {found}"
            f" ORDER BY rank DESC, m.id LIMIT %({limit})s::int"
        )
    # One `ts_rank` per word for the best `%(depth)s` rows only: the cost follows depth
    # and the question, not the rows matched.
    first = f"SELECT m.id, m.document_id, m.tsv FROM {found} ORDER BY {rank} DESC, m.id"
    return (
        f"SELECT f.id, f.document_id, {WEIGHTED_RANK} AS rank"
        f" FROM ({first} LIMIT %(depth)s::int) AS f"
        f" ORDER BY rank DESC, f.id LIMIT %({limit})s::int"
    )


# `ts_rank` of each lexeme of the question (`%(tlex)s`) weighed by `%(tidf)s`, over the sum
# of the weights: `ts_rank` itself is the same sum with every weight 1.
WEIGHTED_RANK = (
    f"(SELECT coalesce(sum(u.w * ts_rank('{RANK_WEIGHTS}'::float4[], f.tsv, u.q))"
    " / nullif(sum(u.w), 0), 0) FROM unnest(%(tlex)s::tsquery[], %(tidf)s::float8[]) AS u(q, w))"
)


# What planning a full-text question needs: its lexemes (the collection's parser), and the
# collection's partition, when it was last analysed and its estimated rows (pg_class and the
# statistics functions, which every role may read).
TEXT_PLAN_INPUT = (
    "SELECT c.oid, greatest(pg_stat_get_last_analyze_time(c.oid),"
    " pg_stat_get_last_autoanalyze_time(c.oid)), c.reltuples, l.lexemes"
    " FROM (SELECT tsvector_to_array(to_tsvector(%(cfg)s::regconfig, %(qtext)s::text))"
    " AS lexemes) AS l LEFT JOIN pg_class c ON c.oid = to_regclass(%(partition)s::text)"
)
LEXEME_STATISTICS = "SELECT lexemes, frequencies FROM pgask_lexeme_statistics(%s::int)"
# What estimating a scoped key's visible rows needs (app/search/visibility.py): the
# collection's partition, when it was last analysed, its estimated rows, and the groups the
# key holds as the chunks policy reads them (migrations/versions/0004_access.py).
VISIBILITY_INPUT = (
    "SELECT c.oid, greatest(pg_stat_get_last_analyze_time(c.oid),"
    " pg_stat_get_last_autoanalyze_time(c.oid)), c.reltuples,"
    " coalesce(nullif(current_setting('pgask.groups', true), ''), '{}')::text[]"
    " FROM pg_class c WHERE c.oid = to_regclass(%(partition)s::text)"
)
ACCESS_STATISTICS = "SELECT groups, frequencies FROM pgask_access_statistics(%s::int)"


def vector_ranked(scope: Scope, *, exact: bool) -> str:
    candidates = vector_candidates(scope, "k", exact=exact)
    return f"ranked AS MATERIALIZED (SELECT id, 1 - distance AS score FROM ({candidates}) v)"


def text_ranked(scope: Scope, *, any_word: bool, tiers: int = 1) -> str:
    candidates = text_candidates(scope, "k", any_word=any_word, tiers=tiers)
    return f"ranked AS MATERIALIZED (SELECT id, rank AS score FROM ({candidates}) t)"


# Each side's candidates get a fused contribution: weighted reciprocal rank (RRF), or the
# side's score min-max normalised over its candidates (1 when all are equal).
_CONTRIBUTION = {
    "rrf": "%({w})s::float8 / (%(rrf_k)s::float8 + row_number() OVER (ORDER BY {order}))",
    "score": (
        "%({w})s::float8 * coalesce(({s} - min({s}) OVER ()) / "
        "nullif(max({s}) OVER () - min({s}) OVER (), 0), 1)"
    ),
}


def hybrid_ranked(scope: Scope, *, exact: bool, any_word: bool, fusion: str, tiers: int = 1) -> str:
    """Vector and text candidates (`depth` each) fused in one statement, then each
    candidate's document evidence added: `%(wd)s` times the natural log of how many of its
    document's chunks are among the `%(evidence)s` best fused candidates (nothing for a
    document with one there). A page that several passages match is more likely the page
    the question is about than one with a single passage that happens to match best
    (docs/decisions/0044-document-evidence.md). The window runs over the fused candidates
    only (at most 2 x depth rows), so the cost does not follow the collection."""
    template = _CONTRIBUTION[fusion]
    vside = template.format(w="wv", order="distance, id", s="(1 - distance)")
    tside = template.format(w="wt", order="rank DESC, id", s="rank")
    return (
        f"v AS MATERIALIZED ({vector_candidates(scope, 'depth', exact=exact)}), "
        f"t AS MATERIALIZED ({text_candidates(scope, 'depth', any_word=any_word, tiers=tiers)}), "
        "fused AS ("
        f"SELECT id, document_id, {vside} AS part FROM v "
        f"UNION ALL SELECT id, document_id, {tside} AS part FROM t), "
        "scored AS (SELECT id, document_id, sum(part) AS fused, row_number() OVER "
        "(ORDER BY sum(part) DESC, id) AS nth FROM fused GROUP BY id, document_id), "
        "evidenced AS (SELECT id, fused, count(*) FILTER (WHERE nth <= %(evidence)s::int) "
        "OVER (PARTITION BY document_id) AS evidence FROM scored), "
        "ranked AS MATERIALIZED (SELECT id, fused + %(wd)s::float8 * ln(greatest(evidence, 1)) "
        "AS score FROM evidenced ORDER BY score DESC, id LIMIT %(k)s::int)"
    )


def capped_ranked(scope: Scope, ctes: str) -> str:
    """At most `%(per_doc)s` chunks of one document among the `%(limit)s` best of `ranked`
    (which was asked for a deeper pool), so one long document cannot fill the results while
    k rows still come back when enough documents match. The window runs over the pool
    only: the HNSW or GIN scan beneath it is unchanged."""
    return (
        f"{ctes}, capped AS MATERIALIZED (SELECT id, score FROM ("
        "SELECT r.id, r.score, row_number() OVER "
        "(PARTITION BY c.document_id ORDER BY r.score DESC, r.id) AS nth "
        f"FROM ranked r JOIN {scope.chunk_join}) AS p "
        "WHERE nth <= %(per_doc)s::int ORDER BY score DESC, id LIMIT %(limit)s::int)"
    )


def hits_sql(scope: Scope, ctes: str, *, include_text: bool, capped: bool = False) -> str:
    text = "c.text" if include_text else "NULL::text"
    source = "capped" if capped else "ranked"
    ctes = capped_ranked(scope, ctes) if capped else ctes
    return (  # columns named as `Hit`'s fields, which are built by name from them
        f"WITH {ctes} "
        "SELECT c.id AS chunk_id, c.document_id, d.external_id, d.title, d.source, c.section, "
        f"c.page, {text} AS text, r.score, c.metadata "
        f"FROM {source} r CROSS JOIN LATERAL ({scope.chunk_of_hit}) c "
        f"CROSS JOIN LATERAL ({scope.document_of_hit}) d "
        "ORDER BY r.score DESC, c.id"
    )


def count_sql(scope: Scope) -> str:
    """How many rows pass the filter, counting no further than `%(cap)s`."""
    return (
        f"SELECT count(*) FROM (SELECT 1 FROM {scope.from_clause} "
        f"WHERE {scope.predicate} LIMIT %(cap)s::int) AS matching"
    )
