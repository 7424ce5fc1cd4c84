from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.sql import scalar


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def _index_exists(db_url: str, name: str) -> bool:
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (name,))
        return row.fetchone() is not None


def test_create_get_list_delete(client: httpx.Client, collection_name: str, db_url: str) -> None:
    created = client.post("/v1/collections", json={"name": collection_name, "description": "docs"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["embedding"] == {
        "provider": "local",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "dimensions": 384,
    }
    assert (body["document_count"], body["chunk_count"]) == (0, 0)
    assert 0 <= body["chunk_overlap"] < body["chunk_size"] <= 256

    assert client.get(f"/v1/collections/{collection_name}").json()["name"] == collection_name
    names = [c["name"] for c in client.get("/v1/collections").json()["collections"]]
    assert collection_name in names

    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        cid = scalar(conn, "SELECT id FROM collections WHERE name = %s", (collection_name,))
    index = f"chunks_hnsw_c{cid}"
    assert _index_exists(db_url, index)

    assert client.delete(f"/v1/collections/{collection_name}").status_code == 204
    _problem(client.get(f"/v1/collections/{collection_name}"), 404)
    assert not _index_exists(db_url, index)


def test_duplicate_name_is_409(client: httpx.Client, collection_name: str) -> None:
    assert client.post("/v1/collections", json={"name": collection_name}).status_code == 201
    body = _problem(client.post("/v1/collections", json={"name": collection_name}), 409)
    assert collection_name in body["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"name": "-leading"}, "name"),
        ({"name": "x" * 64}, "name"),
        ({"name": "ok", "chunk_size": 4}, "chunk_size"),
        ({"name": "ok", "chunk_size": 2000}, "chunk_size"),
        ({"name": "ok", "chunk_size": 100, "chunk_overlap": 100}, "chunk_overlap"),
        ({"name": "ok", "text_config": "klingon"}, "text_config"),
        ({"name": "ok", "text_config": "english'; DROP TABLE chunks; --"}, "text_config"),
        ({}, "name"),
    ],
)
def test_invalid_input_is_422_naming_the_field(
    client: httpx.Client, payload: dict, field: str
) -> None:
    body = _problem(client.post("/v1/collections", json=payload), 422)
    assert field in body["detail"]
    assert client.get("/v1/collections/ok").status_code == 404


def test_malformed_json_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/v1/collections", content=b"{not json", headers={"content-type": "application/json"}
    )
    _problem(response, 422)


def test_unknown_collection_is_404(client: httpx.Client) -> None:
    _problem(client.get("/v1/collections/nope-nope"), 404)
    _problem(client.delete("/v1/collections/nope-nope"), 404)


def test_unknown_route_is_problem_json(client: httpx.Client) -> None:
    _problem(client.get("/v1/nothing-here"), 404)
