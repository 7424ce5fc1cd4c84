"""Bad arguments and failures are MCP tool errors (isError) with the same one-line message as
the HTTP problem detail, never a crash or a traceback; the server stays healthy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError

from app.config import Settings
from app.main import create_app
from tests.fake_openai import FakeOpenAI, Reply, chat_settings
from tests.mcp.conftest import Connect, http_connect, stdio_connect, stdio_parameters
from tests.mcp.test_tools import ok, text_of
from tests.servers import ServerThread

pytestmark = pytest.mark.anyio


async def problem(server: ServerThread, method: str, path: str, **kwargs: Any) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        response = await http.request(method, path, **kwargs)
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["detail"])


async def test_bad_arguments_are_tool_errors_with_the_api_message(
    connect: Connect, docs: str, server: ServerThread
) -> None:
    bad_filter = {"year": {"$gt": True}}
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            "search",
            {"collection": "no-such-collection", "query": "keys"},
            await problem(
                server,
                "POST",
                "/v1/search",
                json={"collection": "no-such-collection", "query": "keys"},
            ),
        ),
        (
            "search",
            {"collection": docs, "query": "keys", "filter": bad_filter},
            await problem(
                server,
                "POST",
                "/v1/search",
                json={"collection": docs, "query": "keys", "filter": bad_filter},
            ),
        ),
        (
            "search",
            {"collection": docs, "query": "keys", "k": 500},
            (
                await problem(
                    server,
                    "POST",
                    "/v1/search",
                    json={"collection": docs, "query": "keys", "k": 500},
                )
            ).removeprefix("body."),
        ),
        (
            "get_document",
            {"collection": docs, "id": "missing.md"},
            await problem(server, "GET", f"/v1/collections/{docs}/documents/missing.md"),
        ),
        (
            "similar",
            {"collection": docs, "id": "missing.md"},
            await problem(server, "GET", f"/v1/collections/{docs}/documents/missing.md/similar"),
        ),
        (
            "ask",
            {"collection": docs, "question": ""},
            "question: String should have at least 1 character",
        ),
        (
            "search",
            {"collection": docs, "query": "keys", "mode": "fuzzy"},
            "mode: Input should be 'vector', 'text' or 'hybrid'",
        ),
        ("similar", {"collection": docs}, "id: Field required"),
    ]
    async with connect() as client:
        for tool, arguments, message in cases:
            result = await client.call_tool(tool, arguments)
            assert result.is_error, (tool, arguments)
            assert text_of(result) == message
            assert "Traceback" not in text_of(result)
        for uri, message in (
            (
                "pgask://collections/no-such-collection",
                "collection 'no-such-collection' does not exist",
            ),
            (
                f"pgask://collections/{docs}/documents/missing.md",
                f"document 'missing.md' is not in collection {docs!r}",
            ),
        ):
            with pytest.raises(MCPError) as missing:
                await client.read_resource(uri)
            assert missing.value.error.message == message
        # ...and the server still answers.
        ok(await client.call_tool("get_document", {"collection": docs, "id": "guides/keys.md"}))


@pytest.fixture
def chatty(settings: Settings, fake_openai: FakeOpenAI) -> Any:
    """pgask with a chat model (the fake OpenAI server), over real HTTP."""
    with ServerThread(create_app(chat_settings(settings, fake_openai))) as running:
        yield running


async def test_model_failure_is_a_tool_error(
    chatty: ServerThread, fake_openai: FakeOpenAI, docs: str
) -> None:
    question = {"collection": docs, "question": "How do I rotate API keys?"}
    fake_openai.script(Reply(500, endpoint="chat"), Reply(500, endpoint="chat"))
    expected = await problem(chatty, "POST", "/v1/ask", json=question)
    async with http_connect(chatty.url)() as client:
        failed = await client.call_tool("ask", question)
        fake_openai.script(
            Reply(content="Add the new key, then drop the old one [1].", endpoint="chat")
        )
        answered = ok(await client.call_tool("ask", question))
    assert failed.is_error and text_of(failed) == expected
    assert answered["generated"] is True
    assert [c["n"] for c in answered["citations"]] == [1]


async def in_the_model(fake_openai: FakeOpenAI) -> None:
    """Return once a chat request has reached the fake model. (It records requests in its
    own server thread: polling, not an anyio.Event.)"""
    while not any(r.path.endswith("/chat/completions") for r in fake_openai.requests):  # noqa: ASYNC110
        await anyio.sleep(0.05)


async def hang_up_mid_answer(connect: Connect, fake_openai: FakeOpenAI, docs: str) -> None:
    """Ask through a client of its own, and drop it while the model is answering."""
    fake_openai.script(Reply(content="late", delay=15, endpoint="chat"))
    async with anyio.create_task_group() as tasks:

        async def ask_and_hang_up() -> None:
            async with connect() as client:
                await client.call_tool("ask", {"collection": docs, "question": "keys?"})

        tasks.start_soon(ask_and_hang_up)
        await in_the_model(fake_openai)
        tasks.cancel_scope.cancel()


async def test_a_client_gone_mid_call_leaves_the_server_healthy(
    chatty: ServerThread, fake_openai: FakeOpenAI, docs: str
) -> None:
    await hang_up_mid_answer(http_connect(chatty.url), fake_openai, docs)
    async with http_connect(chatty.url)() as client:
        listed = ok(await client.call_tool("list_collections", {}))
        found = ok(await client.call_tool("search", {"collection": docs, "query": "cheese"}))
    assert docs in {c["name"] for c in listed["collections"]}
    assert found["hits"][0]["external_id"] == "notes/cheese.txt"
    async with httpx.AsyncClient(base_url=chatty.url) as http:
        assert (await http.get("/readyz")).status_code == 200


async def test_a_call_cancelled_over_stdio_leaves_the_session_working(
    settings: Settings, fake_openai: FakeOpenAI, docs: str, tmp_path: Path
) -> None:
    parameters = stdio_parameters(
        settings,
        tmp_path,
        LLM_PROVIDER="openai",
        LLM_MODEL="fake-chat",
        OPENAI_BASE_URL=fake_openai.base_url,
        LLM_MAX_RETRIES="0",
    )
    async with stdio_connect(parameters)() as client:
        fake_openai.script(Reply(content="late", delay=15, endpoint="chat"))
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(client.call_tool, "ask", {"collection": docs, "question": "keys?"})
                await in_the_model(fake_openai)
                scope.cancel()
        fake_openai.script(Reply(content="Rotate them [1].", endpoint="chat"))
        answered = ok(await client.call_tool("ask", {"collection": docs, "question": "keys?"}))
    assert answered["answer"] == "Rotate them [1]."
