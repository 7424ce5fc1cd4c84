"""Export, import under a new name: the same rows and the same search results, with no
embedding call made by the import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import create_collection
from app.config import Settings
from app.db.models import Collection
from app.embeddings import Embedder
from app.search.service import SearchRequest, run_search
from ingest.transfer.importer import import_collection
from tests.conftest import MINILM
from tests.fake_openai import FakeOpenAI
from tests.transfer.conftest import pgask

pytestmark = pytest.mark.anyio

QUERIES = ["tallest tower in Paris", "coral reef", "how do plants make energy"]

_ROWS = """
SELECT d.external_id, d.title, d.source, d.metadata, d.content_hash, d.chunk_count, d.access,
       c.ordinal, c.text, c.section, c.page, c.token_count, c.embedding::text, c.metadata,
       c.access
FROM collections k JOIN documents d ON d.collection_id = k.id
LEFT JOIN chunks c ON c.document_id = d.id
WHERE k.name = %s ORDER BY d.external_id, c.ordinal
"""


async def rows(conn: psycopg.AsyncConnection, name: str) -> list[tuple[Any, ...]]:
    found = await (await conn.execute(_ROWS, (name,))).fetchall()
    await conn.commit()  # hold no lock: a later --replace drops an index on chunks
    return found


async def test_round_trip_keeps_rows_and_search_results(
    exported: Path,
    filled: Collection,
    settings: Settings,
    session: AsyncSession,
    conn: psycopg.AsyncConnection,
    fake_openai: FakeOpenAI,
    collection_name: str,
    embedder: Embedder,
) -> None:
    copy = f"{collection_name}-copy"
    # Configured for OpenAI: any embedding call would reach the fake server and be counted.
    env = {
        "EMBEDDING_PROVIDER": "openai",
        "EMBEDDING_MODEL": "text-embedding-3-small",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "sk-test",
    }
    done = pgask(["import", str(exported), "--as", copy], settings, **env)
    assert done.returncode == 0, done.stderr
    assert "5 documents, 8 chunks" in done.stdout
    assert fake_openai.requests == []

    assert await rows(conn, copy) == await rows(conn, filled.name)
    for mode in ("vector", "text", "hybrid"):
        for query in QUERIES:
            request = SearchRequest(mode, k=5, query=query)
            before = (await run_search(session, embedder, filled.name, request)).hits
            after = (await run_search(session, embedder, copy, request)).hits
            assert [(h.external_id, h.section) for h in after] == [
                (h.external_id, h.section) for h in before
            ]
            assert [h.score for h in after] == pytest.approx([h.score for h in before], abs=1e-6)
            assert before, f"{mode} {query!r} found nothing: the comparison would be empty"


async def test_documents_straddling_batches_stay_whole(
    exported: Path, filled: Collection, conn: psycopg.AsyncConnection, collection_name: str
) -> None:
    """Batches of 2 rows split every multi-chunk document across batches."""
    result = await import_collection(conn, exported, name=f"{collection_name}-b2", batch_rows=2)
    assert (result.documents, result.chunks, result.replaced) == (5, 8, False)
    assert await rows(conn, f"{collection_name}-b2") == await rows(conn, filled.name)


async def test_replace_swaps_the_collection(
    exported: Path, filled: Collection, settings: Settings, conn: psycopg.AsyncConnection
) -> None:
    await conn.execute("DELETE FROM documents WHERE external_id = 'b/everest'")
    await conn.commit()
    done = pgask(["import", str(exported), "--replace", "--json"], settings)
    assert done.returncode == 0, done.stderr
    assert '"replaced": true' in done.stdout
    names = await conn.execute(
        "SELECT count(*) FROM collections WHERE name LIKE %s", (f"{filled.name}%",)
    )
    assert (await names.fetchone()) == (1,)
    assert len(await rows(conn, filled.name)) == 9  # 8 chunks + the chunkless document


async def test_halfvec_collections_keep_their_index_type(
    session: AsyncSession,
    settings: Settings,
    conn: psycopg.AsyncConnection,
    tmp_path: Path,
    collection_name: str,
) -> None:
    await create_collection(session, MINILM, name=collection_name, vector_type="halfvec")
    path = tmp_path / "half.parquet"
    assert pgask(["export", collection_name, "-o", str(path)], settings).returncode == 0
    done = pgask(["import", str(path), "--as", f"{collection_name}-2"], settings)
    assert done.returncode == 0, done.stderr
    cursor = await conn.execute(
        "SELECT k.vector_type, i.indexdef FROM collections k JOIN pg_indexes i"
        " ON i.indexname = 'chunks_hnsw_c' || k.id WHERE k.name = %s",
        (f"{collection_name}-2",),
    )
    storage, definition = await cursor.fetchone() or ("", "")
    await conn.commit()
    assert storage == "halfvec" and "halfvec_cosine_ops" in definition
