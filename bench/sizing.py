r"""Sizing guide (not run by CI): measures, then writes docs/sizing.md and
bench/results/sizing.json.

For each configuration a fresh collection of N one-chunk documents is bulk loaded (pgask's
path: COPY, then the HNSW index m=16, ef_construction=64), with clustered synthetic vectors
(bench/common.py, seed 42) and, as chunk text, msmarco-5k passages taken in turn (so the
heap and the full-text GIN index grow like real text). Measured: heap bytes (growth of
`pg_table_size` of chunks + documents: TOAST, free space and visibility maps included), HNSW
bytes (the collection's index), GIN bytes (growth of the shared text index), build seconds,
vector query p50 and recall@10 against exact numpy search (100 queries, default
ef_search). Each run's load average is in the guide: build seconds and latencies are noisy
on a shared machine, sizes are not.

    python bench/sizing.py        # 10k and 100k x 384 vector, 10k and 100k x 1536 halfvec
    python bench/sizing.py --configs 1000000x384:vector --output bench/results/sizing-1m.json \
        --include bench/results/sizing.json      # the long 1M run (~35 min quiet), one guide
    python bench/sizing.py --configs --include A.json B.json   # the guide from earlier runs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import IngestionSettings
from app.db.embedded import libpq_url
from app.db.schema import VectorType, hnsw_index_name
from app.search.service import SearchRequest, SearchTarget, ef_search_for, search
from bench.common import (
    GENERATOR,
    MSMARCO,
    RESULTS,
    ROOT,
    SEED,
    Timer,
    connect,
    exact_top_k,
    percentile,
    synthetic,
    write_passages,
    write_result,
)
from bench.halfvec import make
from bench.systems import opened_services
from bench.textscale import guide_section
from ingest.writer import (
    Target,
    build_index,
    drop_index,
    end_bulk_load,
)

QUERIES = 100
# ef_search values measured: pgask's default for k=10 (None: max(100, 4k)), then more.
EF_SWEEP: tuple[int | None, ...] = (None, 200, 400, 1000)
QUICK_CONFIGS = ["2000x384:vector", "1000x1536:halfvec"]  # tests/bench/test_quick.py
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


async def measure(
    services: Any, rows: int, dims: int, storage: VectorType, build_mb: int
) -> dict[str, Any]:
    texts = [json.loads(line)["text"] for line in (MSMARCO / "corpus.jsonl").open()]
    vectors, queries = synthetic(rows, QUERIES, dims)
    collection = await make(services, f"sizing-{int(time.time())}-{rows}x{dims}", storage, dims)
    target = Target(collection.id, dims, vector_type=storage)
    async with await connect(libpq_url(services.db.url)) as conn:
        heap0, gin0 = await (await conn.execute(_SIZES)).fetchone() or (0, 0)
        # pgask's bulk load: the HNSW index dropped before the writes and built once after
        # (kept up row by row, the writes slowed from 950 to 350 rows/s towards 1M rows).
        await drop_index(conn, target)
        with Timer() as write:
            await write_passages(conn, target, texts, vectors)
        with Timer() as build:
            await build_index(conn, target, maintenance_work_mem_mb=build_mb)
        await end_bulk_load(conn, target)
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
        search_target = SearchTarget.of(collection)
        by_ef = {}
        for ef in EF_SWEEP:
            latencies, recalls = [], []
            for query, expected in zip(queries, truth, strict=True):
                request = SearchRequest("vector", k=10, vector=query, ef_search=ef)
                started = time.perf_counter()
                hits = await search(conn, search_target, request)
                latencies.append((time.perf_counter() - started) * 1e3)
                recalls.append(len({row_of[h.chunk_id] for h in hits} & expected) / 10)
            by_ef[ef or ef_search_for(10)] = (latencies, recalls)
    latencies, recalls = by_ef[ef_search_for(10)]
    return {
        "rows": rows,
        "dims": dims,
        "vector_type": storage,
        "heap_bytes": heap1 - heap0,
        "hnsw_bytes": (index or (0,))[0],
        "gin_bytes": gin1 - gin0,
        "write_s": write.seconds,
        "build_s": build.seconds,
        "maintenance_work_mem_mb": build_mb,
        "p50_ms": percentile(latencies, 50),
        "recall@10": float(np.mean(recalls)),
        "latencies_ms": latencies,
        "by_ef_search": {
            str(ef): {
                "p50_ms": percentile(lat, 50),
                "recall@10": float(np.mean(rec)),
                "latencies_ms": lat,
            }
            for ef, (lat, rec) in by_ef.items()
        },
    }


@dataclass(frozen=True)
class Source:
    """One invocation's results: its runs go into the guide, tagged with its letter."""

    tag: str
    command: str
    info: dict[str, Any]
    runs: list[dict[str, Any]]

    @classmethod
    def load(cls, tag: str, path: Path) -> Source:
        result = json.loads(path.read_text())
        info = {"machine": result["machine"], "versions": result["versions"]}
        return cls(tag, result["command"], info, result["runs"])


def markdown(sources: list[Source], text: dict[str, Any] | None = None) -> str:
    """The guide from sizing runs, with the text-scale section from a bench/textscale.py
    result when there is one."""
    lines = ["# Sizing guide", "", "Made by these runs of `bench/sizing.py` on this machine:", ""]
    for source in sources:
        machine = source.info["machine"]
        lines.append(
            f"- **{source.tag}**: `{source.command}`: {machine['cpus']} CPUs, load average at"
            f" start {machine['load_average_at_start'][0]:.1f}, PostgreSQL"
            f" {source.info['versions'].get('postgresql')}, pgvector"
            f" {source.info['versions'].get('pgvector')}."
        )
    runs = [(source.tag, r) for source in sources for r in source.runs]
    lines += [
        "",
        "Raw numbers, every latency and the versions are in the runs' bench/results files.",
        "",
        "## Measured",
        "",
        "| run | chunks | dims | type | heap | HNSW (= RAM to keep it cached) | GIN | build s"
        " (build memory) | p50 ms | recall@10 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for tag, r in runs:
        # Runs before the option was added built with pgask's default, 512 MB.
        build_mb = r.get("maintenance_work_mem_mb", 512)
        lines.append(
            f"| {tag} | {r['rows']:,} | {r['dims']} | {r['vector_type']}"
            f" | {r['heap_bytes'] / 1e6:.1f} MB | {r['hnsw_bytes'] / 1e6:.1f} MB"
            f" | {r['gin_bytes'] / 1e6:.1f} MB | {r['build_s']:.1f} ({build_mb} MB)"
            f" | {r['p50_ms']:.2f} | {r['recall@10']:.3f} |"
        )
    swept = [(tag, r) for tag, r in runs if "by_ef_search" in r]
    if swept:
        efs = sorted({int(ef) for _, r in swept for ef in r["by_ef_search"]})
        lines += [
            "",
            "## Recall against latency: ef_search",
            "",
            f"pgask searches with ef_search = max(100, 4k) ({ef_search_for(10)} for k = 10);"
            " a request",
            "may ask for more (`ef_search` in POST /v1/search, `pgask search --ef-search`),"
            " up to 1,000.",
            "These runs' vectors are generated (clusters of random unit vectors with Gaussian"
            " spread, not embeddings of text), and recall on them is lower than on real"
            " embeddings at the same ef_search (pgvector's issue #326 reports 0.945 at"
            " ef_search 40 on 1,000,000 real 1536-d embeddings, m=16, ef_construction=64),"
            " and the next section's embedding-like vectors reach 0.94 at 1,000,000 chunks"
            " at the default ef_search. Read these as the worst case.",
            "recall@10 / p50 ms at each:",
            "",
            "| run | chunks | dims | type | " + " | ".join(f"ef {ef}" for ef in efs) + " |",
            "| --- | --- | --- | --- | " + " | ".join("---" for _ in efs) + " |",
        ]
        for tag, r in swept:
            cells = []
            for ef in efs:
                m = r["by_ef_search"].get(str(ef))
                cells.append(f"{m['recall@10']:.3f} / {m['p50_ms']:.2f}" if m else "")
            lines.append(
                f"| {tag} | {r['rows']:,} | {r['dims']} | {r['vector_type']} | "
                + " | ".join(cells)
                + " |"
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
    for _, r in runs:
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
    million = any(r["rows"] >= 1_000_000 for _, r in runs)
    lines += [
        "",
        "Assumptions: one chunk per document with msmarco-sized text (about 60",
        "words); metadata small; m=16; no bloat from updates (re-ingesting changed",
        "documents leaves dead rows until VACUUM). The HNSW index should fit in RAM",
        "(shared_buffers + page cache) for the measured latencies; building it needs",
        "maintenance_work_mem of about the index size to stay in memory (pgask asks for",
        "PGASK_INGEST_MAINTENANCE_WORK_MEM_MB, default 512 MB: raise it above the HNSW",
        "column for collections past about 250,000 chunks of 384 dimensions, or the build",
        "spills to disk and slows down; the build memory of each run is in its row), and",
        "build time grows at least linearly with the chunks. Recall at a fixed ef_search",
        "falls as a collection grows (the ef_search table): a large collection needs",
        "requests with a larger `ef_search`, paid in latency.",
        "Extrapolations beyond the measured sizes are estimates, not measurements."
        + ("" if million else " No 1,000,000-chunk run is included."),
        "",
        "Caveats of these numbers: GIN bytes are the growth of the full-text index over",
        "the chunk texts, which repeat every 5,000 passages (and repeat the texts of",
        "earlier runs in the same database), so GIN per chunk is a lower bound for",
        "distinct real text. The machine is a shared 2-core one, so build seconds and",
        "latencies are noisy (see each run's load average); sizes are not.",
        "",
    ]
    if text is not None:
        lines += guide_section(text)
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    included = [Source.load(chr(ord("a") + i), path) for i, path in enumerate(args.include)]
    doc = args.doc or ROOT / "docs" / "sizing.md"
    textscale = json.loads(args.text.read_text()) if args.text.exists() else None
    if not args.configs:  # the guide from earlier runs only
        doc.write_text(markdown(included, textscale))
        return
    async with opened_services(args.data_dir, load_embedder=False) as (services, info):
        runs = []
        for text in args.configs:
            runs.append(await measure(services, *config(text), args.build_mb))
            print({k: v for k, v in runs[-1].items() if k != "latencies_ms"}, flush=True)
    command = " ".join(["python", *sys.argv])
    result = {
        "benchmark": "sizing",
        "command": command,
        **info,
        "parameters": {
            "quick": args.quick,
            "queries": QUERIES,
            "seed": SEED,
            "generator": GENERATOR,
            "text": "msmarco-5k passages in turn",
            "hnsw": "m=16, ef=64",
        },
        "runs": runs,
    }
    print(write_result("sizing", result, args.output))
    this = Source(chr(ord("a") + len(included)), command, info, runs)
    doc.write_text(markdown([*included, this], textscale))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--configs",
        nargs="*",
        default=None,
        help="ROWSxDIMS:TYPE (none: --include only)",
    )
    p.add_argument("--quick", action="store_true", help=f"configs {' '.join(QUICK_CONFIGS)}")
    p.add_argument(
        "--include",
        nargs="*",
        type=Path,
        default=[],
        help="results of earlier runs (bench/results/*.json) to put in the guide too",
    )
    p.add_argument(
        "--build-mb",
        type=int,
        default=IngestionSettings.model_fields["maintenance_work_mem_mb"].default,
        help="maintenance_work_mem of the HNSW builds (PGASK_INGEST_MAINTENANCE_WORK_MEM_MB;"
        " default pgask's)",
    )
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-sizing"))
    p.add_argument("--output", type=Path, default=None)
    p.add_argument("--doc", type=Path, default=None, help="default docs/sizing.md")
    p.add_argument(
        "--text",
        type=Path,
        default=RESULTS / "textscale.json",
        help="bench/textscale.py's result for the guide's text section (when it exists)",
    )
    args = p.parse_args()
    if args.configs is None:
        args.configs = QUICK_CONFIGS if args.quick else DEFAULT_CONFIGS
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
