r"""Sizing guide (not run by CI): measures, then writes docs/sizing.md and
bench/results/sizing.json.

For each configuration a fresh collection of N one-chunk documents is bulk loaded (pgask's
path: COPY, then the HNSW index m=16, ef_construction=64), with clustered synthetic vectors
(bench/common.py, seed 42) and, as chunk text, msmarco-5k passages taken in turn (so the
heap and the full-text GIN index grow like real text). Measured: heap bytes (growth of
`pg_table_size` of chunks + documents: TOAST, free space and visibility maps included), HNSW
bytes (the collection's index), GIN bytes (growth of the shared text index), build seconds,
vector query p50 and recall@10 against exact numpy search (100 queries, default
ef_search). The baseline of the ratios is the first configuration.

    python bench/sizing.py        # 10k and 100k x 384 vector, 10k and 100k x 1536 halfvec
    python bench/sizing.py --configs 10000x384:vector 100000x384:vector 1000000x384:vector \
        10000x1536:halfvec 100000x1536:halfvec      # with the long 1M run (~40 min)
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

from app.db.embedded import libpq_url
from app.db.schema import VectorType, hnsw_index_name
from app.search.service import SearchRequest, SearchTarget, search
from bench.common import (
    GENERATOR,
    MSMARCO,
    ROOT,
    SEED,
    Timer,
    connect,
    exact_top_k,
    percentile,
    synthetic,
    write_result,
)
from bench.halfvec import make
from bench.systems import opened_services
from ingest.writer import ChunkRecord, DocumentRecord, Target, build_index, write_documents

QUERIES = 100
DEFAULT_CONFIGS = [
    "10000x384:vector",
    "100000x384:vector",
    "10000x1536:halfvec",
    "100000x1536:halfvec",
]
# The parents are partitioned (no storage of their own): sum over their partitions, and over
# the partitions' indexes attached to the parent's full-text index. sum(bigint) is numeric,
# which psycopg gives as Decimal and json cannot write: cast back.
_SIZES = """
SELECT ((SELECT coalesce(sum(pg_table_size(relid)), 0) FROM pg_partition_tree('chunks'))
        + (SELECT coalesce(sum(pg_table_size(relid)), 0) FROM pg_partition_tree('documents'))
       )::bigint,
       (SELECT coalesce(sum(pg_relation_size(relid)), 0) FROM pg_partition_tree('chunks_tsv')
       )::bigint
"""


def config(text: str) -> tuple[int, int, VectorType]:
    size, storage = text.split(":")
    rows, dims = (int(x) for x in size.split("x"))
    if storage not in ("vector", "halfvec"):
        raise SystemExit(f"--configs: {storage!r} is not vector or halfvec")
    return rows, dims, "halfvec" if storage == "halfvec" else "vector"


async def measure(services: Any, rows: int, dims: int, storage: VectorType) -> dict[str, Any]:
    texts = [json.loads(line)["text"] for line in (MSMARCO / "corpus.jsonl").open()]
    vectors, queries = synthetic(rows, QUERIES, dims)
    collection = await make(services, f"sizing-{int(time.time())}-{rows}x{dims}", storage, dims)
    target = Target(collection.id, dims, vector_type=storage)
    async with await connect(libpq_url(services.db.url)) as conn:
        heap0, gin0 = await (await conn.execute(_SIZES)).fetchone() or (0, 0)
        with Timer() as write:
            for start in range(0, rows, 1000):
                await write_documents(
                    conn,
                    target,
                    [
                        DocumentRecord(
                            str(i), str(i), [ChunkRecord(0, texts[i % len(texts)], 60, vectors[i])]
                        )
                        for i in range(start, min(start + 1000, rows))
                    ],
                )
        # The collection was created with its index; rebuilding it once after the load
        # is what a bulk load does, and gives the build time.
        await conn.execute(f"DROP INDEX {hnsw_index_name(collection.id)}")
        with Timer() as build:
            await build_index(conn, target)
        heap1, gin1 = await (await conn.execute(_SIZES)).fetchone() or (0, 0)
        index = await (
            await conn.execute("SELECT pg_relation_size(%s)", (hnsw_index_name(collection.id),))
        ).fetchone()
        cursor = await conn.execute(
            "SELECT c.id, d.external_id::int FROM chunks c JOIN documents d"
            " ON d.collection_id = c.collection_id AND d.id = c.document_id"
            " WHERE c.collection_id = %s",
            (collection.id,),
        )
        row_of = dict(await cursor.fetchall())
        await conn.set_autocommit(False)
        truth = exact_top_k(vectors, queries, 10)
        latencies, recalls = [], []
        search_target = SearchTarget.of(collection)
        for query, expected in zip(queries, truth, strict=True):
            started = time.perf_counter()
            hits = await search(conn, search_target, SearchRequest("vector", k=10, vector=query))
            latencies.append((time.perf_counter() - started) * 1e3)
            recalls.append(len({row_of[h.chunk_id] for h in hits} & expected) / 10)
    return {
        "rows": rows,
        "dims": dims,
        "vector_type": storage,
        "heap_bytes": heap1 - heap0,
        "hnsw_bytes": (index or (0,))[0],
        "gin_bytes": gin1 - gin0,
        "write_s": write.seconds,
        "build_s": build.seconds,
        "p50_ms": percentile(latencies, 50),
        "recall@10": float(np.mean(recalls)),
        "latencies_ms": latencies,
    }


def markdown(runs: list[dict[str, Any]], command: str, info: dict[str, Any]) -> str:
    lines = [
        "# Sizing guide",
        "",
        f"Made by `{command}` on {info['machine']['cpus']} CPUs "
        f"(load average at start {info['machine']['load_average_at_start'][0]:.1f}); "
        "raw numbers and versions in bench/results/sizing.json. PostgreSQL "
        f"{info['versions'].get('postgresql')}.",
        "",
        "## Measured",
        "",
        "| chunks | dims | type | heap | HNSW (= RAM to keep it cached) | GIN | build s"
        " | p50 ms | recall@10 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        lines.append(
            f"| {r['rows']:,} | {r['dims']} | {r['vector_type']} | {r['heap_bytes'] / 1e6:.1f} MB"
            f" | {r['hnsw_bytes'] / 1e6:.1f} MB | {r['gin_bytes'] / 1e6:.1f} MB"
            f" | {r['build_s']:.1f} | {r['p50_ms']:.2f} | {r['recall@10']:.3f} |"
        )
    lines += [
        "",
        "## Per chunk, and extrapolated",
        "",
        "Bytes per chunk from the largest measured run of each shape; everything scales",
        "linearly in chunks (HNSW with m=16 keeps about 2m neighbour ids per vector at",
        "layer 0), so:",
        "",
        "    bytes ~ chunks * (heap/chunk + HNSW/chunk + GIN/chunk)",
        "",
        "| shape | heap/chunk | HNSW/chunk | GIN/chunk | 10M chunks | 100M chunks |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    largest: dict[tuple[int, str], dict[str, Any]] = {}
    for r in runs:
        key = (r["dims"], r["vector_type"])
        if key not in largest or r["rows"] > largest[key]["rows"]:
            largest[key] = r
    for (dims, storage), r in largest.items():
        per = [r[k] / r["rows"] for k in ("heap_bytes", "hnsw_bytes", "gin_bytes")]
        total = sum(per)
        lines.append(
            f"| {dims} {storage} (from {r['rows']:,}) | {per[0]:.0f} B | {per[1]:.0f} B"
            f" | {per[2]:.0f} B | {total * 1e7 / 1e9:.0f} GB | {total * 1e8 / 1e9:.0f} GB |"
        )
    lines += [
        "",
        "Assumptions: one chunk per document with msmarco-sized text (about 60",
        "words); metadata small; m=16; no bloat from updates (re-ingesting changed",
        "documents leaves dead rows until VACUUM). The HNSW index should fit in RAM",
        "(shared_buffers + page cache) for the measured latencies; building it needs",
        "maintenance_work_mem of about the index size to stay in memory (pgask asks for",
        "512 MB), and build time grows at least linearly with the chunks.",
        "Extrapolations beyond the measured sizes are estimates, not",
        "measurements."
        + (
            ""
            if any(r["rows"] >= 1_000_000 for r in runs)
            else " The 1,000,000-chunk run was not run for this version."
        ),
        "",
        "Caveats of these numbers: GIN bytes are the growth of the one full-text index all",
        "collections share, and the chunk texts repeat every 5,000 passages (and repeat the",
        "texts of earlier runs in the same database), so GIN per chunk is a lower bound for",
        "distinct real text. The runs share a loaded 2-core machine, so latencies are",
        "noisy; the 45 ms p50 of 1,536-dimension halfvec at 10,000 chunks was not",
        "investigated (its vectors are TOASTed at 6 KB; the index was built).",
        "",
    ]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    async with opened_services(args.data_dir, load_embedder=False) as (services, info):
        runs = []
        for text in args.configs:
            runs.append(await measure(services, *config(text)))
            print({k: v for k, v in runs[-1].items() if k != "latencies_ms"}, flush=True)
    command = " ".join(["python", *sys.argv])
    result = {
        "benchmark": "sizing",
        "command": command,
        **info,
        "parameters": {
            "queries": QUERIES,
            "seed": SEED,
            "generator": GENERATOR,
            "text": "msmarco-5k passages in turn",
            "hnsw": "m=16, ef=64",
        },
        "runs": runs,
    }
    print(write_result("sizing", result, args.output))
    (args.doc or ROOT / "docs" / "sizing.md").write_text(markdown(runs, command, info))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS, help="ROWSxDIMS:TYPE")
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-sizing"))
    p.add_argument("--output", type=Path, default=None)
    p.add_argument("--doc", type=Path, default=None, help="default docs/sizing.md")
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
