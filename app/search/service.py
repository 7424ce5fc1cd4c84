"""Search's one entry point: `search(conn, target, request)` runs a vector, text or hybrid
search over one collection and returns ranked hits.

Planner settings go through `set_config(..., is_local => true)` (= `SET LOCAL`) inside a
transaction block (a savepoint when the caller's transaction is already open), so they end
with the caller's transaction and never reach another user of a pooled connection.

Filtered vector search must return k rows whenever k rows match
(docs/decisions/0007-search-modes.md): a
cheap capped count of the filter decides between an exact scan of the few matching rows and
an HNSW iterative scan (`relaxed_order`), and an index scan that still comes back short is
redone exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import class_row
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import session_principal
from app.catalog import check_compatible, get_collection
from app.db.database import driver_connection
from app.db.models import Collection
from app.db.schema import VectorType, partition_name
from app.embeddings import Embedder
from app.errors import InvalidInput, ServiceUnavailable
from app.search import sql
from app.search.filters import compile_filter
from app.search.kinds import default_kinds
from app.search.passage import Passage
from app.search.terms import (
    MATCH_BUDGET,
    RANK_CAP,
    LexemeStatistics,
    StatisticsCache,
    TermPlan,
    plan_terms,
)
from app.search.visibility import EXACT_MAX_ROWS as EXACT_MAX_ROWS  # re-exported
from app.search.visibility import Visible, visible_share

Mode = Literal["vector", "text", "hybrid"]
Fusion = Literal["rrf", "score"]

MAX_K = 100
# lexeme frequencies (full-text planning) and access groups' shares (`visible_rows`) per
# collection
STATISTICS = StatisticsCache(size=128)
MAX_QUERY_CHARS = 1000  # websearch_to_tsquery of a whole page is slow and matches nothing
# 100 (not pgvector's 40): on 100,000 clustered vectors ef_search 40 found 0.88 of the true
# top 10, 80 found 0.94, 160 found 0.98, for a few ms more (docs/benchmarks/search.md,
# bench/search.py).
EF_SEARCH_MIN = 100
EF_SEARCH_PER_K = 4
EF_SEARCH_MAX = 1000  # pgvector's limit
MAX_SCAN_TUPLES = 20000  # pgvector's default bound on an iterative scan
# With a per-document cap the ranking runs over a deeper pool (5 per result, at least 50),
# so k rows still come back when the best chunks crowd into a few documents.
CAP_POOL_PER_K = 5
CAP_POOL_MIN = 50
# Hybrid search counts a document's chunks among this many best fused candidates as its
# evidence (`HybridOptions.document_weight`): 30 to 150 measured alike on the real manuals.
EVIDENCE_POOL = 50


@dataclass(frozen=True)
class HybridOptions:
    """How hybrid search fuses its two sides (defaults measured on msmarco-5k:
    docs/benchmarks/search.md)."""

    fusion: Fusion = "score"
    depth: int = 150  # per side; at least k is used
    vector_weight: float = 0.7
    text_weight: float = 0.3
    rrf_k: int = 60
    #: a candidate's document evidence, as a share of the best fused score there can be,
    #: per natural log of its document's chunks among the best `EVIDENCE_POOL` candidates
    #: (`sql.hybrid_ranked`; 0 turns it off). 0.05 on three real manuals: right page first
    #: 66 -> 68 of 82 questions, in the top 3 76 -> 79 (docs/decisions/0044-document-evidence.md)
    document_weight: float = 0.05

    def evidence_weight(self) -> float:
        """`document_weight` in the fused scores' units: the best fused score there can be is
        the sum of the weights (min-max), or of the weights over rrf_k + 1 (RRF)."""
        best = self.vector_weight + self.text_weight
        if self.fusion == "rrf":
            best /= self.rrf_k + 1
        return self.document_weight * best


@dataclass(frozen=True)
class SearchTarget:
    """The collection searched: its id, pinned dimensions and text search configuration;
    `restricted` when row-level security hides some of its rows from this transaction."""

    collection_id: int
    dimensions: int
    text_config: str = "english"
    vector_type: VectorType = "vector"
    restricted: bool = False  # row-level security narrows what this session sees

    @classmethod
    def of(cls, collection: Collection, *, restricted: bool = False) -> SearchTarget:
        return cls(
            collection.id,
            collection.embedding_dimensions,
            collection.text_config,
            collection.vector_type,
            restricted,
        )


@dataclass(frozen=True)
class SearchRequest:
    mode: Mode
    k: int = 10
    query: str | None = None
    vector: npt.NDArray[np.float32] | None = None
    filter: dict[str, Any] | None = None
    include_text: bool = True
    hybrid: HybridOptions = field(default_factory=HybridOptions)
    #: OR between the words of a full-text query without operators (see `sql.tsquery`)
    any_word: bool = True
    #: tests and benchmarks turn the exact-search safety net off to measure the index alone
    allow_exact: bool = True
    #: HNSW candidate list size (recall against latency); None scales it with k
    #: (`ef_search_for`); never below the candidates the query ranks
    ef_search: int | None = None
    #: at most this many hits from one document (None: no cap), see `sql.capped_ranked`
    max_per_document: int | None = None
    #: rows a plain-word full-text query aims to match (`app/search/terms.py`); benchmarks
    #: vary it to measure what it costs in quality
    match_budget: int = MATCH_BUDGET
    #: full-text candidates ranked at most (`terms.RANK_CAP`); benchmarks raise it to compare
    rank_cap: int = RANK_CAP


@dataclass(frozen=True, kw_only=True)
class Hit(Passage):  # one ranked chunk, built from the columns `sql.hits_sql` names
    external_id: str
    text: str | None  # None when the request left text out
    score: float
    metadata: dict[str, Any]


def per_document_cap(requested: int | None, default: int) -> int | None:
    """The cap a request gets: its own (0 turns the cap off), else the configured default."""
    chosen = default if requested is None else requested
    return chosen or None


def ef_search_for(k: int) -> int:
    """Candidate list size for k results: 4 per result, at least EF_SEARCH_MIN."""
    return max(EF_SEARCH_MIN, min(EF_SEARCH_MAX, EF_SEARCH_PER_K * k))


def check_request(request: SearchRequest, dimensions: int) -> None:
    if not 1 <= request.k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}, got {request.k}")
    if request.max_per_document is not None and not 1 <= request.max_per_document <= MAX_K:
        raise InvalidInput(
            f"max_per_document must be between 1 and {MAX_K}, got {request.max_per_document}"
        )
    if request.ef_search is not None and not request.k <= request.ef_search <= EF_SEARCH_MAX:
        raise InvalidInput(
            f"ef_search must be between k ({request.k}) and {EF_SEARCH_MAX},"
            f" got {request.ef_search}"
        )
    if request.match_budget < 1:
        raise InvalidInput(f"match_budget must be at least 1, got {request.match_budget}")
    if request.rank_cap < request.k:
        raise InvalidInput(f"rank_cap must be at least k ({request.k}), got {request.rank_cap}")
    if request.mode in ("text", "hybrid") and not (request.query or "").strip():
        raise InvalidInput(f"mode {request.mode!r} needs a non-empty query")
    if request.mode in ("vector", "hybrid") and request.vector is None:
        raise InvalidInput(f"mode {request.mode!r} needs a query vector")
    if request.vector is not None:
        if np.shape(request.vector) != (dimensions,):
            raise InvalidInput(
                f"vector has {np.size(request.vector)} dimensions, the collection takes "
                f"{dimensions}"
            )
        if not np.isfinite(request.vector).all() or not np.any(request.vector):
            # NaN, infinity or all zeros have no cosine distance to anything.
            raise InvalidInput("vector must be finite and not all zeros")


async def search(
    conn: psycopg.AsyncConnection[Any], target: SearchTarget, request: SearchRequest
) -> list[Hit]:
    """Ranked hits for one request; raises InvalidInput for a malformed one."""
    check_request(request, target.dimensions)
    query = (request.query or "")[:MAX_QUERY_CHARS]
    request = replace(request, any_word=request.any_word and sql.plain_words(query))
    scope = sql.Scope(
        target.collection_id,
        target.dimensions,
        compile_filter(request.filter),
        target.vector_type,
        target.restricted,
    )
    capped = request.max_per_document is not None
    pool = max(CAP_POOL_MIN, CAP_POOL_PER_K * request.k) if capped else request.k
    params: dict[str, Any] = {
        **scope.where.params,
        "k": pool,  # what the ranked CTE keeps: the result itself, or the pool a cap reads
        "limit": request.k,
        "per_doc": request.max_per_document,
        "qvec": request.vector,
        "cfg": target.text_config,
        "qtext": query,
        # Each side's depth stays as without a cap: min-max fusion normalises over each side's
        # candidates, so a deeper side would change every fused score (msmarco-5k hybrid
        # nDCG@10 0.808 -> 0.803 when depth followed the pool).
        "depth": max(request.hybrid.depth, request.k),
        "wv": request.hybrid.vector_weight,
        "wt": request.hybrid.text_weight,
        "rrf_k": request.hybrid.rrf_k,
        "wd": request.hybrid.evidence_weight(),
        "evidence": EVIDENCE_POOL,
    }
    async with conn.transaction():
        await set_search_settings(conn)
        visible = await visible_rows(conn, target) if target.restricted else None
        if target.restricted and request.mode != "vector":
            few = await _sees_few(conn, scope) if visible is None else visible.narrow
            scope = replace(scope, narrow=few)
        plan = None
        if request.mode != "vector":
            params["tcap"] = request.rank_cap
        if request.mode != "vector" and request.any_word:
            plan = await plan_text_query(conn, target, query, request.match_budget)
            params |= plan.parameters()
        tiers = len(plan.tiers) if plan is not None else 1
        if request.mode == "text":
            ctes = sql.text_ranked(scope, any_word=request.any_word, tiers=tiers)
            query_sql = sql.hits_sql(scope, ctes, include_text=request.include_text, capped=capped)
            hits = await _fetch(conn, query_sql, params)
            if len(hits) < request.k and plan is not None and plan.pruned:
                # The rare words matched fewer than k chunks: every word matches, after
                # them (within the cap). A scoped key finds these through the access index
                # too: most are not its rows when its rare words found it fewer than k.
                wider = replace(scope, narrow=True)
                widened = plan.widened()
                ctes = sql.text_ranked(wider, any_word=request.any_word, tiers=len(widened.tiers))
                query_sql = sql.hits_sql(
                    wider, ctes, include_text=request.include_text, capped=capped
                )
                hits = await _fetch(conn, query_sql, {**params, **widened.parameters()})
            return hits
        depth = params["k"] if request.mode == "vector" else params["depth"]
        # Row-level security filters like a WHERE clause the SQL does not show.
        filtered = scope.where.sql != "TRUE" or target.restricted
        # Scaled with the results asked for, at least the candidates ranked: hybrid's vector
        # side (depth 150) searched at 4 x 150 = 600 cost 2-3x the search at 150 on 200,000
        # chunks for the same msmarco-5k nDCG@10, 0.808 (docs/decisions/0015-text-ranking.md).
        ef_search = max(request.ef_search or ef_search_for(params["k"]), depth)
        # Custom plans for the count too: a generic plan of it (psycopg prepares after 5
        # runs) scanned the whole collection under row-level security, 80 ms instead of 3.
        await set_vector_settings(conn, ef_search, filtered=filtered)
        exact = await _needs_exact(conn, scope, params, request.allow_exact and filtered, visible)
        statement = _vector_or_hybrid_sql(scope, request, exact=exact, tiers=tiers)
        hits = await _fetch(conn, statement, params)
        if capped and request.mode == "hybrid" and len(hits) < request.k:
            # One long document filled the pool: the cap reads every fused candidate.
            # (The Python manual's argparse page held the 50 best chunks for "parse command
            # line arguments with subcommands": an answer got 2 sources instead of 8.)
            deeper = {**params, "k": 2 * params["depth"]}
            hits = await _fetch(conn, statement, deeper)
        if len(hits) < request.k and not exact and request.allow_exact and request.mode == "vector":
            # The iterative scan hit max_scan_tuples before finding k matches.
            hits = await _fetch(conn, _vector_or_hybrid_sql(scope, request, exact=True), params)
        return hits


async def plan_text_query(
    conn: psycopg.AsyncConnection[Any], target: SearchTarget, query: str, budget: int
) -> TermPlan:
    """The match and rank queries of a plain-word question, from the lexemes' frequencies
    in the collection (`app/search/terms.py`)."""
    cursor = await conn.execute(
        sql.TEXT_PLAN_INPUT,
        {
            "cfg": target.text_config,
            "qtext": query,
            "partition": partition_name("chunks", target.collection_id),
        },
    )
    oid, analyzed, rows, lexemes = await cursor.fetchone() or (None, None, 0.0, [])
    key = (target.collection_id, oid, analyzed)
    statistics = STATISTICS.get(key)
    if statistics is None:
        found = await conn.execute(sql.LEXEME_STATISTICS, (target.collection_id,))
        statistics = LexemeStatistics.of(*(await found.fetchone() or (None, None)))
        STATISTICS.put(key, statistics)
    return plan_terms(statistics.collected(lexemes, float(rows or 0)), budget)


async def visible_rows(conn: psycopg.AsyncConnection[Any], target: SearchTarget) -> Visible | None:
    """How many of the collection's chunks this transaction's key sees, estimated from the
    collection's statistics (`app/search/visibility.py`); None when it was never analysed."""
    cursor = await conn.execute(
        sql.VISIBILITY_INPUT, {"partition": partition_name("chunks", target.collection_id)}
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    oid, analyzed, rows, groups = row
    key = ("access", target.collection_id, oid, analyzed)
    statistics = STATISTICS.get(key)
    if statistics is None:
        found = await conn.execute(sql.ACCESS_STATISTICS, (target.collection_id,))
        statistics = LexemeStatistics.of(*(await found.fetchone() or (None, None)))
        STATISTICS.put(key, statistics)
    share = visible_share(statistics, groups)
    if share is None or rows is None or rows < 0:
        return None
    return Visible(float(rows), share * float(rows))


def _vector_or_hybrid_sql(
    scope: sql.Scope, request: SearchRequest, *, exact: bool, tiers: int = 1
) -> str:
    if request.mode == "vector":
        ctes = sql.vector_ranked(scope, exact=exact)
    else:
        ctes = sql.hybrid_ranked(
            scope,
            exact=exact,
            any_word=request.any_word,
            fusion=request.hybrid.fusion,
            tiers=tiers,
        )
    capped = request.max_per_document is not None
    return sql.hits_sql(scope, ctes, include_text=request.include_text, capped=capped)


async def _sees_few(conn: psycopg.AsyncConnection[Any], scope: sql.Scope) -> bool:
    """True when row-level security leaves this session fewer than EXACT_MAX_ROWS rows of the
    collection (any filter aside): its full-text candidates are then found through the
    access index too (`sql.GROUPS_TEST`). A capped count; custom plans, as for
    `_needs_exact`."""
    await conn.execute("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
    unfiltered = replace(scope, where=compile_filter(None))
    cursor = await conn.execute(sql.count_sql(unfiltered), {"cap": EXACT_MAX_ROWS})
    row = await cursor.fetchone()
    return row is not None and row[0] < EXACT_MAX_ROWS


async def _needs_exact(
    conn: psycopg.AsyncConnection[Any],
    scope: sql.Scope,
    params: dict[str, Any],
    allowed: bool,
    visible: Visible | None = None,
) -> bool:
    """True when a filter (or row-level security: the count sees only visible rows) leaves
    so few rows that scanning them beats walking the graph. `visible`, the rows a scoped key
    sees as estimated (`visible_rows`), decides without a count when it is small, and when
    it is not and no filter narrows further."""
    if not allowed:
        return False
    if visible is not None:
        if visible.exact:
            return True
        if scope.where.sql == "TRUE":
            return False
    cursor = await conn.execute(sql.count_sql(scope), {**params, "cap": EXACT_MAX_ROWS})
    row = await cursor.fetchone()
    return row is not None and row[0] < EXACT_MAX_ROWS


async def set_search_settings(conn: psycopg.AsyncConnection[Any]) -> None:
    """Settings every search statement of this transaction runs with: no JIT compilation,
    which PostgreSQL starts for a statement estimated above `jit_above_cost` and which
    costs tens of milliseconds before the first row: a full-text or filtered search of a
    large collection is estimated that high though it reads a few thousand rows."""
    await conn.execute("SELECT set_config('jit', 'off', true)")


async def set_vector_settings(
    conn: psycopg.AsyncConnection[Any], ef_search: int, *, filtered: bool
) -> None:
    """HNSW settings for this transaction only. Custom plans too: the collection id is
    inlined, but a generic plan of hybrid's statement, not knowing its LIMIT, prefers a
    sort over the index (tests/search/test_vector.py shows it)."""
    await conn.execute(
        "SELECT set_config('hnsw.ef_search', %s::text, true), "
        "set_config('hnsw.iterative_scan', %s::text, true), "
        "set_config('hnsw.max_scan_tuples', %s::text, true), "
        "set_config('plan_cache_mode', 'force_custom_plan', true)",
        (
            str(ef_search),
            "relaxed_order" if filtered else "off",
            str(MAX_SCAN_TUPLES),
        ),
    )


async def _fetch(
    conn: psycopg.AsyncConnection[Any], query: str, params: dict[str, Any]
) -> list[Hit]:
    cursor = conn.cursor(row_factory=class_row(Hit))
    await cursor.execute(query, params)
    return await cursor.fetchall()


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    embed_ms: float
    search_ms: float
    #: the query's vector as searched (None for text search): a follow-up search of the
    #: same question reuses it
    vector: npt.NDArray[np.float32] | None = None


async def run_search(
    session: AsyncSession,
    embedder: Embedder | None,
    collection_name: str,
    request: SearchRequest,
) -> SearchResult:
    """What the API, CLI and eval call: look up the collection, check the configured model
    is the one it pins, embed the query when a vector side needs one, search. `embedder`
    None: a command that searches text only and did not load the model."""
    collection = await get_collection(session, collection_name)
    if embedder is not None:
        check_compatible(collection, embedder)
    request = replace(request, filter=default_kinds(request.filter, request.query))
    started = time.perf_counter()
    if request.vector is None and request.mode != "text" and request.query:
        if embedder is None:
            raise ServiceUnavailable(f"{request.mode} search needs the embedding model")
        request = replace(request, vector=await embedder.embed_query(request.query))
    embedded = time.perf_counter()
    target = session_target(session, collection)
    hits = await search(await driver_connection(session), target, request)
    done = time.perf_counter()
    return SearchResult(hits, (embedded - started) * 1000, (done - embedded) * 1000, request.vector)


def session_target(session: AsyncSession, collection: Collection) -> SearchTarget:
    """The collection as a target for this session: restricted when its principal is scoped."""
    principal = session_principal(session)
    return SearchTarget.of(collection, restricted=principal is not None and principal.scoped)
