"""A lone surrogate in an MCP tool's arguments never reaches the database or the
tokenizer: the JSON-RPC message is refused as it is parsed (no client library sends one,
so the request is written by hand), and the server goes on answering."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.validation import MAX_METADATA_DEPTH
from tests.servers import ServerThread

pytestmark = pytest.mark.anyio

HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def _call(tool: str, arguments: str) -> bytes:
    return (
        '{"jsonrpc": "2.0", "id": 7, "method": "tools/call", '
        f'"params": {{"name": "{tool}", "arguments": {arguments}}}}}'
    ).encode()


def _messages(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of an answer, sent as JSON or as server-sent events."""
    if response.headers["content-type"].startswith("text/event-stream"):
        return [
            json.loads(line.removeprefix("data:"))
            for line in response.text.splitlines()
            if line.startswith("data:")
        ]
    return [response.json()]


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("search", '{"collection": "COLL", "query": "keys", "filter": {"k\\ud800": "v"}}'),
        ("search", '{"collection": "COLL", "query": "keys", "filter": {"k": "\\udfff"}}'),
        ("search", '{"collection": "COLL", "query": "keys \\ud800"}'),
        ("ask", '{"collection": "COLL", "question": "why \\ud800"}'),
        ("get_document", '{"collection": "COLL", "id": "\\ud800"}'),
    ],
)
async def test_a_lone_surrogate_in_tool_arguments_is_refused(
    server: ServerThread, docs: str, tool: str, arguments: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
        body = _call(tool, arguments.replace("COLL", docs))
        refused = await http.post("/mcp", content=body, headers=HEADERS)
        assert refused.status_code < 500, refused.text
        [message] = _messages(refused)
        error = message.get("error") or {}
        result = message.get("result") or {}
        assert error or result.get("isError"), message
        good = _call("get_document", json.dumps({"collection": docs, "id": "guides/keys.md"}))
        answered = await http.post("/mcp", content=good, headers=HEADERS)
        [ok] = _messages(answered)
        assert "result" in ok and not ok["result"].get("isError"), ok


async def test_metadata_at_the_depth_limit_is_read_back_by_the_search_tool(
    server: ServerThread, docs: str
) -> None:
    """32 levels (MAX_METADATA_DEPTH) are stored, and every hit carrying them serializes."""
    metadata: dict[str, Any] = {"leaf": 1}
    for _ in range(MAX_METADATA_DEPTH - 1):
        metadata = {"a": metadata}
    document = {"id": "deepest.md", "text": "The deepest metadata of all.", "metadata": metadata}
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
        added = await http.post(f"/v1/collections/{docs}/documents", json={"documents": [document]})
        assert added.status_code == 200, added.text
        for mode in ("vector", "text", "hybrid"):
            arguments = {"collection": docs, "query": "deepest metadata", "mode": mode}
            answered = await http.post(
                "/mcp", content=_call("search", json.dumps(arguments)), headers=HEADERS
            )
            [message] = _messages(answered)
            assert not message["result"].get("isError"), message
            assert "deepest.md" in json.dumps(message["result"]), (mode, message)
