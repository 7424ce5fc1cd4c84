"""A lone surrogate in an MCP tool's arguments never reaches the database or the
tokenizer: the JSON-RPC message is refused as it is parsed (no client library sends one,
so the request is written by hand), and the server goes on answering."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

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
