"""HTTP under load (not run by CI); writes bench/results/vs-http.json.

`pgask serve` in a subprocess (its own data dir, one uvicorn worker, the product's default
logging, stderr to a file) with a collection preloaded with synthetic 384-dim vectors
(bench/common.py generator, seed 42, through pgask's bulk write path); `POST /v1/search`
(`{"collection", "vector", "k": 10, "include_text": false}`, query vectors from the same
generator) from bench/loadgen.py on loopback at 1, 8 and 32 concurrent clients, each level
bounded in time and requests: throughput, p50/p99 latency, error count. The load generator
shares the machine's cores with the server.

    python bench/vs_http.py            # 20,000 rows; 20 s or 20,000 requests per level, x2
    python bench/vs_http.py --quick    # 2,000 rows; 2 s or 200 requests per level, x1
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.catalog import create_collection, get_collection
from app.db.embedded import libpq_url
from app.errors import NotFound
from bench.common import GENERATOR, SEED, connect, pgask_bulk_load, synthetic, write_result
from bench.loadgen import run_load
from bench.systems import opened_services
from bench.vs_load import parser
from ingest.writer import Target

COLLECTION = "bench7-http"
LEVELS = (1, 8, 32)


async def preload(data_dir: Path, rows: int) -> dict[str, Any]:
    """The collection, loaded once per data dir and size; returns the run's info."""
    async with opened_services(data_dir) as (services, info):
        name = f"{COLLECTION}-{rows}"
        async with services.db.owner_session() as session:
            try:
                await get_collection(session, name)
                return info
            except NotFound:
                collection = await create_collection(session, services.embedder, name=name)
        vectors, _ = synthetic(rows, 0, collection.embedding_dimensions)
        async with await connect(libpq_url(services.db.url)) as conn:
            mem = services.settings.pgask_ingest_maintenance_work_mem_mb
            target = Target(collection.id, collection.embedding_dimensions)
            await pgask_bulk_load(conn, target, vectors, maintenance_work_mem_mb=mem)
        return info


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(base: str, server: asyncio.subprocess.Process, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise RuntimeError(f"pgask serve exited with {server.returncode}")
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"pgask serve not ready after {timeout_s} s")


async def main(args: Any) -> dict[str, Any]:
    rows = 2_000 if args.quick else 20_000
    duration, cap = (2.0, 200) if args.quick else (20.0, 20_000)
    data_dir = args.data_dir.with_name(args.data_dir.name + "-http")
    info = await preload(data_dir, rows)
    _, queries = synthetic(rows, 200, 384)
    bodies = [
        {"collection": f"{COLLECTION}-{rows}", "vector": q.tolist(), "k": 10, "include_text": False}
        for q in queries
    ]
    port = free_port()
    env = {**os.environ, "PGASK_DATA_DIR": str(data_dir), "PGASK_INGEST_WORKER": "false"}
    log = (data_dir / "serve.log").open("wb")
    pgask = Path(sys.executable).with_name("pgask")
    server = await asyncio.create_subprocess_exec(
        str(pgask),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    runs = []
    try:
        await wait_ready(base, server, 120)
        await run_load(f"{base}/v1/search", bodies, concurrency=4, duration_s=1, max_requests=50)
        for rep in range(args.repetitions):
            for level in LEVELS:
                result = await run_load(
                    f"{base}/v1/search",
                    bodies,
                    concurrency=level,
                    duration_s=duration,
                    max_requests=cap,
                )
                run = {"repetition": rep, **result.summary(), "latencies_ms": result.latencies_ms}
                runs.append(run)
                brief = {k: v for k, v in run.items() if k != "latencies_ms"}
                print(brief, file=sys.stderr, flush=True)
    finally:
        if server.returncode is None:  # not already exited (it failed to start)
            server.terminate()
        await asyncio.wait_for(server.wait(), 30)
        log.close()
    return {
        "benchmark": "vs-http",
        "command": " ".join(["python", *sys.argv]),
        **info,
        "parameters": {
            "quick": args.quick,
            "rows": rows,
            "levels": LEVELS,
            "duration_s_per_level": duration,
            "max_requests_per_level": cap,
            "repetitions": args.repetitions,
            "generator": GENERATOR,
            "seed": SEED,
            "request": {"k": 10, "include_text": False, "mode": "vector (by vector)"},
            "server": "pgask serve, one process, ingest worker off",
        },
        "runs": runs,
    }


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    parsed = cli.parse_args()
    parsed.repetitions = parsed.repetitions or (1 if parsed.quick else 2)
    result = asyncio.run(main(parsed))
    print(write_result("vs-http", result, parsed.output), file=sys.stderr)
