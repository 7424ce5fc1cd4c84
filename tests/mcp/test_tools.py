"""Every MCP tool over both transports, with the SDK's own client, on a real database."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp_types import CallToolResult, TextContent, TextResourceContents

from tests.mcp.conftest import Connect
from tests.servers import ServerThread

pytestmark = pytest.mark.anyio

TOOLS = {"list_collections", "search", "ask", "get_document", "similar"}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def ok(result: CallToolResult) -> dict:
    assert not result.is_error, text_of(result)
    assert text_of(result).strip()  # a readable block for the model...
    assert isinstance(result.structured_content, dict)  # ...and data for a program
    return result.structured_content


async def test_tools_publish_descriptions_and_schemas(connect: Connect, docs: str) -> None:
    async with connect() as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        templates = (await client.list_resource_templates()).resource_templates
        resource = await client.read_resource(f"pgask://collections/{docs}")
        document = await client.read_resource(
            f"pgask://collections/{docs}/documents/guides/keys.md"
        )
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40
        assert tool.output_schema is not None
        assert tool.annotations is not None and tool.annotations.read_only_hint
    search = tools["search"].input_schema
    assert search["required"] == ["collection", "query"]
    assert search["properties"]["k"]["maximum"] == 100
    assert search["properties"]["mode"]["enum"] == ["vector", "text", "hybrid"]
    assert "hits" in (tools["search"].output_schema or {})["properties"]
    assert tools["get_document"].input_schema["properties"]["include_chunks"]["default"] is False
    assert {t.uri_template for t in templates} == {
        "pgask://collections/{name}",
        "pgask://collections/{name}/documents/{+id}",
    }
    [info], [text] = resource.contents, document.contents
    assert isinstance(info, TextResourceContents) and isinstance(text, TextResourceContents)
    assert (json.loads(info.text)["name"], json.loads(info.text)["document_count"]) == (docs, 3)
    assert "SHA-256 digests" in text.text


async def test_every_tool_on_a_small_collection(
    connect: Connect, docs: str, server: ServerThread
) -> None:
    async with connect() as client:
        collections = await client.call_tool("list_collections", {})
        found = await client.call_tool(
            "search",
            {"collection": docs, "query": "how do I rotate API keys?", "k": 2, "mode": "hybrid"},
        )
        filtered = ok(
            await client.call_tool(
                "search",
                {"collection": docs, "query": "cheese", "filter": {"kind": "guide"}},
            )
        )
        answer = await client.call_tool(
            "ask", {"collection": docs, "question": "How do I rotate API keys?", "k": 3}
        )
        document = ok(
            await client.call_tool(
                "get_document",
                {"collection": docs, "id": "guides/keys.md", "include_chunks": True},
            )
        )
        bare = ok(
            await client.call_tool("get_document", {"collection": docs, "id": "notes/cheese.txt"})
        )
        similar = ok(
            await client.call_tool("similar", {"collection": docs, "id": "guides/keys.md", "k": 5})
        )

    mine = next(c for c in ok(collections)["collections"] if c["name"] == docs)
    assert mine["document_count"] == 3
    assert mine["embedding"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert f"{docs} (3 documents" in text_of(collections)

    hits = ok(found)["hits"]
    assert len(hits) == 2 and hits[0]["external_id"] == "guides/keys.md"
    assert {"chunk_id", "title", "source", "section", "page", "text", "score"} <= set(hits[0])
    assert hits[0]["score"] >= hits[1]["score"]
    assert "Rotating API keys" in text_of(found) and "docs/keys.md" in text_of(found)
    assert {h["metadata"]["kind"] for h in filtered["hits"]} == {"guide"}

    # The same search over HTTP /v1 finds the same hits: the tool is the route's service.
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post(
            "/v1/search",
            json={"collection": docs, "query": "how do I rotate API keys?", "k": 2},
        )
    same = response.json()
    assert [h["chunk_id"] for h in same["hits"]] == [h["chunk_id"] for h in hits]

    asked = ok(answer)
    assert asked["generated"] is False  # no LLM configured: extractive, as on /v1/ask
    assert asked["citations"] and asked["citations"][0]["source"] == "docs/keys.md"
    assert asked["sources"][0]["n"] == 1
    assert "[1]" in asked["answer"] and "Sources:\n[1] Rotating API keys" in text_of(answer)

    assert document["id"] == "guides/keys.md" and document["title"] == "Rotating API keys"
    assert "SHA-256" in document["chunks"][0]["text"]
    assert bare["chunks"] is None and bare["chunk_count"] == 1

    neighbours = [d["external_id"] for d in similar["documents"]]
    assert "guides/keys.md" not in neighbours
    assert sorted(neighbours) == ["guides/install.md", "notes/cheese.txt"]
