from __future__ import annotations

import httpx
import psycopg
import pytest

from app.config import Settings
from app.main import create_app
from tests.servers import ServerThread


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_migration_and_model(client: httpx.Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["migration"] == "0003_vector_type"
    assert "384" in body["embedding"]


def test_openapi_is_served(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz", "/v1/collections", "/v1/collections/{collection}"} <= set(paths)


@pytest.fixture
def unmigrated_url(db_url: str) -> str:
    admin = db_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)
    base, query = admin[0], admin[1].split("?", 1)[1]
    with psycopg.connect(f"{base}/postgres?{query}", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS pgask_unmigrated")
        conn.execute("CREATE DATABASE pgask_unmigrated")
    return f"{base.replace('postgresql://', 'postgresql+psycopg://')}/pgask_unmigrated?{query}"


def test_readyz_is_503_with_the_reason_before_migrations(
    settings: Settings, unmigrated_url: str
) -> None:
    app = create_app(settings.model_copy(update={"database_url": unmigrated_url}))
    with ServerThread(app) as server:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "pgask db upgrade" in response.json()["detail"]


def test_readyz_is_503_when_the_model_cannot_load(settings: Settings, tmp_path) -> None:
    broken = settings.model_copy(
        update={"embedding_model": "no/such-model", "embedding_model_path": tmp_path}
    )
    with ServerThread(create_app(broken)) as server:
        response = httpx.get(f"{server.url}/readyz")
        create = httpx.post(f"{server.url}/v1/collections", json={"name": "x"})
    assert response.status_code == 503
    assert "embedding" in response.json()["detail"]
    assert create.status_code == 503
    assert create.headers["content-type"] == "application/problem+json"
