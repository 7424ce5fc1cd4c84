"""The OpenAI-compatible front door as OpenAI clients use it: the real `openai` client
against pgask over real HTTP lists collections as models (`GET /v1/models`) and shows
pgask's own error message, because errors on these routes come in OpenAI's body shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import openai
import pytest

from app.config import Settings, load_settings
from tests.servers import ServerThread

READER = "reader-key-0123456789"


def _client(server: ServerThread, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def _create(server: ServerThread, name: str, **headers: str) -> None:
    created = httpx.post(f"{server.url}/v1/collections", json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text


def test_models_lists_collections_as_openai_models(
    server: ServerThread, collection_name: str
) -> None:
    before = datetime.now(UTC).timestamp()
    _create(server, collection_name)
    models = {m.id: m for m in _client(server).models.list()}
    model = models[collection_name]
    assert (model.object, model.owned_by) == ("model", "pgask")
    assert int(before) <= model.created <= datetime.now(UTC).timestamp()
    raw = httpx.get(f"{server.url}/v1/models").json()
    assert raw["object"] == "list"
    assert set(raw["data"][0]) == {"id", "object", "created", "owned_by"}


def test_unknown_collection_shows_the_real_message(server: ServerThread) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        _client(server).chat.completions.create(
            model="no-such-collection", messages=[{"role": "user", "content": "hi"}]
        )
    error = raised.value
    assert str(error) == "Error code: 404 - collection 'no-such-collection' does not exist"
    assert (error.code, error.param, error.type) == (
        "model_not_found",
        "model",
        "invalid_request_error",
    )


def test_invalid_chat_request_names_the_field(server: ServerThread, collection_name: str) -> None:
    _create(server, collection_name)
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        _client(server).chat.completions.create(
            model=collection_name, messages=[{"role": "assistant", "content": "x"}]
        )
    assert "the last user/assistant message must be a user question" in str(raised.value)
    response = httpx.post(f"{server.url}/v1/chat/completions", json={"model": collection_name})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == {
        "message": "body.messages: Field required",
        "type": "invalid_request_error",
        "code": "invalid-input",
        "param": "messages",
    }


def test_other_routes_keep_problem_json(server: ServerThread) -> None:
    response = httpx.post(f"{server.url}/v1/ask", json={"collection": "no-such", "question": "q"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "collection 'no-such' does not exist"


@pytest.fixture(scope="module")
def secured(settings: Settings) -> Iterator[ServerThread]:
    from app.main import create_app

    keys = load_settings(pgask_api_keys=f"web:read:{READER}").auth.api_keys
    with ServerThread(create_app(settings.model_copy(update={"pgask_api_keys": keys}))) as running:
        yield running


def test_a_read_key_lists_models_and_a_wrong_key_is_told_why(
    server: ServerThread, secured: ServerThread, collection_name: str
) -> None:
    _create(server, collection_name)
    assert collection_name in [m.id for m in _client(secured, READER).models.list()]
    with pytest.raises(openai.AuthenticationError) as raised:
        _client(secured, "wrong-key").models.list()
    assert raised.value.type == "authentication_error"
    assert str(raised.value) == (
        "Error code: 401 - send a valid API key as 'Authorization: Bearer <key>'"
    )
