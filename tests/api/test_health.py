from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.migrate import head_revision
from app.main import create_app
from tests.conftest import Databases
from tests.servers import ServerThread


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_migration_and_model(client: httpx.Client, db_url: str) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    # the newest migration file's revision, whichever it is
    assert body["migration"] == head_revision(make_url(db_url))
    assert "384" in body["embedding"]


def test_openapi_is_served(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz", "/v1/collections", "/v1/collections/{collection}"} <= set(paths)


@pytest.fixture
def unmigrated_url(databases: Databases) -> str:
    return databases.create(None, prefix="pgask_unmigrated")


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
