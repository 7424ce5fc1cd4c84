r"""halfvec vs vector HNSW index benchmark (not run by CI); writes bench/results/halfvec.json.

The same vectors go into two collections that differ only in `vector_type`, the `vector`
one being the baseline of every ratio:

1. msmarco-5k (../shared/data/msmarco-5k, MiniLM embeddings): nDCG@10 and recall@10 of
   vector search through each index.
2. N clustered synthetic vectors (bench/common.py, seed 42) and 200 queries from the same
   generator: HNSW build seconds (pgask's bulk-load path), index bytes, heap bytes (the
   collection's documents and chunks partitions; halfvec chunks store 16-bit floats),
   recall@10 against exact numpy search, p50/p95 latency (`repetitions` interleaved passes).

Rule (issue 18): the default stays `vector` unless halfvec loses < 0.005 nDCG@10 and
< 0.005 recall@10.

    python bench/halfvec.py                  # 100,000 x 384, 3 query passes
    python bench/halfvec.py --quick          # 5,000 x 384, no msmarco, 1 pass
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.catalog import collection_stats, create_collection
from app.db.embedded import libpq_url
from app.db.models import Collection
from app.db.schema import VECTOR_TYPES, VectorType
from app.embeddings.base import ModelSpec
from app.search.beir import load_dataset
from app.search.evaluate import evaluate
from app.search.service import SearchRequest, SearchTarget, search
from app.services import Services
from bench.common import (
    GENERATOR,
    MSMARCO,
    SEED,
    connect,
    exact_top_k,
    passage_documents,
    percentile,
    pgask_bulk_load,
    synthetic,
    write_result,
)
from bench.systems import opened_services
from ingest.writer import Target, build_index, write_documents

QUERIES = 200


async def make(services: Services, name: str, storage: VectorType, dims: int) -> Collection:
    model = ModelSpec("local", "sentence-transformers/all-MiniLM-L6-v2", dims, 256)
    async with services.db.owner_session() as session:
        return await create_collection(session, model, name=name, vector_type=storage)


async def msmarco(services: Services, tag: str) -> dict[str, Any]:
    rows = [json.loads(line) for line in (MSMARCO / "corpus.jsonl").open(encoding="utf-8")]
    vectors = await services.embedder.embed_documents([r["text"] for r in rows])
    docs = passage_documents(rows, vectors)
    dataset = load_dataset(MSMARCO)
    out: dict[str, Any] = {}
    for storage in VECTOR_TYPES:
        collection = await make(services, f"halfvec-msmarco-{tag}-{storage}", storage, 384)
        target = Target(collection.id, 384, vector_type=storage)
        async with await connect(libpq_url(services.db.url)) as conn:
            for start in range(0, len(docs), 1000):
                await write_documents(conn, target, docs[start : start + 1000])
            await build_index(conn, target)
        async with services.db.owner_session() as session:
            scores = await evaluate(
                session, services.embedder, collection.name, dataset, ["vector"]
            )
        out[storage] = scores["vector"]
        print(storage, out[storage], file=sys.stderr, flush=True)
    return out


async def clustered(services: Services, rows: int, dims: int, passes: int, tag: str) -> Any:
    vectors, queries = synthetic(rows, QUERIES, dims)
    truth = exact_top_k(vectors, queries, 10)
    built: dict[str, dict[str, Any]] = {}
    targets: dict[str, tuple[SearchTarget, dict[int, int]]] = {}
    async with await connect(libpq_url(services.db.url)) as conn:
        for storage in VECTOR_TYPES:
            collection = await make(services, f"halfvec-{tag}-{storage}", storage, dims)
            target = Target(collection.id, dims, vector_type=storage)
            load = await pgask_bulk_load(conn, target, vectors, maintenance_work_mem_mb=512)
            async with services.db.owner_session() as session:
                disk = (await collection_stats(session, collection.name)).disk
            cursor = await conn.execute(
                "SELECT c.id, d.external_id::int FROM chunks c JOIN documents d"
                " ON d.id = c.document_id WHERE c.collection_id = %s",
                (collection.id,),
            )
            targets[storage] = (SearchTarget.of(collection), dict(await cursor.fetchall()))
            built[storage] = {"build": load, "disk": vars(disk), "latencies_ms": [], "recalls": []}
        await conn.set_autocommit(False)
        for _ in range(passes):  # interleaved, so load on the shared machine hits both
            for storage in VECTOR_TYPES:
                searched, row_of = targets[storage]
                for query, expected in zip(queries, truth, strict=True):
                    started = time.perf_counter()
                    hits = await search(conn, searched, SearchRequest("vector", k=10, vector=query))
                    built[storage]["latencies_ms"].append((time.perf_counter() - started) * 1e3)
                    found = {row_of[h.chunk_id] for h in hits}
                    built[storage]["recalls"].append(len(found & expected) / 10)
    for result in built.values():
        result["p50_ms"] = percentile(result["latencies_ms"], 50)
        result["p95_ms"] = percentile(result["latencies_ms"], 95)
        result["recall@10"] = float(np.mean(result["recalls"]))
        del result["recalls"]
    return built


async def main(args: argparse.Namespace) -> None:
    tag = f"{int(time.time())}"
    async with opened_services(args.data_dir, load_embedder=not args.quick) as (services, info):
        quality = {} if args.quick else await msmarco(services, tag)
        speed = await clustered(services, args.rows, args.dims, args.passes, tag)
    half, full = speed["halfvec"], speed["vector"]
    summary: dict[str, Any] = {
        "heap_bytes_ratio": half["disk"]["heap_bytes"] / full["disk"]["heap_bytes"],
        "index_bytes_ratio": half["disk"]["vector_index_bytes"]
        / full["disk"]["vector_index_bytes"],
        "build_seconds_ratio": half["build"]["index_s"] / full["build"]["index_s"],
        "p50_ratio": half["p50_ms"] / full["p50_ms"],
        "recall@10_loss": full["recall@10"] - half["recall@10"],
    }
    if quality:
        summary["ndcg@10_loss"] = quality["vector"]["ndcg@10"] - quality["halfvec"]["ndcg@10"]
        summary["default_halfvec_by_rule"] = (
            summary["ndcg@10_loss"] < 0.005 and summary["recall@10_loss"] < 0.005
        )
    result = {
        "benchmark": "halfvec",
        "command": " ".join(["python", *sys.argv]),
        **info,
        "parameters": {
            "rows": args.rows,
            "dims": args.dims,
            "queries": QUERIES,
            "passes": args.passes,
            "quick": args.quick,
            "seed": SEED,
            "generator": GENERATOR,
            "hnsw": "m=16, ef_construction=64, default ef_search",
        },
        "summary": summary,
        "msmarco": quality,
        "clustered": speed,
    }
    print(json.dumps(summary, indent=1))
    print(write_result("halfvec", result, args.output))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dims", type=int, default=384)
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="5,000 rows, no msmarco, 1 pass")
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-halfvec"))
    p.add_argument("--output", type=Path, default=None)
    args = p.parse_args()
    if args.quick:
        args.rows, args.passes = 5_000, 1
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
