""" "More like this": the documents nearest to one document, never its own chunks.

The document is represented by the mean of its chunk vectors (the centroid a cosine search
for "about the same things" wants); its neighbours are found through the same HNSW index as
vector search, with the document itself filtered out, and ranked by each neighbour's best
chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import get_collection
from app.db.database import driver_connection
from app.db.schema import collection_predicate, vector_expression
from app.errors import NotFound
from app.search import sql
from app.search.filters import Compiled
from app.search.service import (
    SearchTarget,
    ef_search_for,
    session_target,
    set_vector_settings,
)

CHUNKS_PER_DOCUMENT = 5  # candidate chunks fetched per document asked for, at first
MAX_CANDIDATES = 1000  # pgvector's largest ef_search


@dataclass(frozen=True)
class SimilarDocument:
    document_id: int
    external_id: str
    title: str
    source: str
    metadata: dict[str, Any]
    score: float


async def similar_in(
    session: AsyncSession, collection: str, external_id: str, k: int
) -> list[SimilarDocument]:
    """What the API and MCP call: look up the collection, then `similar_documents`."""
    found = await get_collection(session, collection)
    conn = await driver_connection(session)
    return await similar_documents(conn, session_target(session, found), external_id, k)


async def similar_documents(
    conn: psycopg.AsyncConnection[Any], target: SearchTarget, external_id: str, k: int
) -> list[SimilarDocument]:
    async with conn.transaction():
        cursor = await conn.execute(
            "SELECT d.id, avg"
            + vector_expression(target.dimensions, target.vector_type, alias="c")
            + " FROM documents d LEFT JOIN chunks c ON "
            + sql.DOCUMENT_JOIN
            + f" WHERE {collection_predicate(target.collection_id, 'd')}"
            " AND d.external_id = %s::text GROUP BY d.id",
            (external_id,),
        )
        row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"document {external_id!r} does not exist in this collection")
        document_id, centroid = row
        if centroid is None:  # a document without chunks is like nothing
            return []
        others = Compiled("c.document_id <> %(doc)s::bigint", {"doc": document_id})
        scope = sql.Scope(target.collection_id, target.dimensions, others, target.vector_type)
        depth = k * CHUNKS_PER_DOCUMENT
        while True:
            # Neighbours with many similar chunks can fill the candidates with fewer than k
            # documents: widen the candidate list until k documents or the limit.
            await set_vector_settings(conn, ef_search_for(depth), filtered=True)
            params = {**others.params, "qvec": centroid, "depth": depth, "k": k}
            cursor = await conn.execute(_similar_sql(scope), params)
            found = [SimilarDocument(*r) for r in await cursor.fetchall()]
            if len(found) >= k or depth >= MAX_CANDIDATES:
                return found
            depth = min(depth * 4, MAX_CANDIDATES)


def _similar_sql(scope: sql.Scope) -> str:
    return (
        f"WITH cand AS MATERIALIZED ({sql.vector_candidates(scope, 'depth', exact=False)}), "
        "best AS (SELECT document_id, max(1 - distance) AS score FROM cand "
        "GROUP BY document_id ORDER BY score DESC, document_id LIMIT %(k)s::int) "
        "SELECT d.id, d.external_id, d.title, d.source, d.metadata, b.score "
        f"FROM best b JOIN documents d ON {collection_predicate(scope.collection_id, 'd')}"
        " AND d.id = b.document_id ORDER BY b.score DESC, d.id"
    )
