"""A `halfvec` collection: its chunks store 16-bit floats (`embedding_half`, half the heap),
its HNSW index too, and the search SQL repeats the index's exact expression, so the planner
uses the index (checked with auto_explain on the SQL the code sends); similar documents and
export/import work on it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import create_collection, get_collection
from app.db.models import Collection
from app.db.schema import VECTOR_TYPES, drop_hnsw_index_sql, hnsw_index_name, partition_name
from app.errors import InvalidInput
from app.search.service import SearchRequest, SearchTarget, search
from app.search.similar import similar_documents
from ingest.transfer.exporter import open_export
from ingest.transfer.importer import import_collection
from ingest.writer import Target, write_documents
from tests.conftest import MINILM
from tests.search.conftest import clustered, connect, document, load
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
    assert "(embedding_half)::halfvec(384)" in definition and "halfvec_cosine_ops" in definition

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


async def _halfvec(session: AsyncSession, name: str) -> Collection:
    return await create_collection(session, MINILM, name=name, vector_type="halfvec")


async def test_halfvec_vectors_are_stored_as_halfvec(
    session: AsyncSession, conn: psycopg.AsyncConnection, collection_name: str
) -> None:
    collection = await _halfvec(session, collection_name)
    vectors = clustered(5, seed=7)
    await load(conn, collection, [document(f"d{i}", ["x"], vectors[i : i + 1]) for i in range(5)])
    cursor = await conn.execute(
        "SELECT embedding IS NULL, embedding_half, pg_typeof(embedding_half)::text"
        " FROM chunks c JOIN documents d ON d.collection_id = c.collection_id"
        " AND d.id = c.document_id WHERE c.collection_id = %s ORDER BY d.external_id",
        (collection.id,),
    )
    stored = await cursor.fetchall()
    await conn.commit()
    assert [(empty, kind) for empty, _, kind in stored] == [(True, "halfvec")] * 5
    expected = vectors.astype(np.float16)
    for (_, half, _), vector in zip(stored, expected, strict=True):
        assert np.array_equal(half.to_numpy(), vector)


async def test_a_writer_told_the_wrong_vector_type_is_refused(
    session: AsyncSession, conn: psycopg.AsyncConnection, collection_name: str
) -> None:
    """The partition's CHECK: vectors in `embedding` would be invisible to every search."""
    collection = await _halfvec(session, collection_name)
    wrong = Target(collection.id, 384, vector_type="vector")
    with pytest.raises(psycopg.errors.CheckViolation):
        await write_documents(conn, wrong, [document("d", ["x"], clustered(1))])
    await conn.rollback()


async def test_values_beyond_float16_are_refused(
    session: AsyncSession, conn: psycopg.AsyncConnection, collection_name: str
) -> None:
    collection = await _halfvec(session, collection_name)
    big = np.full((1, 384), 70000.0, dtype=np.float32)
    with pytest.raises(InvalidInput, match="halfvec"):
        await load(conn, collection, [document("d", ["x"], big)])


async def test_halfvec_heap_is_about_half_the_vector_heap(
    session: AsyncSession, conn: psycopg.AsyncConnection, collection_name: str
) -> None:
    """The same 2,000 rows in a vector and a halfvec collection: the partitions' table
    bytes (heap, TOAST, maps; not indexes). A size, not a timing, with a generous bound:
    the other columns (text, tsv, metadata) and page fill are the same in both."""
    vectors = clustered(2000, seed=8)
    docs = [document(f"d{i:04d}", [f"text {i}"], vectors[i : i + 1]) for i in range(2000)]
    sizes = {}
    for storage in VECTOR_TYPES:
        made = await create_collection(
            session, MINILM, name=f"{collection_name}-{storage}", vector_type=storage
        )
        await conn.execute(drop_hnsw_index_sql(made.id))  # not measured, slow to fill
        await load(conn, made, docs)
        cursor = await conn.execute(
            "SELECT pg_table_size(to_regclass(%s))", (partition_name("chunks", made.id),)
        )
        sizes[storage] = (await cursor.fetchone() or (0,))[0]
        await conn.commit()
    assert 0.35 < sizes["halfvec"] / sizes["vector"] < 0.65, sizes


async def test_halfvec_similar_uses_the_index_and_export_import_keeps_results(
    session: AsyncSession,
    conn: psycopg.AsyncConnection,
    pg_dsn: str,
    collection_name: str,
    tmp_path: Path,
) -> None:
    collection = await _halfvec(session, collection_name)
    vectors = clustered(400, seed=9)
    await load(
        conn, collection, [document(f"d{i:03d}", ["x"], vectors[i : i + 1]) for i in range(400)]
    )
    notices = await _explain_all(conn)
    # 400 rows: scanning and sorting them is cheaper; what is checked is that the index
    # is one the planner can use for similar's expression on this partition.
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        await conn.execute("SELECT set_config(%s, 'off', false)", (setting,))
    await conn.commit()
    target = SearchTarget.of(collection)
    similar = await similar_documents(conn, target, "d000", k=5)
    assert len(similar) == 5 and "d000" not in {s.external_id for s in similar}
    plans = [p for p in _plans(notices) if "cand" in json.dumps(p)]
    assert plans and all(hnsw_index_name(collection.id) in _index_names(p["Plan"]) for p in plans)

    path = tmp_path / "half.parquet"
    async with await connect(pg_dsn) as reader:
        export = await open_export(reader, collection.name)
        with path.open("wb") as out:
            async for piece in export.chunks():
                out.write(piece)
        await export.close()
    copy = await import_collection(conn, path, name=f"{collection_name}-copy")
    assert (copy.documents, copy.chunks) == (400, 400)
    copied = SearchTarget.of(await get_collection(session, copy.name))
    assert copied.vector_type == "halfvec"
    for query in clustered(5, seed=10):
        request = SearchRequest("vector", k=10, vector=query)
        before = await search(conn, target, request)
        after = await search(conn, copied, request)
        assert [h.external_id for h in after] == [h.external_id for h in before]
        assert [h.score for h in after] == pytest.approx([h.score for h in before], abs=1e-6)
    moved = await similar_documents(conn, copied, "d000", k=5)
    assert [s.external_id for s in moved] == [s.external_id for s in similar]
