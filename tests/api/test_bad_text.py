"""What is not Unicode text (a lone surrogate, `"\\ud800"` in JSON) is refused at every door
of the HTTP API with a 422 naming the field, and the keep-alive connection stays usable;
metadata too deep or too large is refused where it enters, so every read of what was
stored still answers."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.routing import APIRoute

from app.api.fast_json import JsonRoute
from app.config import Settings
from app.validation import MAX_JSON_DEPTH, MAX_METADATA_BYTES, MAX_METADATA_DEPTH
from tests.servers import ServerThread

LONE = "\\ud800"  # as JSON escapes it: json.dumps would write the same six characters


@pytest.fixture(scope="module")
def docs(server: ServerThread) -> Iterator[str]:
    name = f"text-{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=server.url, timeout=60) as http:
        assert http.post("/v1/collections", json={"name": name}).status_code == 201
        added = http.post(
            f"/v1/collections/{name}/documents",
            json={"documents": [{"id": "a", "text": "PostgreSQL stores rows in pages."}]},
        )
        assert added.status_code == 200, added.text
        yield name
        http.delete(f"/v1/collections/{name}")


def bodies(collection: str) -> list[tuple[str, str, str, str]]:
    """(door, path, raw JSON body with a lone surrogate, the field the 422 must name)."""
    search = f'{{"collection": "{collection}", "query": "rows", '
    ask = f'{{"collection": "{collection}", '
    return [
        ("filter key", "/v1/search", search + f'"filter": {{"k{LONE}": "v"}}}}', "filter.k"),
        ("filter value", "/v1/search", search + f'"filter": {{"k": "v{LONE}"}}}}', "filter.k"),
        ("query", "/v1/search", f'{{"collection": "{collection}", "query": "{LONE}"}}', "query"),
        ("question", "/v1/ask", ask + f'"question": "why{LONE}"}}', "question"),
        (
            "ask history",
            "/v1/ask",
            ask + f'"question": "q", "history": [{{"role": "user", "content": "{LONE}"}}]}}',
            "history.0.content",
        ),
        (
            "chat message",
            "/v1/chat/completions",
            f'{{"model": "{collection}", "messages": [{{"role": "user", "content": "hi{LONE}"}}]}}',
            "messages.0.content",
        ),
        (
            "key groups",
            "/v1/keys",
            f'{{"name": "k", "role": "read", "groups": ["g{LONE}"]}}',
            "groups.0",
        ),
        (
            "key collections",
            "/v1/keys",
            f'{{"name": "k", "role": "read", "collections": ["c{LONE}"]}}',
            "collections.0",
        ),
        (
            "collection description",
            "/v1/collections",
            f'{{"name": "x-{uuid.uuid4().hex[:6]}", "description": "{LONE}"}}',
            "description",
        ),
        (
            "document metadata",
            f"/v1/collections/{collection}/documents",
            f'{{"documents": [{{"id": "m", "text": "t", "metadata": {{"a": ["{LONE}"]}}}}]}}',
            "documents.0.metadata.a.0",
        ),
        (
            "document id",
            f"/v1/collections/{collection}/documents",
            f'{{"documents": [{{"id": "{LONE}", "text": "t"}}]}}',
            "documents.0.id",
        ),
    ]


def _message(response: http.client.HTTPResponse) -> str:
    body = json.loads(response.read())
    if "error" in body:  # the OpenAI-compatible routes answer in OpenAI's shape
        return f"{body['error']['param']}: {body['error']['message']}"
    assert response.headers["content-type"] == "application/problem+json"
    return str(body["detail"])


def test_a_lone_surrogate_is_a_422_naming_the_field_and_the_connection_stays(
    server: ServerThread, docs: str, client: httpx.Client
) -> None:
    before = client.get(f"/v1/collections/{docs}").json()["document_count"]
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=60)
    try:
        for door, path, body, field in bodies(docs):
            connection.request("POST", path, body.encode(), {"content-type": "application/json"})
            response = connection.getresponse()
            message = _message(response)
            assert response.status == 422, (door, message)
            assert field in message and "lone surrogate" in message, (door, message)
            socket = connection.sock
            connection.request("GET", "/healthz")  # on the same connection: it stayed open
            health = connection.getresponse()
            health.read()
            assert health.status == 200, door
            assert connection.sock is socket, door
    finally:
        connection.close()
    assert client.get(f"/v1/collections/{docs}").json()["document_count"] == before
    assert client.get("/v1/keys").json()["keys"] == []  # no key was made


def test_every_route_reads_its_json_body_through_the_checking_parser(settings: Settings) -> None:
    """A new route with a JSON body that skipped the check would let surrogates in."""
    from app.main import create_app

    app = create_app(settings)
    unchecked = [
        route.path
        for route in app.routes
        if isinstance(route, APIRoute)
        and route.body_field is not None
        and not isinstance(route, JsonRoute)
    ]
    assert unchecked == []


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("depth", "limit"),
    [
        (MAX_METADATA_DEPTH + 1, f"metadata nests deeper than {MAX_METADATA_DEPTH} levels"),
        (190, f"metadata nests deeper than {MAX_METADATA_DEPTH} levels"),
        (300, f"body nests deeper than {MAX_JSON_DEPTH} levels"),
        (480, f"body nests deeper than {MAX_JSON_DEPTH} levels"),
        (2000, f"body nests deeper than {MAX_JSON_DEPTH} levels"),
    ],
)
def test_metadata_deeper_than_the_limit_is_a_422_and_nothing_is_stored(
    client: httpx.Client, docs: str, depth: int, limit: str
) -> None:
    metadata = '{"a": ' * (depth - 1) + '{"leaf": 1}' + "}" * (depth - 1)
    body = f'{{"documents": [{{"id": "deep-{depth}", "text": "deep", "metadata": {metadata}}}]}}'
    refused = client.post(
        f"/v1/collections/{docs}/documents",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert refused.status_code == 422, refused.text
    assert limit in refused.json()["detail"]
    assert client.get(f"/v1/collections/{docs}/documents/deep-{depth}").status_code == 404


def test_metadata_at_the_limits_is_stored_and_every_read_answers(
    client: httpx.Client, docs: str
) -> None:
    document = {
        "id": "deepest",
        "text": "deepest metadata",
        "metadata": _nested(MAX_METADATA_DEPTH),
    }
    added = client.post(f"/v1/collections/{docs}/documents", json={"documents": [document]})
    assert added.status_code == 200, added.text
    assert client.get(f"/v1/collections/{docs}/documents/deepest").status_code == 200
    assert client.get(f"/v1/collections/{docs}/documents/deepest/similar").status_code == 200
    for mode in ("vector", "text", "hybrid"):
        found = client.post(
            "/v1/search", json={"collection": docs, "query": "deepest metadata", "mode": mode}
        )
        assert found.status_code == 200, (mode, found.text)
        assert "deepest" in [hit["external_id"] for hit in found.json()["hits"]]


def test_metadata_larger_than_the_limit_is_a_422(client: httpx.Client, docs: str) -> None:
    big = {"notes": "x" * MAX_METADATA_BYTES}
    document = {"id": "big", "text": "big metadata", "metadata": big}
    refused = client.post(f"/v1/collections/{docs}/documents", json={"documents": [document]})
    assert refused.status_code == 422, refused.text
    assert "at most 64 KiB" in refused.json()["detail"]


def test_a_description_longer_than_the_limit_is_a_422(client: httpx.Client) -> None:
    refused = client.post("/v1/collections", json={"name": "long-desc", "description": "d" * 2001})
    assert refused.status_code == 422, refused.text


def test_percent_encoded_surrogates_in_paths_and_queries_arrive_as_replacement_characters(
    client: httpx.Client, docs: str
) -> None:
    """%ED%A0%80 is U+D800 encoded as UTF-8, which is no UTF-8: the server decodes paths
    and query strings with U+FFFD in its place, so no surrogate arrives by these doors."""
    lone = "%ED%A0%80"
    for method, path in (
        ("GET", f"/v1/collections/{docs}/documents/{lone}"),
        ("GET", f"/v1/collections/{docs}/documents/{lone}/similar"),
        ("DELETE", f"/v1/collections/{docs}/documents/{lone}"),
        ("GET", f"/v1/collections/{lone}"),
        ("DELETE", f"/v1/keys/{lone}"),
    ):
        answer = client.request(method, path)
        assert answer.status_code in (404, 422), (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    listed = client.get(f"/v1/collections/{docs}/documents/a", params={"chunks": "\ufffd"})
    assert listed.status_code == 422, listed.text
    raw = client.get(f"/v1/collections/{docs}/documents/a?chunks={lone}")
    assert raw.status_code == 422, raw.text
