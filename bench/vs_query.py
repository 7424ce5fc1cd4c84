"""Query benchmarks vs langchain-postgres and llama-index (not run by CI); writes
bench/results/vs-query.json.

On the same 100,000 x 384 synthetic collection in each system (bench/common.py: clustered
generator, seed 42; HNSW m=16, ef_construction=64), single client, top-10 by vector:

- unfiltered: p50/p95 latency and recall@10 against exact numpy search;
- filtered: metadata equality matching 1% (`b100`) and 0.1% (`b1000`) of rows: results
  returned (out of 10) and recall@10 against exact numpy search within the filter.

Each system runs at its defaults (pgask: ef_search = max(100, 4k) plus iterative scans and
exact search for selective filters; peers: 40, pgvector's default) and at the other's
ef_search (matched: pgask at 40, peers at 100). Systems alternate order across repetitions.
Tables are seeded by COPY plus each system's own index DDL (see bench/peers.py) and kept
for the next run; `--reload` rebuilds them.

    python bench/vs_query.py            # 100,000 rows, 200 queries, 2 repetitions
    python bench/vs_query.py --quick    # 5,000 rows, 20 queries, 1 repetition
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    GENERATOR,
    HNSW,
    SEED,
    exact_top_k,
    percentile,
    row_metadata,
    synthetic,
    write_result,
)
from bench.systems import System, opened
from bench.vs_load import parser

K = 10
FILTERS: dict[str, dict[str, int] | None] = {
    "none": None,
    "1%": {"b100": 7},
    "0.1%": {"b1000": 7},
}
# (label, ef_search) per system: None is the system's own default
VARIANTS = {
    "pgask": [("default (ef_search 100)", None), ("matched ef_search 40", 40)],
    "langchain": [("default (ef_search 40)", None), ("matched ef_search 100", 100)],
    "llamaindex": [("default (ef_search 40)", None), ("matched ef_search 100", 100)],
}


def truths(vectors: np.ndarray, queries: np.ndarray) -> dict[str, list[set[int]]]:
    out = {}
    for label, where in FILTERS.items():
        mask = None
        if where is not None:
            key, value = next(iter(where.items()))
            mask = np.array([row_metadata(i)[key] == value for i in range(len(vectors))])
        out[label] = exact_top_k(vectors, queries, K, mask)
    return out


async def measure(
    system: System, queries: np.ndarray, truth: list[set[int]], ef: int | None, where: Any
) -> dict[str, Any]:
    latencies, recalls, returned = [], [], []
    for query, expected in zip(queries, truth, strict=True):
        started = time.perf_counter()
        found = await system.query(query, K, ef, where)
        latencies.append((time.perf_counter() - started) * 1000)
        recalls.append(len(set(found) & expected) / max(1, len(expected)))
        returned.append(len(found))
    return {
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "recall@10": float(np.mean(recalls)),
        "mean_returned": float(np.mean(returned)),
        "min_returned": min(returned),
        "latencies_ms": latencies,
    }


async def prepare(system: System, table: str, vectors: np.ndarray, reload: bool) -> None:
    if reload or not await system.open(table, vectors.shape[1]):
        await system.drop(table)
        started = time.perf_counter()
        await system.seed(table, vectors)
        print(f"{system.name}: seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    for query in vectors[:5]:  # warm the connection and caches
        await system.query(query, K, None, None)


async def main(args: Any) -> dict[str, Any]:
    rows, count = (5_000, 20) if args.quick else (100_000, 200)
    vectors, queries = synthetic(rows, count, 384)
    truth = truths(vectors, queries)
    runs = []
    async with opened(args.systems, args.data_dir) as (systems, info):
        for system in systems:
            await prepare(system, f"bench7_query_{system.name}_{rows}", vectors, args.reload)
        for rep in range(args.repetitions):
            order = systems[rep % len(systems) :] + systems[: rep % len(systems)]
            for system in order:
                for label, ef in VARIANTS[system.name]:
                    for name, where in FILTERS.items():
                        result = await measure(system, queries, truth[name], ef, where)
                        run = {"repetition": rep, "system": system.name, "variant": label}
                        runs.append({**run, "filter": name, **result})
                        brief = {k: v for k, v in result.items() if k != "latencies_ms"}
                        print({**run, "filter": name, **brief}, file=sys.stderr, flush=True)
    return {
        "benchmark": "vs-query",
        "command": " ".join(["python", *sys.argv]),
        **info,
        "parameters": {
            "quick": args.quick,
            "rows": rows,
            "dimensions": 384,
            "queries": count,
            "k": K,
            "filters": FILTERS,
            "variants": VARIANTS,
            "systems": args.systems,
            "repetitions": args.repetitions,
            "generator": GENERATOR,
            "seed": SEED,
            "hnsw": HNSW,
        },
        "runs": runs,
        "summary": summary(runs),
    }


def summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per system, variant and filter: medians over repetitions."""
    keys = sorted({(r["system"], r["variant"], r["filter"]) for r in runs})
    out = []
    for s, v, f in keys:
        same = [r for r in runs if (r["system"], r["variant"], r["filter"]) == (s, v, f)]
        out.append(
            {
                "system": s,
                "variant": v,
                "filter": f,
                **{
                    m: float(np.median([r[m] for r in same]))
                    for m in ("p50_ms", "p95_ms", "recall@10", "mean_returned")
                },
                "min_returned": min(r["min_returned"] for r in same),
            }
        )
    return out


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    cli.add_argument("--reload", action="store_true", help="rebuild the tables")
    parsed = cli.parse_args()
    parsed.repetitions = parsed.repetitions or (1 if parsed.quick else 2)
    result = asyncio.run(main(parsed))
    print(write_result("vs-query", result, parsed.output), file=sys.stderr)
