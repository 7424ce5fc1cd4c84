"""Export and import over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import numpy as np
import psycopg
import pytest

from app.config import Settings
from app.db.models import Collection
from app.main import create_app
from ingest.writer import ChunkRecord, DocumentRecord
from tests.search.conftest import load
from tests.servers import ServerThread
from tests.transfer.test_round_trip import rows

pytestmark = pytest.mark.anyio


async def test_http_round_trip(
    server: ServerThread, filled: Collection, conn: psycopg.AsyncConnection, collection_name: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        await check_round_trip(client, filled, conn, collection_name)


async def check_round_trip(
    client: httpx.AsyncClient,
    filled: Collection,
    conn: psycopg.AsyncConnection,
    collection_name: str,
) -> None:
    exported = await client.get(f"/v1/collections/{filled.name}/export")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "application/vnd.apache.parquet"
    copy = f"{collection_name}-http"
    created = await client.post(f"/v1/collections/{copy}/import", content=exported.content)
    assert created.status_code == 201, created.text
    assert created.json() == {"name": copy, "documents": 5, "chunks": 8, "replaced": False}
    assert await rows(conn, copy) == await rows(conn, filled.name)

    again = await client.post(f"/v1/collections/{copy}/import", content=exported.content)
    assert again.status_code == 409
    assert "--replace" in again.json()["detail"]
    replaced = await client.post(
        f"/v1/collections/{copy}/import", params={"replace": "true"}, content=exported.content
    )
    assert replaced.status_code == 201 and replaced.json()["replaced"] is True


def test_http_errors_are_problems(client: httpx.Client, collection_name: str) -> None:
    missing = client.get(f"/v1/collections/{collection_name}/export")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    garbage = client.post(f"/v1/collections/{collection_name}/import", content=b"PAR1 nope")
    assert garbage.status_code == 422
    assert "not a pgask export" in garbage.json()["detail"]
    assert client.get(f"/v1/collections/{collection_name}").status_code == 404


@pytest.fixture
def capped(settings: Settings) -> Iterator[str]:
    """A server that takes 1 MiB request bodies, and 3 MiB imports."""
    limits = {"pgask_max_request_mb": 1, "pgask_max_import_mb": 3}
    with ServerThread(create_app(settings.model_copy(update=limits))) as running:
        yield running.url


@pytest.fixture
async def large(conn: psycopg.AsyncConnection, collection: Collection) -> Collection:
    """1,000 one-chunk documents: an export of about 1.5 MiB (float32 does not compress)."""
    vectors = np.random.default_rng(7).standard_normal((1000, 384)).astype(np.float32)
    documents = [
        DocumentRecord(f"{i:04}", str(i), [ChunkRecord(0, f"passage {i}", 2, vectors[i])])
        for i in range(1000)
    ]
    await load(conn, collection, documents)
    return collection


async def test_imports_have_their_own_body_limit(
    capped: str, large: Collection, collection_name: str
) -> None:
    async with httpx.AsyncClient(base_url=capped, timeout=60) as client:
        exported = (await client.get(f"/v1/collections/{large.name}/export")).content
        assert 2**20 < len(exported) < 3 * 2**20
        # Any other route refuses a body that size ...
        search = await client.post("/v1/search", content=exported)
        assert search.status_code == 413
        assert "PGASK_MAX_REQUEST_MB (1 MiB)" in search.json()["detail"]
        # ... an import takes it, spooled to disk,
        copy = f"{collection_name}-big"
        created = await client.post(f"/v1/collections/{copy}/import", content=exported)
        assert created.status_code == 201, created.text
        assert created.json()["chunks"] == 1000

        # and refuses one over its own limit, declared or streamed without a length.
        async def stream() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield exported[: 2**20]

        for body in (exported * 3, stream()):
            too_big = await client.post(f"/v1/collections/{copy}-2/import", content=body)
            assert too_big.status_code == 413
            assert "PGASK_MAX_IMPORT_MB (3 MiB)" in too_big.json()["detail"]
        assert (await client.get(f"/v1/collections/{copy}-2")).status_code == 404
