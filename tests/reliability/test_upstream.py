"""Faults in the model servers, through the real `openai` client against the fake
OpenAI-compatible server: the chat model times out or answers garbage (a clean 504/502
problem+json that still carries the sources; inside a stream, an error event after the text
already sent); the embedding server fails, then recovers (ingestion completes, and nothing
is lost or stored twice)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest

from app.config import Settings
from tests.fake_openai import FakeOpenAI, Reply, chat_settings
from tests.reliability.conftest import SEED_DOCUMENTS, seeded_server, stored_documents
from tests.reliability.test_metrics import sample
from tests.servers import ServerThread, sse_events


@pytest.fixture(scope="module")
def llm_http(
    settings: Settings, fake_openai_server: FakeOpenAI
) -> Iterator[tuple[httpx.Client, str]]:
    """pgask answering with a chat model on the fake server (1 s timeout, no retries)."""
    configured = chat_settings(
        settings, fake_openai_server, openai_api_key=None, llm_timeout_seconds=1.0
    )
    with seeded_server(configured, "llm") as running:
        yield running


GARBAGE = {
    "invalid JSON": "{not json at all",
    "truncated JSON": '{"id": "x", "choices": [{"message": {"content": "hal',
    "a JSON list": "[1, 2, 3]",
    "no choices": '{"id": "x", "object": "chat.completion"}',
    "choices of the wrong type": '{"id": "x", "choices": "nope"}',
    "message of the wrong type": '{"id": "x", "choices": [{"index": 0, "message": 42}]}',
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_from_the_chat_model_is_502_with_sources(
    llm_http: tuple[httpx.Client, str], fake_openai: FakeOpenAI, kind: str
) -> None:
    http, name = llm_http
    fake_openai.script(Reply(raw=GARBAGE[kind], endpoint="chat"))
    response = http.post("/v1/ask", json={"collection": name, "question": "What is pgvector?"})
    assert response.status_code == 502, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:pgask:upstream-error"
    assert problem["sources"], "the sources found before the model failed are returned"


STREAM_GARBAGE = {
    "invalid JSON": "{not json at all",
    "choices of the wrong type": '{"id": "x", "object": "chat.completion.chunk", "choices": 7}',
    "delta of the wrong type": '{"id": "x", "choices": [{"index": 0, "delta": "oops"}]}',
}


@pytest.mark.parametrize("kind", list(STREAM_GARBAGE))
def test_garbage_inside_a_streamed_answer_ends_with_an_error_event(
    llm_http: tuple[httpx.Client, str], fake_openai: FakeOpenAI, kind: str
) -> None:
    http, name = llm_http
    fake_openai.script(
        Reply(content="Postgres extension.", stream_garbage=STREAM_GARBAGE[kind], endpoint="chat")
    )
    body = {"collection": name, "question": "What is pgvector?", "stream": True}
    response = http.post("/v1/ask", json=body)
    assert response.status_code == 200
    events = sse_events(response)
    names = [event for event, _ in events]
    assert names[0] == "sources" and "delta" in names, names
    assert names[-1] == "error" and "done" not in names, names
    error = events[-1][1]
    assert error["status"] == 502 and "broke off the answer" in error["detail"]


def test_garbage_inside_a_stream_raises_in_the_openai_client(
    llm_http: tuple[httpx.Client, str], fake_openai: FakeOpenAI
) -> None:
    """On the OpenAI-compatible route a broken stream is an error object the client raises,
    never text with finish_reason "stop" that would pass for a complete answer."""
    http, name = llm_http
    fake_openai.script(
        Reply(content="Postgres extension.", stream_garbage="{oops", endpoint="chat")
    )
    base_url = str(http.base_url).rstrip("/") + "/v1"
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    received: list[str] = []
    with pytest.raises(openai.APIError, match="broke off the answer"):
        for chunk in client.chat.completions.create(
            model=name, messages=[{"role": "user", "content": "What is pgvector?"}], stream=True
        ):
            received += [c.delta.content or "" for c in chunk.choices]
            assert all(c.finish_reason is None for c in chunk.choices)
    assert "".join(received).startswith("Postgres")


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/chat/completions"])
def test_chat_model_timeout_is_504(
    llm_http: tuple[httpx.Client, str], fake_openai: FakeOpenAI, path: str
) -> None:
    http, name = llm_http
    fake_openai.script(Reply(delay=3.0, endpoint="chat"))
    body = (
        {"collection": name, "question": "What is pgvector?"}
        if path == "/v1/ask"
        else {"model": name, "messages": [{"role": "user", "content": "What is pgvector?"}]}
    )
    response = http.post(path, json=body)
    assert response.status_code == 504, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if path == "/v1/ask":
        assert response.json()["sources"]


def test_garbage_on_the_openai_compatible_route_is_502(
    llm_http: tuple[httpx.Client, str], fake_openai: FakeOpenAI
) -> None:
    http, name = llm_http
    fake_openai.script(Reply(raw=GARBAGE["invalid JSON"], endpoint="chat"))
    body = {"model": name, "messages": [{"role": "user", "content": "What is pgvector?"}]}
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 502, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_embedding_server_fails_then_recovers(
    settings: Settings, fake_openai: FakeOpenAI, pg_dsn: str
) -> None:
    from app.main import create_app

    configured = settings.model_copy(
        update={
            "embedding_provider": "openai",
            "embedding_model": "text-embedding-3-small",
            "embedding_dimensions": 64,
            "embedding_model_path": None,
            "embedding_max_retries": 2,
            "openai_base_url": fake_openai.base_url,
            "openai_api_key": None,
        }
    )
    name = f"emb-{uuid.uuid4().hex[:10]}"
    first, second = SEED_DOCUMENTS[:2], SEED_DOCUMENTS[2:]
    failing = [Reply(status=500, endpoint="embeddings") for _ in range(3)]
    with (
        ServerThread(create_app(configured)) as running,
        httpx.Client(base_url=running.url, timeout=60) as http,
    ):
        assert http.post("/v1/collections", json={"name": name}).status_code == 201
        # Two 500s: within the retries, so the batch is stored as if nothing happened.
        fake_openai.script(*failing[:2])
        ok = http.post(f"/v1/collections/{name}/documents", json={"documents": first})
        assert ok.status_code == 200, ok.text
        stored_first = stored_documents(pg_dsn, name)
        # Three 500s: past the retries. A clean 502, and nothing of that batch stored.
        fake_openai.script(*failing)
        down = http.post(f"/v1/collections/{name}/documents", json={"documents": second})
        assert down.status_code == 502, down.text
        assert down.headers["content-type"] == "application/problem+json"
        assert stored_documents(pg_dsn, name) == stored_first
        assert sample(http, "pgask_embedding_errors_total", provider="openai") == 1
        # Recovered: the same request now stores the rest; the first batch is unchanged.
        everything = {"documents": first + second}
        up = http.post(f"/v1/collections/{name}/documents", json=everything)
        assert up.status_code == 200, up.text
        assert (up.json()["added"], up.json()["unchanged"]) == (len(second), len(first))
        stored = stored_documents(pg_dsn, name)
        http.delete(f"/v1/collections/{name}")
    assert sorted(stored) == sorted(str(d["id"]) for d in SEED_DOCUMENTS)
    assert all(count == actual == ordinals > 0 for count, actual, ordinals in stored.values())
    assert stored_first.items() <= stored.items()
    statuses = [r.status for r in fake_openai.requests if r.path.endswith("/embeddings")]
    assert statuses.count(500) == 5
