"""Partitions per collection against the shared tables they replaced, in one run.

    PYTHONPATH=. python bench/partitions.py            # 100,000 x 384 (about 15 minutes)
    PYTHONPATH=. python bench/partitions.py --quick    # 2,000 x 384, for the test suite

The old layout is the code at OLD_COMMIT (one `chunks` table, a partial HNSW index per
collection), extracted with `git archive` into a temporary folder (the repository is not
touched); the new one is this tree. Each layout runs in a process of its own with its tree
first on PYTHONPATH, on a fresh embedded server, with the same data, in alternation
(old, new, old, new... for --repetitions), and measures:

- p50/p99 of a small `POST /v1/collections/B/documents` (one document with its vector, real
  HTTP to `pgask serve`) with nothing else running, then while collection A gets a bulk
  load (index dropped, binary COPY, HNSW build, ANALYZE), split by the phase the request
  started in (`write`, `build`);
- vector search on A: p50/p99 latency and recall@10 against exact neighbours, same queries
  in both layouts (after one untimed pass over them);
- deleting A (`app.catalog.delete_collection`), once autovacuum is done with the
  tables (the wait is recorded): seconds, and the dead tuples it left in documents and
  chunks (n_dead_tup, summed over the tables and their partitions).

Writes bench/results/partitions.json (every repetition, and new/old ratios of medians).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

OLD_COMMIT = "76986d2"
ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder comes first on sys.path, where bench/ingest.py would stand for
# the `ingest` package: the layout's tree (PYTHONPATH) must win.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path.pop(0)
DIMS = 384
MINILM = ("local", "sentence-transformers/all-MiniLM-L6-v2", DIMS, 256)
# Sizes: (rows in A, baseline POSTs, search queries)
FULL = (100_000, 200, 200)
QUICK = (2_000, 20, 20)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for tests")
    parser.add_argument("--repetitions", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument("--output", type=Path, default=ROOT / "bench/results/partitions.json")
    parser.add_argument("--old-tree", type=Path, default=None, help=f"default: {OLD_COMMIT}")
    # Internal: run one layout in this process (the tree to import is on PYTHONPATH).
    parser.add_argument("--layout", choices=["old", "new"], help=argparse.SUPPRESS)
    parser.add_argument("--layout-output", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---- the parent: one process per layout and repetition ------------------------------------


def old_tree(args: argparse.Namespace, scratch: Path) -> Path:
    if args.old_tree is not None:
        return args.old_tree
    tree = scratch / "old-tree"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "archive", OLD_COMMIT], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def run_layout(args: argparse.Namespace, layout: str, tree: Path, data_dir: Path) -> Any:
    out = data_dir / "result.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--layout", layout]
    command += ["--data-dir", str(data_dir), "--layout-output", str(out)]
    command += ["--quick"] if args.quick else []
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(command, env=env, check=True, cwd=tree)
    return json.loads(out.read_text())


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return (ordered[middle] + ordered[~middle]) / 2


def ratios(runs: list[dict[str, Any]]) -> dict[str, float]:
    """new / old of the medians over repetitions, for each headline figure."""
    keys = (
        "post_idle_p99_ms",
        "post_build_p99_ms",
        "delete_s",
        "dead_tuples_after_delete",
        "search_p50_ms",
        "recall@10",
    )
    out = {}
    for key in keys:
        old = median([r["headline"][key] for r in runs if r["layout"] == "old"])
        new = median([r["headline"][key] for r in runs if r["layout"] == "new"])
        out[key] = new / old if old else float("nan")
    return out


def parent(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.common import machine, package_versions, write_result

    with tempfile.TemporaryDirectory(prefix="pgask-partitions-") as scratch_name:
        scratch = Path(scratch_name)
        base = args.data_dir or scratch / "data"
        trees = {"old": old_tree(args, scratch), "new": ROOT}
        runs = []
        for rep in range(args.repetitions):
            for layout in ("old", "new"):
                data_dir = base / f"{layout}-{rep}"
                data_dir.mkdir(parents=True, exist_ok=True)
                print(f"repetition {rep + 1}: {layout} layout", file=sys.stderr, flush=True)
                result = run_layout(args, layout, trees[layout], data_dir)
                runs.append({"layout": layout, "repetition": rep + 1, **result})
    rows, posts, queries = QUICK if args.quick else FULL
    result = {
        "benchmark": "partitions",
        "command": " ".join(["python", "bench/partitions.py", *sys.argv[1:]]),
        "machine": machine(),
        "versions": {
            **runs[-1]["server_versions"],
            **package_versions(["psycopg", "pgvector", "fastapi", "uvicorn", "httpx"]),
            "old_layout": OLD_COMMIT,
        },
        "parameters": {
            "quick": args.quick,
            "rows": rows,
            "dimensions": DIMS,
            "baseline_posts": posts,
            "queries": queries,
            "repetitions": args.repetitions,
            "post": "one document with its 384-dim vector, sequential, one client",
        },
        "ratios_new_over_old": ratios(runs),
        "runs": runs,
    }
    print(json.dumps({"ratios_new_over_old": result["ratios_new_over_old"]}, indent=1))
    write_result("partitions", result, args.output)


# ---- one layout, in its own process -------------------------------------------------------


class Poster(threading.Thread):
    """Posts one small document at a time into collection B until stopped, recording each
    request's latency under the phase it started in."""

    def __init__(self, base: str, prefix: str, vectors: Any, phase: list[str]) -> None:
        super().__init__(daemon=True)
        self.url = f"{base}/v1/collections/B/documents"
        self.prefix = prefix  # new ids each time: every POST inserts one document
        self.vectors = vectors
        self.phase = phase
        self.latencies: dict[str, list[float]] = {}
        self.errors = 0
        self.stop = threading.Event()

    def post(self, client: Any, n: int) -> float:
        vector = [float(x) for x in self.vectors[n % len(self.vectors)]]
        document = {"id": f"{self.prefix}{n}", "text": f"small document {n}", "vector": vector}
        body = {"documents": [document]}
        started = time.perf_counter()
        response = client.post(self.url, json=body)
        elapsed = (time.perf_counter() - started) * 1e3
        if response.status_code != 200:
            self.errors += 1
        return elapsed

    def post_many(self, count: int) -> list[float]:
        import httpx

        with httpx.Client(timeout=900) as client:
            return [self.post(client, n) for n in range(count)]

    def run(self) -> None:
        import httpx

        with httpx.Client(timeout=900) as client:
            n = 0
            while not self.stop.is_set():
                phase = self.phase[0]
                self.latencies.setdefault(phase, []).append(self.post(client, n))
                n += 1


def summary(latencies: list[float]) -> dict[str, Any]:
    import numpy as np

    if not latencies:
        return {"count": 0}
    return {
        "count": len(latencies),
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "max_ms": max(latencies),
        "latencies_ms": latencies,
    }


async def serve(data_dir: Path) -> tuple[asyncio.subprocess.Process, str]:
    from bench.vs_http import free_port, wait_ready

    port = free_port()
    env = {**os.environ, "PGASK_DATA_DIR": str(data_dir), "PGASK_INGEST_WORKER": "false"}
    log = (data_dir / "serve.log").open("ab")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "serve", "--port", str(port), env=env, stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    await wait_ready(base, server, 180)
    return server, base


_AUTOVACUUM = """
SELECT count(*) FROM pg_stat_activity
WHERE backend_type = 'autovacuum worker' AND query ~ '(documents|chunks)'
"""
_DEAD = """
SELECT coalesce(sum(n_dead_tup), 0)::bigint FROM pg_stat_user_tables
WHERE relname IN ('documents', 'chunks') OR relname ~ '^(documents|chunks)_c[0-9]+$'
"""


async def dead_tuples(dsn: str) -> int:
    from bench.common import connect

    async with await connect(dsn) as conn:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        row = await (await conn.execute(_DEAD)).fetchone()
        return int(row[0]) if row else 0


async def settle(dsn: str, limit_s: float) -> float:
    """Wait (at most `limit_s`) for autovacuum to finish with documents and chunks after the
    load: a DROP (or the old layout's DROP INDEX) waits for an autovacuum worker on its
    table until deadlock_timeout cancels it, which would be timed as the delete. Returns
    the seconds waited."""
    from bench.common import connect

    started = time.perf_counter()
    async with await connect(dsn) as conn:
        await conn.set_autocommit(True)
        while time.perf_counter() - started < limit_s:
            row = await (await conn.execute(_AUTOVACUUM)).fetchone()
            if not row or row[0] == 0:
                break
            await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def bulk_load(dsn: str, target: Any, vectors: Any, phase: list[str]) -> dict[str, float]:
    """pgask's bulk path (bench/common.py pgask_bulk_load, whose ANALYZE call differs between
    the layouts), with the phase marked for the poster."""
    from bench.common import Timer, _write_rows, connect
    from ingest.writer import build_index, drop_index, end_bulk_load

    async with await connect(dsn) as conn:
        await conn.set_autocommit(True)
        await drop_index(conn, target)
        phase[0] = "write"
        with Timer() as write:
            await _write_rows(conn, target, vectors, lambda _row: [])
        phase[0] = "build"
        with Timer() as build:  # HNSW build and ANALYZE (build_index does both)
            await build_index(conn, target, maintenance_work_mem_mb=512)
        phase[0] = "done"
        await end_bulk_load(conn, target)
    return {"write_s": write.seconds, "build_and_analyze_s": build.seconds}


async def search_quality(dsn: str, collection: Any, vectors: Any, queries: Any) -> dict[str, Any]:
    import numpy as np

    from app.search.service import SearchRequest, SearchTarget, search
    from bench.common import connect, exact_top_k

    truth = exact_top_k(vectors, queries, 10)
    async with await connect(dsn) as conn:
        cursor = await conn.execute(
            "SELECT c.id, d.external_id::int FROM chunks c JOIN documents d"
            " ON d.id = c.document_id WHERE c.collection_id = %s AND d.collection_id = %s",
            (collection.id, collection.id),
        )
        row_of = dict(await cursor.fetchall())
        latencies, recalls = [], []
        target = SearchTarget.of(collection)
        for query in queries:  # a first pass reads the index into memory: not timed
            await search(conn, target, SearchRequest("vector", k=10, vector=query))
        for query, expected in zip(queries, truth, strict=True):
            started = time.perf_counter()
            hits = await search(conn, target, SearchRequest("vector", k=10, vector=query))
            latencies.append((time.perf_counter() - started) * 1e3)
            recalls.append(len({row_of[h.chunk_id] for h in hits} & expected) / 10)
    return {**summary(latencies), "recall@10": float(np.mean(recalls))}


def _catalog() -> Any:
    """The collections service: `app.catalog`, called `app.collections` in OLD_COMMIT's tree."""
    import importlib

    import app

    old = (Path(app.__file__).parent / "collections.py").is_file()
    return importlib.import_module("app.collections" if old else "app.catalog")


async def one_layout(args: argparse.Namespace) -> dict[str, Any]:
    catalog = _catalog()
    create_collection, delete_collection = catalog.create_collection, catalog.delete_collection
    from app.config import load_settings
    from app.db import migrate
    from app.db.database import Database
    from app.db.embedded import database_url, libpq_url
    from app.embeddings.base import ModelSpec
    from bench.common import Timer, connect, server_versions, synthetic
    from ingest.writer import Target

    rows, posts, n_queries = QUICK if args.quick else FULL
    settings = load_settings(pgask_data_dir=args.data_dir, _env_file=None)
    url = database_url(settings)
    migrate.upgrade(url)
    dsn = libpq_url(url)
    vectors, queries = synthetic(rows, n_queries, DIMS)
    db = Database(url, settings)
    # The old layout's code has one pool, which owned the tables (no `owner_session`).
    owner_session: Any = getattr(db, "owner_session", None) or db.session
    async with owner_session() as session:
        a = await create_collection(session, ModelSpec(*MINILM), name="A")
        await create_collection(session, ModelSpec(*MINILM), name="B")
    server, base = await serve(args.data_dir)
    try:
        phase = ["idle"]
        idle = Poster(base, "idle-", vectors, phase)
        idle.latencies["idle"] = await asyncio.to_thread(idle.post_many, posts)
        poster = Poster(base, "load-", vectors[::-1], phase)
        poster.start()
        load = await bulk_load(dsn, Target(a.id, DIMS), vectors, phase)
        poster.stop.set()
        await asyncio.to_thread(poster.join)
    finally:
        server.terminate()
        await server.wait()
    searched = await search_quality(dsn, a, vectors, queries)
    waited = await settle(dsn, 30 if args.quick else 180)
    dead_before = await dead_tuples(dsn)
    async with owner_session() as session:
        with Timer() as deleting:
            await delete_collection(session, "A")
    await db.dispose()  # the deleting backend exits: its statistics are flushed
    await asyncio.sleep(1.5)
    dead_after = await dead_tuples(dsn)
    async with await connect(dsn) as conn:
        versions = await server_versions(conn)
    during = {p: summary(v) for p, v in poster.latencies.items()}
    return {
        "server_versions": versions,
        "post_idle": summary(idle.latencies["idle"]),
        "post_during_load": during,
        "post_errors": idle.errors + poster.errors,
        "load": load,
        "search": searched,
        "delete_s": deleting.seconds,
        "waited_for_autovacuum_before_delete_s": waited,
        "dead_tuples_before_delete": dead_before,
        "dead_tuples_after_delete": dead_after,
        "headline": {
            "post_idle_p99_ms": summary(idle.latencies["idle"])["p99_ms"],
            "post_build_p99_ms": during.get("build", {}).get("p99_ms", 0.0),
            "delete_s": deleting.seconds,
            "dead_tuples_after_delete": dead_after,
            "search_p50_ms": searched["p50_ms"],
            "recall@10": searched["recall@10"],
        },
    }


def main() -> None:
    args = parse_args()
    if args.layout is None:
        parent(args)
        return
    result = asyncio.run(one_layout(args))
    args.layout_output.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
