"""`/v1/search` throughput at 1 and 2 API workers (`pgask serve --workers N`); not run by CI.
Writes bench/results/workers.json.

One embedded server (its own data dir) with a collection preloaded with synthetic 384-dim
rows (the bench/vs_http.py preload: text `synthetic passage {i}`); for each worker count,
`pgask serve --workers N` in a subprocess (ingest worker off), then bench/loadgen.py
closed-loop clients on loopback against `POST /v1/search`:

- `vector`: a query vector in the body (`{"vector": [...]}`: no embedding in the server),
- `text`: full-text queries (`{"query": "synthetic passage 4711", "mode": "text"}`),
- `vector-by-text`: a query string the server embeds with the local model (MiniLM, ONNX).

Worker counts alternate within each repetition (1, 2, 1, 2...) so drift on this shared
machine hits both alike; the 1-worker runs are the baseline of the ratios. CPU seconds used
during each run by the server processes, by PostgreSQL and by the load generator (psutil)
say where the ceiling is.

    python bench/workers.py            # 20,000 rows; 15 s per run, 16 clients, x2
    python bench/workers.py --quick    # 2,000 rows; 3 s per run, x1
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from statistics import median
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import synthetic, write_result
from bench.loadgen import run_load
from bench.vs_http import COLLECTION, free_port, preload, wait_ready
from bench.vs_load import parser

WORKERS = (1, 2)
CLIENTS = 16


def bodies(collection: str, kind: str, rows: int) -> list[dict[str, Any]]:
    _, queries = synthetic(rows, 200, 384)
    common = {"collection": collection, "k": 10, "include_text": False}
    if kind == "vector":
        return [{**common, "vector": q.tolist()} for q in queries]
    numbers = range(7, rows, max(1, rows // 200))
    if kind == "text":
        return [{**common, "query": f"synthetic passage {n}", "mode": "text"} for n in numbers]
    return [{**common, "query": f"passage number {n} of the synthetic set"} for n in numbers]


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """CPU time of the processes, and of the children the first one reaped already
    (PostgreSQL backends that ended since are counted in the postmaster's)."""
    total = 0.0
    for n, process in enumerate(processes):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
        if n == 0:
            total += times.children_user + times.children_system
    return total


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])


async def serve(data_dir: Path, workers: int) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    env = {**os.environ, "PGASK_DATA_DIR": str(data_dir), "PGASK_INGEST_WORKER": "false"}
    log = (data_dir / f"serve-{workers}.log").open("ab")
    pgask = Path(sys.executable).with_name("pgask")
    args = ["serve", "--port", str(port), "--workers", str(workers)]
    server = await asyncio.create_subprocess_exec(
        str(pgask), *args, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    await wait_ready(base, server, 180)
    return server, base


async def measure(
    base: str, server_pid: int, data_dir: Path, payload: list[dict[str, Any]], duration: float
) -> dict[str, Any]:
    servers, postgres = tree(server_pid), tree(postmaster_pid(data_dir))
    me = [psutil.Process()]
    before = [cpu_seconds(group) for group in (servers, postgres, me)]
    machine_before = psutil.cpu_times()
    result = await run_load(
        f"{base}/v1/search", payload, concurrency=CLIENTS, duration_s=duration, max_requests=10**9
    )
    postgres = tree(postmaster_pid(data_dir))  # backends come and go: count the ones now
    after = [cpu_seconds(group) for group in (servers, postgres, me)]
    machine_after = psutil.cpu_times()
    busy = sum(machine_after) - machine_after.idle - (sum(machine_before) - machine_before.idle)
    used = [a - b for a, b in zip(after, before, strict=True)]
    cpu = dict(zip(("pgask", "postgres", "loadgen"), used, strict=True))
    return {
        **result.summary(),
        "cpu_seconds": {**cpu, "machine_busy": busy},
        "latencies_ms": result.latencies_ms,
    }


async def main(args: Any) -> dict[str, Any]:
    rows = 2_000 if args.quick else 20_000
    duration = 3.0 if args.quick else 15.0
    data_dir = args.data_dir.with_name(args.data_dir.name + "-http")
    info = await preload(data_dir, rows)
    collection = f"{COLLECTION}-{rows}"
    kinds = ("vector", "text", "vector-by-text")
    payloads = {kind: bodies(collection, kind, rows) for kind in kinds}
    runs = []
    for rep in range(args.repetitions):
        for workers in WORKERS:
            server, base = await serve(data_dir, workers)
            try:
                for kind in kinds:
                    warm = payloads[kind]
                    await run_load(
                        f"{base}/v1/search", warm, concurrency=4, duration_s=1, max_requests=100
                    )
                    run = await measure(base, server.pid, data_dir, payloads[kind], duration)
                    runs.append({"repetition": rep, "workers": workers, "kind": kind, **run})
                    brief = {k: v for k, v in runs[-1].items() if k != "latencies_ms"}
                    print(brief, file=sys.stderr, flush=True)
            finally:
                server.terminate()
                await asyncio.wait_for(server.wait(), 60)
    return {
        "benchmark": "workers",
        "command": " ".join(["python", *sys.argv]),
        **info,
        "parameters": {
            "quick": args.quick,
            "rows": rows,
            "workers": WORKERS,
            "clients": CLIENTS,
            "duration_s_per_run": duration,
            "repetitions": args.repetitions,
            "kinds": kinds,
            "request": {"k": 10, "include_text": False},
            "server": "pgask serve --workers N, ingest worker off, embedded PostgreSQL",
        },
        "runs": runs,
        "ratios_2_over_1_workers": ratios(runs, kinds),
    }


def ratios(runs: list[dict[str, Any]], kinds: tuple[str, ...]) -> dict[str, float]:
    """Median req/s at 2 workers over the median at 1, per kind of query."""

    def rps(kind: str, workers: int) -> float:
        return median(
            r["throughput_rps"] for r in runs if (r["kind"], r["workers"]) == (kind, workers)
        )

    return {kind: round(rps(kind, 2) / rps(kind, 1), 3) for kind in kinds}


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    parsed = cli.parse_args()
    parsed.repetitions = parsed.repetitions or (1 if parsed.quick else 2)
    result = asyncio.run(main(parsed))
    print(write_result("workers", result, parsed.output), file=sys.stderr)
