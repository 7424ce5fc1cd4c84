"""API keys (401 vs 403, constant-time lookup, never logged), body limits, request ids,
metrics — through a real server."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import httpx
import pytest

from app.access import Principal
from app.auth import authorize, bearer_token, find_key, parse_api_keys, required_role
from app.config import Settings, load_settings
from app.errors import ConfigError, Forbidden, NotFound, Unauthorized
from app.main import create_app
from tests.servers import ServerThread

ADMIN = "admin-key-0123456789"
READER = "reader-key-0123456789"
HASHED = "hashed-key-0123456789"
KEYS = (
    f"ops:{ADMIN},web:read:{READER},ci:admin:sha256:{hashlib.sha256(HASHED.encode()).hexdigest()}"
)


@pytest.fixture(scope="module")
def secured(settings: Settings) -> Iterator[str]:
    configured = settings.model_copy(
        update={
            "pgask_api_keys": load_settings(pgask_api_keys=KEYS).auth.api_keys,
            "pgask_max_request_mb": 1,
        }
    )
    with ServerThread(create_app(configured)) as server:
        yield server.url


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_parse_keys_roles_and_hashes() -> None:
    keys = parse_api_keys(KEYS)
    assert [(k.name, k.role) for k in keys] == [("ops", "admin"), ("web", "read"), ("ci", "admin")]
    found = find_key(keys, HASHED)
    assert found is not None and found.name == "ci"
    assert find_key(keys, "wrong") is None
    assert ADMIN not in repr(keys)


@pytest.mark.parametrize("raw", ["nokey", "a:short", "x:1234567890abcdef,x:fedcba0987654321"])
def test_malformed_keys_fail_at_startup(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^PGASK_API_KEYS: "):
        load_settings(_env_file=None, pgask_api_keys=raw)


def test_roles_by_route() -> None:
    assert required_role("GET", "/healthz") is None
    assert required_role("GET", "/v1/collections") == "read"
    assert required_role("POST", "/v1/search") == "read"
    assert required_role("POST", "/v1/collections") == "admin"
    assert required_role("DELETE", "/v1/collections/x") == "admin"
    assert required_role("POST", "/v1/collections/x/documents") == "write"
    assert required_role("POST", "/v1/collections/x/files") == "write"
    assert required_role("DELETE", "/v1/collections/x/documents/a/b.md") == "write"
    assert required_role("DELETE", "/v1/collections/x/documents") == "admin"
    assert required_role("POST", "/v1/collections/x/documents/y") == "admin"
    assert required_role("GET", "/v1/keys") == "admin"
    assert required_role("GET", "/v1/audit") == "admin"


def test_missing_or_unknown_key_is_401(secured: str) -> None:
    for headers in ({}, _auth("nope"), {"authorization": f"Basic {ADMIN}"}):
        response = httpx.get(f"{secured}/v1/collections", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_read_key_reads_but_cannot_write(secured: str, collection_name: str) -> None:
    assert httpx.get(f"{secured}/v1/collections", headers=_auth(READER)).status_code == 200
    denied = httpx.post(
        f"{secured}/v1/collections", json={"name": collection_name}, headers=_auth(READER)
    )
    assert denied.status_code == 403
    assert "needs admin" in denied.json()["detail"]
    assert (
        httpx.get(f"{secured}/v1/collections/{collection_name}", headers=_auth(READER)).status_code
        == 404
    )


def test_admin_and_hashed_keys_write(secured: str, collection_name: str) -> None:
    created = httpx.post(
        f"{secured}/v1/collections", json={"name": collection_name}, headers=_auth(HASHED)
    )
    assert created.status_code == 201
    deleted = httpx.delete(f"{secured}/v1/collections/{collection_name}", headers=_auth(ADMIN))
    assert deleted.status_code == 204


def test_public_routes_need_no_key(secured: str) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert httpx.get(f"{secured}{path}").status_code == 200, path


def test_keys_never_reach_the_logs(secured: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        httpx.get(f"{secured}/v1/collections", headers=_auth(ADMIN))
        httpx.get(f"{secured}/v1/collections", headers=_auth("guess-" + ADMIN))
    assert caplog.records
    assert ADMIN not in caplog.text


def _chunked(collection_name: str) -> Iterator[bytes]:
    """A body over the 1 MiB limit without Content-Length: the limit applies while streaming."""
    yield b'{"name": "%s", "description": "' % collection_name.encode()
    yield b"y" * (2**20 + 1)
    yield b'"}'


def test_body_over_limit_is_413_and_stores_nothing(secured: str, collection_name: str) -> None:
    payload = {"name": collection_name, "description": "x" * (2**20 + 1)}
    response = httpx.post(f"{secured}/v1/collections", json=payload, headers=_auth(ADMIN))
    assert response.status_code == 413
    assert "PGASK_MAX_REQUEST_MB" in response.json()["detail"]

    streamed = httpx.post(
        f"{secured}/v1/collections",
        content=_chunked(collection_name),
        headers={**_auth(ADMIN), "content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert (
        httpx.get(f"{secured}/v1/collections/{collection_name}", headers=_auth(ADMIN)).status_code
        == 404
    )


def test_request_id_is_echoed_or_made(client: httpx.Client) -> None:
    given = client.get("/healthz", headers={"x-request-id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert len(made.headers["x-request-id"]) == 32


def test_metrics_count_requests_per_route(client: httpx.Client) -> None:
    client.get("/v1/collections/does-not-exist")
    body = client.get("/metrics").text
    assert (
        'pgask_http_requests_total{method="GET",route="/v1/collections/{collection}",'
        'status="404"}' in body
    )
    assert "pgask_http_request_duration_seconds_bucket" in body
    assert "pgask_ingest_jobs_queued 0.0" in body


def test_bearer_token_and_authorize_raise_pgask_errors() -> None:
    assert bearer_token(f"Bearer {READER}") == READER
    for header in (None, "", "Bearer ", f"Basic {ADMIN}"):
        with pytest.raises(Unauthorized):
            bearer_token(header)
    reader = Principal("web", "read", ("docs",))
    authorize(reader, "read", "/v1/collections/docs")
    with pytest.raises(Forbidden, match="needs admin"):
        authorize(reader, "admin", "/v1/collections/docs")
    with pytest.raises(NotFound, match="collection 'hr' does not exist"):
        authorize(reader, "write", "/v1/collections/hr/documents")


def _problem(response: httpx.Response) -> dict:
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    return {k: body[k] for k in ("type", "title", "status", "instance")}


def test_middleware_errors_are_rendered_like_every_other_error(
    secured: str, collection_name: str
) -> None:
    """401, 403 and 413 from the pure ASGI middleware carry the same problem fields as a
    route's errors: pgask's type, title, status and the request path."""
    unknown = httpx.get(f"{secured}/v1/collections", headers=_auth("nope"))
    assert _problem(unknown) == {
        "type": "urn:pgask:unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "instance": "/v1/collections",
    }
    denied = httpx.post(
        f"{secured}/v1/collections", json={"name": collection_name}, headers=_auth(READER)
    )
    assert _problem(denied)["type"] == "urn:pgask:forbidden"
    missing = httpx.get(f"{secured}/v1/collections/{collection_name}", headers=_auth(ADMIN))
    assert _problem(missing)["type"] == "urn:pgask:not-found"

    too_large = {
        "type": "urn:pgask:payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "instance": "/v1/collections",
    }
    declared = httpx.post(
        f"{secured}/v1/collections",
        json={"name": collection_name, "description": "x" * 2**20},
        headers=_auth(ADMIN),
    )
    assert _problem(declared) == too_large

    streamed = httpx.post(
        f"{secured}/v1/collections",
        content=_chunked(collection_name),
        headers={**_auth(ADMIN), "content-type": "application/json"},
    )
    assert _problem(streamed) == too_large
