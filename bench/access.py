"""Access-control benchmark (not run by CI). Writes bench/results/access.json.

100,000 one-chunk documents of clustered synthetic vectors (bench/common.py, seed 42); 1% of
them carry access group `team`, the rest `other`. The same 200 queries run, interleaved,
as an admin (unscoped: no row-level security), as a key of group `team` (sees 1%) and as a
key of group `other` (sees 99%), through `app.search.service.search` on one connection, each
in its own transaction that starts with `apply_principal` (its cost is included). The
collection is loaded once per data dir and reused by later runs. Reports
p50/p95 per principal and mode, the ratio to admin, and recall@10 against exact numpy search
over the rows each principal may see.

    python bench/access.py [--rows N] [--queries N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.access import Principal, apply_principal
from app.catalog import create_collection, get_collection
from app.config import load_settings
from app.db import migrate
from app.db.database import Database
from app.db.embedded import database_url, libpq_url
from app.embeddings.base import ModelSpec
from app.errors import NotFound
from app.search.service import SearchRequest, SearchTarget, search
from bench.common import (
    GENERATOR,
    HNSW,
    SEED,
    connect,
    exact_top_k,
    machine,
    package_versions,
    percentile,
    pgask_bulk_load,
    server_versions,
    synthetic,
    write_result,
)
from ingest.writer import Target

MINILM = ModelSpec("local", "sentence-transformers/all-MiniLM-L6-v2", 384, 256)
PRINCIPALS: dict[str, Principal | None] = {
    "admin": None,
    "scoped_1pct": Principal("team", "read", None, ("team",)),
    "scoped_99pct": Principal("other", "read", None, ("other",)),
}
K = 10


def team(rows: int) -> np.ndarray:
    mask: np.ndarray = np.arange(rows) % 100 == 0
    return mask


def group(row: int) -> list[str]:
    """1% of the rows are the team's, the rest the other group's."""
    return ["team"] if row % 100 == 0 else ["other"]


async def load(dsn: str, settings: Any, rows: int, vectors: np.ndarray) -> SearchTarget:
    """The benchmark's collection: loaded once per data dir, then reused."""
    db = await Database.open(settings)
    try:
        async with db.owner_session() as session:
            try:
                found = await get_collection(session, f"bench-access-{rows}")
                return SearchTarget(found.id, 384)
            except NotFound:
                collection = await create_collection(session, MINILM, name=f"bench-access-{rows}")
    finally:
        await db.dispose()
    conn = await connect(dsn)
    target = Target(collection.id, 384)
    await pgask_bulk_load(conn, target, vectors, maintenance_work_mem_mb=512, access=group)
    await conn.close()
    return SearchTarget(collection.id, 384)


async def run(dsn: str, target: SearchTarget, queries: np.ndarray, mode: Any) -> dict[str, Any]:
    conn = await connect(dsn)
    times: dict[str, list[float]] = {name: [] for name in PRINCIPALS}
    found: dict[str, list[set[int]]] = {name: [] for name in PRINCIPALS}
    try:
        for n, query in enumerate(queries):
            # Rotate the order so no principal always runs first (warm caches).
            names = list(PRINCIPALS)
            names = names[n % len(names) :] + names[: n % len(names)]
            for name in names:
                principal = PRINCIPALS[name]
                scoped = SearchTarget(target.collection_id, 384, restricted=principal is not None)
                request = SearchRequest(mode, k=K, query=f"passage {n}", vector=query)
                started = time.perf_counter()
                async with conn.transaction():
                    await apply_principal(conn, principal)
                    hits = await search(conn, scoped, request)
                times[name].append((time.perf_counter() - started) * 1000)
                found[name].append({int(h.external_id) for h in hits})
    finally:
        await conn.close()
    return {"times_ms": times, "found": found}


def summarise(
    measured: dict[str, Any], vectors: np.ndarray, queries: np.ndarray, with_recall: bool
) -> dict[str, Any]:
    masks = {"admin": None, "scoped_1pct": team(len(vectors)), "scoped_99pct": ~team(len(vectors))}
    admin_p50 = percentile(measured["times_ms"]["admin"], 50)
    out: dict[str, Any] = {}
    for name, times in measured["times_ms"].items():
        row: dict[str, Any] = {
            "p50_ms": round(percentile(times, 50), 2),
            "p95_ms": round(percentile(times, 95), 2),
            "p50_ratio_to_admin": round(percentile(times, 50) / admin_p50, 2),
            "fewest_hits": min(len(f) for f in measured["found"][name]),
            "repetitions_ms": [round(t, 3) for t in times],
        }
        if with_recall:
            truth = exact_top_k(vectors, queries, K, masks[name])
            hits = measured["found"][name]
            recall = [len(h & t) / K for h, t in zip(hits, truth, strict=True)]
            row["recall_at_10"] = round(float(np.mean(recall)), 4)
        out[name] = row
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-access"))
    args = parser.parse_args()
    settings = load_settings(pgask_data_dir=args.data_dir, _env_file=None)
    url = database_url(settings)
    migrate.upgrade(url)
    dsn = libpq_url(url)
    vectors, queries = synthetic(args.rows, args.queries, 384)
    target = await load(dsn, settings, args.rows, vectors)
    results: dict[str, Any] = {}
    for mode in ("vector", "hybrid"):
        measured = await run(dsn, target, queries, mode)
        results[mode] = summarise(measured, vectors, queries, with_recall=mode == "vector")
    async with await connect(dsn) as conn:
        versions = await server_versions(conn)
    write_result(
        "access",
        {
            "machine": machine(),
            "versions": {**versions, "python_packages": package_versions(["psycopg", "pgvector"])},
            "parameters": {
                "rows": args.rows,
                "queries": args.queries,
                "k": K,
                "seed": SEED,
                "generator": GENERATOR,
                "hnsw": HNSW,
                "access": "row % 100 == 0: ['team'] (1%), else ['other'] (99%)",
                "hybrid_query_text": "'passage <n>' (every row contains 'passage')",
            },
            "results": results,
        },
    )
    for mode, rows in results.items():
        for name, row in rows.items():
            summary = {k: v for k, v in row.items() if k != "repetitions_ms"}
            print(mode, name, summary)


if __name__ == "__main__":
    asyncio.run(main())
