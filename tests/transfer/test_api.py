"""Export and import over real HTTP."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from app.db.models import Collection
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
