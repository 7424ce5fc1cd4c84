"""With API keys configured, /mcp needs the same bearer as /v1, and `pgask mcp` (stdio) acts
as the key PGASK_API_KEY presents; each tool call runs as that key."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp.client import Client
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from app.config import Settings, load_settings
from app.main import create_app
from tests.mcp.conftest import http_connect, run_failing, stdio_parameters
from tests.mcp.test_tools import ok
from tests.servers import ServerThread

pytestmark = pytest.mark.anyio

READER = "reader-key-0123456789"
ADMIN = "admin-key-0123456789"
KEYS = f"web:read:{READER},ops:{ADMIN}"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}


@pytest.fixture(scope="module")
def keyed(settings: Settings) -> Iterator[ServerThread]:
    configured = settings.model_copy(
        update={"pgask_api_keys": load_settings(pgask_api_keys=KEYS).auth.api_keys}
    )
    with ServerThread(create_app(configured)) as server:
        yield server


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key-0123456789", f"Basic {READER}"])
async def test_mcp_over_http_refuses_a_missing_or_wrong_bearer(
    keyed: ServerThread, authorization: str | None
) -> None:
    headers = {"accept": "application/json, text/event-stream"}
    if authorization:
        headers["authorization"] = authorization
    async with httpx.AsyncClient(base_url=keyed.url) as http:
        refused = await http.post("/mcp", json=INITIALIZE, headers=headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"] == 'Bearer realm="pgask"'


@pytest.mark.parametrize("key", [None, "wrong-key-0123456789"])
async def test_the_sdk_client_cannot_connect_without_a_key(
    keyed: ServerThread, key: str | None
) -> None:
    """The SDK client fails to start its session (the raw 401 is checked above)."""
    with pytest.raises(BaseException) as refused:
        async with http_connect(keyed.url, key)():
            pass
    assert [type(e) for e in _leaves(refused.value)] == [MCPError]


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for e in error.exceptions for leaf in _leaves(e)]
    return [error]


async def test_a_read_key_uses_every_tool_as_itself(
    keyed: ServerThread, docs: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.mcp_server"):
        async with http_connect(keyed.url, READER)() as client:
            found = ok(await client.call_tool("search", {"collection": docs, "query": "keys"}))
    assert found["hits"]
    assert "mcp tool search (key web)" in caplog.messages


def test_stdio_refuses_to_start_without_the_key(settings: Settings, tmp_path: Path) -> None:
    for env, message in (
        (
            {},
            "API keys are configured (PGASK_API_KEYS or pgask keys create); set PGASK_API_KEY "
            "to one of them",
        ),
        ({"PGASK_API_KEY": "wrong-key-0123456789"}, "unknown, revoked or expired key"),
    ):
        parameters = stdio_parameters(settings, tmp_path, PGASK_API_KEYS=KEYS, **env)
        assert run_failing(parameters) == f"pgask: error: PGASK_API_KEY: {message}"


async def test_stdio_acts_as_its_key(settings: Settings, docs: str, tmp_path: Path) -> None:
    parameters = stdio_parameters(settings, tmp_path, PGASK_API_KEYS=KEYS, PGASK_API_KEY=ADMIN)
    log = tmp_path / "stderr.log"
    with log.open("w") as errlog:
        async with Client(stdio_client(parameters, errlog=errlog)) as client:
            found = ok(await client.call_tool("search", {"collection": docs, "query": "cheese"}))
    assert found["hits"][0]["external_id"] == "notes/cheese.txt"
    assert "mcp tool search (key ops)" in log.read_text()
