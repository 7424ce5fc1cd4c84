"""A `halfvec` collection: its HNSW index stores 16-bit floats, and the search SQL repeats
the index's exact expression, so the planner uses the index (checked with auto_explain on
the SQL the code sends)."""

from __future__ import annotations

import json

import httpx
import numpy as np
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.collections import create_collection
from app.db.schema import hnsw_index_name
from app.search.service import SearchRequest, SearchTarget, search
from tests.conftest import MINILM
from tests.search.conftest import clustered, document, load
from tests.search.test_vector import _explain_all, _index_names, _plans

pytestmark = pytest.mark.anyio

ROWS = 3000


async def test_halfvec_index_is_used_and_close_to_exact(
    session: AsyncSession, conn: psycopg.AsyncConnection, collection_name: str
) -> None:
    collection = await create_collection(
        session, MINILM, name=collection_name, vector_type="halfvec"
    )
    vectors = clustered(ROWS, seed=3)
    await load(
        conn, collection, [document(f"d{i:05d}", ["x"], vectors[i : i + 1]) for i in range(ROWS)]
    )
    index = hnsw_index_name(collection.id)
    cursor = await conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (index,))
    definition = (await cursor.fetchone() or ("",))[0]
    assert "(embedding)::halfvec(384)" in definition and "halfvec_cosine_ops" in definition

    notices = await _explain_all(conn)
    # With sequential scans priced out, only an index whose expression matches the
    # query's can give the order; a mismatch would still plan a (disabled) seq scan.
    await conn.execute("SELECT set_config('enable_seqscan', 'off', false)")
    await conn.commit()
    target = SearchTarget.of(collection)
    assert target.vector_type == "halfvec"
    queries = clustered(10, seed=4)
    recalls = []
    for query in queries:
        hits = await search(conn, target, SearchRequest("vector", k=10, vector=query))
        exact = set(np.argsort(-(vectors @ query))[:10].tolist())
        recalls.append(len({int(h.external_id[1:]) for h in hits} & exact) / 10)
        best = int(hits[0].external_id[1:])
        assert hits[0].score == pytest.approx(float(vectors[best] @ query), abs=1e-3)
    assert np.mean(recalls) >= 0.9
    plans = [p for p in _plans(notices) if "ranked" in json.dumps(p)]
    assert len(plans) == len(queries)
    assert all(index in _index_names(p["Plan"]) for p in plans)


def test_api_takes_vector_type(client: httpx.Client, collection_name: str) -> None:
    made = client.post("/v1/collections", json={"name": collection_name, "vector_type": "halfvec"})
    assert made.status_code == 201, made.text
    assert made.json()["vector_type"] == "halfvec"
    bad = client.post("/v1/collections", json={"name": f"{collection_name}-b", "vector_type": "f8"})
    assert bad.status_code == 422
    assert client.get(f"/v1/collections/{collection_name}-b").status_code == 404
