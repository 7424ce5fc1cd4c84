"""The leak matrix over MCP, both transports: the keys of group A and group B (read, c1) ask
every tool and resource for the other group's planted phrase and document. Nothing of it
comes back, a forbidden collection or document is exactly the error of a missing one, what
does come back matches `visible()`, and a revoked or expired key stops working on /mcp
within 5 s as on /v1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import httpx
import pytest
from mcp.client import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextResourceContents

from app.config import Settings
from tests.access.conftest import BOOT, DOCUMENTS, World, auth, make_key, visible
from tests.mcp.conftest import (
    Connect,
    http_connect,
    run_failing,
    stdio_connect,
    stdio_parameters,
)
from tests.mcp.test_keys import INITIALIZE
from tests.mcp.test_tools import ok, text_of

pytestmark = pytest.mark.anyio

# key attribute, its groups, the other group's document
KEYS = [("key_a", ["A"], "bravo-doc"), ("key_b", ["B"], "alpha-doc")]
MISSING = "nosuch-doc"
DEADLINE_SECONDS = 5.0


def _connect(transport: str, world: World, settings: Settings, key: str, cwd: Path) -> Connect:
    if transport == "http":
        return http_connect(world.url, key)
    env = {"PGASK_API_KEYS": f"boot:{BOOT}", "PGASK_API_KEY": key}
    return stdio_connect(stdio_parameters(settings, cwd, **env))


def _no_leak(received: str, forbidden: str, asked: str = "") -> None:
    """Nothing of the forbidden document (but the question asked, which answers echo)."""
    body = received.replace(asked, "") if asked else received
    assert DOCUMENTS[forbidden][2] not in body
    assert forbidden not in body


def _everything(result: CallToolResult) -> str:
    """What a client receives from a call: its text block and its structured content."""
    return text_of(result) + json.dumps(result.structured_content)


async def _error(client: Client, tool: str, arguments: dict[str, str]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, (tool, arguments)
    return text_of(result)


async def _same_error(client: Client, tool: str, denied: dict[str, str], key: str) -> None:
    """The forbidden thing's error is the missing one's, with the name swapped back."""
    missing = {**denied, key: MISSING if key == "id" else "nosuch"}
    expected = (await _error(client, tool, missing)).replace(missing[key], denied[key])
    assert await _error(client, tool, denied) == expected


async def _resource_error(client: Client, uri: str) -> str:
    with pytest.raises(MCPError) as refused:
        await client.read_resource(uri)
    return refused.value.error.message


async def _check_collections(client: Client, groups: list[str], forbidden: str) -> None:
    listed = await client.call_tool("list_collections", {})
    [only] = ok(listed)["collections"]
    assert (only["name"], only["document_count"]) == ("c1", len(visible(groups, ["c1"])))
    _no_leak(_everything(listed), forbidden)
    await _same_error(client, "search", {"collection": "c2", "query": "cobalt"}, "collection")


async def _check_search(client: Client, groups: list[str], forbidden: str) -> None:
    phrase = DOCUMENTS[forbidden][2]
    # The forbidden chunk's own text: the best possible match for every mode.
    exact = f"{phrase}. This note about {phrase} is filed under {forbidden}."
    for mode in ("text", "hybrid", "vector"):
        for query in (phrase, exact):
            found = await client.call_tool(
                "search", {"collection": "c1", "query": query, "mode": mode}
            )
            _no_leak(_everything(found), forbidden)
        arguments = {"collection": "c1", "query": "note filed", "mode": mode}
        hits = ok(await client.call_tool("search", arguments))["hits"]
        assert {h["external_id"] for h in hits} == visible(groups, ["c1"])
        pinned = {**arguments, "query": exact, "filter": {"external_id": forbidden}}
        assert ok(await client.call_tool("search", pinned))["hits"] == []


async def _check_ask(client: Client, groups: list[str], forbidden: str) -> None:
    question = f"What does {DOCUMENTS[forbidden][2]} say?"
    answer = await client.call_tool("ask", {"collection": "c1", "question": question, "k": 10})
    assert len(ok(answer)["sources"]) == len(visible(groups, ["c1"]))
    _no_leak(_everything(answer), forbidden, question)


async def _check_documents(client: Client, groups: list[str], forbidden: str) -> None:
    for tool in ("get_document", "similar"):
        await _same_error(client, tool, {"collection": "c1", "id": forbidden}, "id")
        await _same_error(client, tool, {"collection": "c2", "id": "other-doc"}, "collection")
    own = sorted(visible(groups, ["c1"]))[0]
    document = ok(await client.call_tool("get_document", {"collection": "c1", "id": own}))
    assert document["id"] == own
    similar = await client.call_tool("similar", {"collection": "c1", "id": own, "k": 10})
    found = {d["external_id"] for d in ok(similar)["documents"]}
    assert found == visible(groups, ["c1"]) - {own}
    _no_leak(_everything(similar), forbidden)


async def _check_resources(client: Client, groups: list[str], forbidden: str) -> None:
    base = "pgask://collections"
    missing = await _resource_error(client, f"{base}/nosuch")
    assert await _resource_error(client, f"{base}/c2") == missing.replace("nosuch", "c2")
    missing = await _resource_error(client, f"{base}/c1/documents/{MISSING}")
    denied = await _resource_error(client, f"{base}/c1/documents/{forbidden}")
    assert denied == missing.replace(MISSING, forbidden)
    [collection] = (await client.read_resource(f"{base}/c1")).contents
    assert isinstance(collection, TextResourceContents)
    assert json.loads(collection.text)["document_count"] == len(visible(groups, ["c1"]))
    _no_leak(collection.text, forbidden)


@pytest.mark.parametrize("transport", ["http", "stdio"])
@pytest.mark.parametrize(("attr", "groups", "forbidden"), KEYS)
async def test_mcp_tools_and_resources_never_leak_the_other_group(
    world: World,
    access_settings: Settings,
    tmp_path: Path,
    transport: str,
    attr: str,
    groups: list[str],
    forbidden: str,
) -> None:
    connect = _connect(transport, world, access_settings, getattr(world, attr), tmp_path)
    async with connect() as client:
        for check in (
            _check_collections,
            _check_search,
            _check_ask,
            _check_documents,
            _check_resources,
        ):
            await check(client, groups, forbidden)


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_mcp_admin_key_sees_both_groups(
    world: World, access_settings: Settings, tmp_path: Path, transport: str
) -> None:
    async with _connect(transport, world, access_settings, world.admin, tmp_path)() as client:
        listed = ok(await client.call_tool("list_collections", {}))["collections"]
        arguments = {"collection": "c1", "query": "note filed", "mode": "hybrid"}
        hits = ok(await client.call_tool("search", arguments))["hits"]
    assert {c["name"] for c in listed} >= {"c1", "c2"}
    assert {h["external_id"] for h in hits} == visible(["A", "B"], ["c1"])


async def _revoke(url: str, name: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers=auth(BOOT), timeout=30) as http:
        assert (await http.delete(f"/v1/keys/{name}")).status_code == 204


async def _refused_over_http(url: str, key: str, seconds: float) -> None:
    """Poll /mcp with `key` until it gets 401, or fail after `seconds`."""
    headers = {**auth(key), "accept": "application/json, text/event-stream"}
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while time.monotonic() - started < seconds:
            if (await http.post("/mcp", json=INITIALIZE, headers=headers)).status_code == 401:
                return
            await anyio.sleep(0.1)
    raise AssertionError(f"key still accepted on /mcp after {seconds} s")


async def test_revoked_and_expired_keys_stop_working_on_mcp_within_5_s(world: World) -> None:
    revoked = make_key(world.url, "mcp-revoked", role="read", collections=["c1"])
    expiring = make_key(world.url, "mcp-expiring", role="read", expires_in_days=4 / 86400)
    for key in (revoked, expiring):
        async with http_connect(world.url, key)() as client:
            ok(await client.call_tool("list_collections", {}))
    await _revoke(world.url, "mcp-revoked")
    await _refused_over_http(world.url, revoked, DEADLINE_SECONDS)
    # 4 s of life from its creation, then at most 5 s more
    await _refused_over_http(world.url, expiring, 4 + DEADLINE_SECONDS)


async def test_stdio_stops_acting_as_a_revoked_key_within_5_s(
    world: World, access_settings: Settings, tmp_path: Path
) -> None:
    """A running `pgask mcp` looks its key up again: after revocation its calls are tool
    errors, without a restart."""
    key = make_key(world.url, "mcp-stdio-revoked", role="read", collections=["c1"])
    async with _connect("stdio", world, access_settings, key, tmp_path)() as client:
        ok(await client.call_tool("list_collections", {}))
        await _revoke(world.url, "mcp-stdio-revoked")
        started = time.monotonic()
        while not (result := await client.call_tool("list_collections", {})).is_error:
            assert time.monotonic() - started < DEADLINE_SECONDS, "key still accepted"
            await anyio.sleep(0.1)
    assert text_of(result) == "PGASK_API_KEY: unknown, revoked or expired key"


def test_stdio_needs_a_key_when_only_stored_keys_exist(
    world: World, access_settings: Settings, tmp_path: Path
) -> None:
    """Keys created in the database turn authentication on for `pgask mcp` too, even with
    no PGASK_API_KEYS: it refuses to start unscoped."""
    assert world.key_a  # the world's stored keys exist
    parameters = stdio_parameters(access_settings, tmp_path)
    assert run_failing(parameters) == (
        "pgask: error: PGASK_API_KEY: API keys are configured (PGASK_API_KEYS or pgask keys "
        "create); set PGASK_API_KEY to one of them"
    )
