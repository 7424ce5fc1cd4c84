"""What MCP costs over the plain API (not run by CI). Writes bench/results/mcp-tools.json.

The same hybrid searches (k=10, the 50 msmarco-5k queries in turn) go one at a time to
pgask three ways, interleaved query by query so machine load hits all three alike:
`POST /v1/search` (the baseline), the MCP `search` tool over Streamable HTTP at /mcp (same
uvicorn server), and the `search` tool over stdio (`python -m app mcp`, a child process on
the same database). Each call's client-side wall time is recorded; the summary gives p50/p95
per transport and each one's p50 as a ratio of the baseline's in the same run.

    python bench/mcp_tools.py [--quick] [--requests N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from app.config import load_settings
from app.main import create_app
from bench.ask import COLLECTION, percentiles, prepare
from bench.common import MSMARCO, ROOT, machine
from tests.servers import ServerThread

Call = Callable[[str], Awaitable[None]]


async def measure(url: str, requests: int) -> dict[str, list[float]]:
    queries = [json.loads(line)["text"] for line in (MSMARCO / "queries.jsonl").open()]
    settings = load_settings(database_url=url, pgask_ingest_worker=False, _env_file=None)
    passed = ("EMBEDDING_MODEL_PATH", "TIKTOKEN_CACHE_DIR", "HF_HUB_OFFLINE")
    env = {name: os.environ[name] for name in passed if name in os.environ}
    stdio = StdioServerParameters(
        command=sys.executable,
        args=["-m", "app", "mcp"],
        env={**env, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "PGASK_INGEST_WORKER": "0"},
        cwd=ROOT,
    )
    with ServerThread(create_app(settings)) as pgask:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
            mcp_http = await stack.enter_async_context(
                Client(streamable_http_client(f"{pgask.url}/mcp", http_client=httpx2.AsyncClient()))
            )
            mcp_stdio = await stack.enter_async_context(Client(stdio, read_timeout_seconds=120))

            async def api(query: str) -> None:
                body = {"collection": COLLECTION, "query": query, "k": 10}
                (await http.post(f"{pgask.url}/v1/search", json=body)).raise_for_status()

            def tool(client: Client) -> Call:
                async def call(query: str) -> None:
                    arguments = {"collection": COLLECTION, "query": query, "k": 10}
                    result = await client.call_tool("search", arguments)
                    if result.is_error:
                        raise SystemExit(f"search tool failed: {result.content}")

                return call

            calls: dict[str, Call] = {
                "api_v1_search": api,
                "mcp_http": tool(mcp_http),
                "mcp_stdio": tool(mcp_stdio),
            }
            times: dict[str, list[float]] = {name: [] for name in calls}
            for n in range(requests + 5):  # the first five warm up caches and connections
                for name, call in calls.items():
                    started = time.perf_counter()
                    await call(queries[n % len(queries)])
                    if n >= 5:
                        times[name].append(round((time.perf_counter() - started) * 1000, 3))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 requests per transport")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-mcp"))
    args = parser.parse_args()
    requests = 20 if args.quick else args.requests
    host = machine()  # the load average before the run
    versions = {n: metadata.version(n) for n in ("mcp", "fastapi", "uvicorn", "psycopg", "httpx2")}
    url = asyncio.run(prepare(args.data_dir))
    times = asyncio.run(measure(url, requests))
    summary = {name: percentiles(values) for name, values in times.items()}
    base = summary["api_v1_search"]["p50"]
    result: dict[str, Any] = {
        "benchmark": "search latency: POST /v1/search vs the MCP search tool (HTTP, stdio)",
        "command": "python bench/mcp_tools.py" + (" --quick" if args.quick else ""),
        "machine": host,
        "versions": versions,
        "parameters": {"requests": requests, "k": 10, "mode": "hybrid", "collection": COLLECTION},
        "summary_ms": summary,
        "p50_ratio_to_api": {name: round(s["p50"] / base, 3) for name, s in summary.items()},
        "repetitions_ms": times,
    }
    (ROOT / "bench" / "results" / "mcp-tools.json").write_text(json.dumps(result, indent=2) + "\n")
    for name, stats in summary.items():
        print(
            f"{name:14s} p50 {stats['p50']:8.2f}  p95 {stats['p95']:8.2f}  "
            f"ratio {stats['p50'] / base:5.2f}"
        )


if __name__ == "__main__":
    main()
