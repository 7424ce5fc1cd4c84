r"""Vectors in the row or in TOAST (migration 0007; not run by CI): writes
bench/results/storage.json.

pgvector's types default to storage EXTERNAL: a chunk row over 2 kB has its vector moved to
TOAST. Since 0007 the vector columns are MAIN (the text and tsvector go first). For each
shape, two fresh collections get the same rows (msmarco-5k passages in turn, clustered
synthetic vectors, seed 42, metadata `b` = row % 8): one as pgask makes it now (MAIN), one
whose chunks partition is set back to EXTERNAL before its rows are written (the layout
before 0007). Measured, in the same run: the share of vectors in TOAST, table bytes
(TOAST included), write seconds, and p50 of vector searches without a filter (the HNSW
index, or whatever plan PostgreSQL prefers) and with a filter matching 1/8 of the rows
(under pgask's 2,000-row bound: the exact scan). The collections alternate per repetition.

    python bench/storage.py                      # 10,000 x 384 vector, 10,000 x 1536 halfvec
    python bench/storage.py --quick              # 1,000 rows, 1 repetition
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.db.embedded import libpq_url
from app.db.schema import VectorType, embedding_column, partition_name
from app.search.service import SearchRequest, SearchTarget, search
from bench.common import (
    MSMARCO,
    SEED,
    Timer,
    connect,
    percentile,
    synthetic,
    write_passages,
    write_result,
)
from bench.halfvec import make
from bench.systems import opened_services
from ingest.writer import Target, build_index

SHAPES: list[tuple[int, VectorType]] = [(384, "vector"), (1536, "halfvec")]
QUERIES = 40
WARM_UP = 5  # queries run before the timed ones (caches)
BUCKETS = 8  # metadata `b` = row % 8: a filter on one value keeps 1/8 of the rows


async def one(
    services: Any, texts: list[str], rows: int, dims: int, kind: VectorType, storage: str
) -> dict[str, Any]:
    vectors, queries = synthetic(rows, QUERIES + WARM_UP, dims)
    collection = await make(services, f"storage-{uuid.uuid4().hex[:8]}", kind, dims)
    target = Target(collection.id, dims, vector_type=kind)
    column, partition = embedding_column(kind), partition_name("chunks", collection.id)
    async with await connect(libpq_url(services.db.url)) as conn:
        await conn.execute(f"ALTER TABLE {partition} ALTER COLUMN {column} SET STORAGE {storage}")
        with Timer() as write:
            await write_passages(conn, target, texts, vectors, lambda i: {"b": i % BUCKETS})
        await build_index(conn, target)  # exists already: only ANALYZE
        cursor = await conn.execute(
            f"SELECT avg((pg_column_toast_chunk_id({column}) IS NOT NULL)::int)::float,"
            f" pg_table_size('{partition}') FROM {partition}"
        )
        toasted, table_bytes = await cursor.fetchone() or (0.0, 0)
        await conn.set_autocommit(False)
        latencies: dict[str, list[float]] = {}
        for name, where in (("unfiltered", None), ("filtered_exact", {"b": 3})):
            times = []
            for query in queries:
                request = SearchRequest("vector", k=10, vector=query, filter=where)
                started = time.perf_counter()
                await search(conn, SearchTarget.of(collection), request)
                times.append((time.perf_counter() - started) * 1e3)
            latencies[name] = times[WARM_UP:]
    return {
        "storage": storage,
        "toasted_share": toasted,
        "table_bytes": table_bytes,
        "write_s": write.seconds,
        **{f"{name}_p50_ms": percentile(times, 50) for name, times in latencies.items()},
        "latencies_ms": latencies,
    }


async def main(args: argparse.Namespace) -> None:
    texts = [json.loads(line)["text"] for line in (MSMARCO / "corpus.jsonl").open()]
    results = []
    async with opened_services(args.data_dir, load_embedder=False) as (services, info):
        for dims, kind in SHAPES:
            runs = []
            for rep in range(args.repetitions):
                order = ("MAIN", "EXTERNAL") if rep % 2 == 0 else ("EXTERNAL", "MAIN")
                run = {s: await one(services, texts, args.rows, dims, kind, s) for s in order}
                runs.append(run)
                brief = {
                    s: {k: v for k, v in r.items() if k != "latencies_ms"} for s, r in run.items()
                }
                print(json.dumps({"dims": dims, "type": kind, **brief}), flush=True)
            results.append({"dims": dims, "vector_type": kind, "runs": runs, **ratios(runs)})
    result = {
        "benchmark": "storage",
        "command": " ".join(["python", *sys.argv]),
        **info,
        "parameters": {
            "quick": args.quick,
            "rows": args.rows,
            "repetitions": args.repetitions,
            "queries": QUERIES,
            "warm_up": WARM_UP,
            "seed": SEED,
            "filter": f"metadata b = 3 of row % {BUCKETS}",
        },
        "shapes": results,
    }
    print(write_result("storage", result, args.output))


def ratios(runs: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Medians over the repetitions of MAIN / EXTERNAL."""
    keys = ("toasted_share", "table_bytes", "write_s", "unfiltered_p50_ms", "filtered_exact_p50_ms")
    medians = {
        s: {k: float(np.median([r[s][k] for r in runs])) for k in keys}
        for s in ("MAIN", "EXTERNAL")
    }
    return {
        "median": medians,
        "main_over_external": {
            k: medians["MAIN"][k] / medians["EXTERNAL"][k] for k in keys if medians["EXTERNAL"][k]
        },
    }


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help="default 10,000 (quick 1,000)")
    p.add_argument("--repetitions", type=int, default=None, help="default 3 (quick 1)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-storage"))
    p.add_argument("--output", type=Path, default=None)
    args = p.parse_args()
    args.rows = args.rows or (1000 if args.quick else 10_000)
    args.repetitions = args.repetitions or (1 if args.quick else 3)
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
