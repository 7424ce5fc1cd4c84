"""A small collection ingested through the real API, and the SDK's own MCP client over both
transports: Streamable HTTP against a real uvicorn server, stdio against `python -m app mcp`
spawned with the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from app.config import Settings
from tests.conftest import ROOT
from tests.servers import ServerThread

Connect = Callable[[], AbstractAsyncContextManager[Client]]

DOCUMENTS = [
    {
        "id": "guides/install.md",
        "title": "Installing pgask",
        "source": "docs/install.md",
        "text": "Install pgask with pip into a virtual environment. Python 3.11 or newer "
        "is required. The first start downloads the embedding model.",
        "metadata": {"kind": "guide", "year": 2024},
    },
    {
        "id": "guides/keys.md",
        "title": "Rotating API keys",
        "source": "docs/keys.md",
        "text": "Rotate API keys by adding the new key to PGASK_API_KEYS, moving clients to "
        "it, then removing the old key. Keys are compared as SHA-256 digests.",
        "metadata": {"kind": "guide", "year": 2025},
    },
    {
        "id": "notes/cheese.txt",
        "title": "Cheese",
        "source": "notes/cheese.txt",
        "text": "Gruyere and comte are hard cheeses from the Alps, aged for months.",
        "metadata": {"kind": "note", "year": 2020},
    },
]


@pytest.fixture(scope="module")
def docs(server: ServerThread) -> str:
    """A collection with three small documents, ingested through the HTTP API."""
    name = f"mcp-{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=server.url, timeout=120) as http:
        http.post("/v1/collections", json={"name": name}).raise_for_status()
        http.post(
            f"/v1/collections/{name}/documents", json={"documents": DOCUMENTS}
        ).raise_for_status()
    return name


def http_connect(url: str, key: str | None = None) -> Connect:
    @asynccontextmanager
    async def connect() -> AsyncIterator[Client]:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=120) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            yield client

    return connect


def stdio_parameters(settings: Settings, cwd: Path, **env: str) -> StdioServerParameters:
    """`python -m app mcp` on the test database; run in an empty folder so no .env is read."""
    passed = {
        name: os.environ[name]
        for name in ("EMBEDDING_MODEL_PATH", "TIKTOKEN_CACHE_DIR", "HF_HUB_OFFLINE")
        if name in os.environ
    }
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "app", "mcp"],
        env={
            **passed,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": settings.database_url or "",
            "PGASK_INGEST_WORKER": "0",
            **env,
        },
        cwd=cwd,
    )


def run_failing(parameters: StdioServerParameters) -> str:
    """Run `pgask mcp` expecting it to refuse to start: exit 1, nothing on stdout (only the
    protocol ever goes there), one line on stderr, which is returned."""
    done = subprocess.run(
        [parameters.command, *parameters.args],
        env=parameters.env,
        cwd=parameters.cwd,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (1, "")
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def stdio_connect(parameters: StdioServerParameters) -> Connect:
    @asynccontextmanager
    async def connect() -> AsyncIterator[Client]:
        async with Client(parameters, read_timeout_seconds=120) as client:
            yield client

    return connect


# Over stdio each test starts `pgask mcp`: the slow tier (tests/conftest.py SLOW_TIER).
@pytest.fixture(params=["http", pytest.param("stdio", marks=pytest.mark.slow)])
def connect(
    request: pytest.FixtureRequest,
    server: ServerThread,
    settings: Settings,
    tmp_path: Path,
) -> Connect:
    if request.param == "http":
        return http_connect(server.url)
    return stdio_connect(stdio_parameters(settings, tmp_path))
