r"""Load benchmark vs langchain-postgres and llama-index (not run by CI); writes
bench/results/vs-load.json.

N precomputed synthetic embeddings (bench/common.py: clustered generator, seed 42) with
text and metadata, through each system's public bulk-add API, ending with an HNSW index
(m=16, ef_construction=64, cosine) in place. rows/s per system (median over repetitions)
and the ratio pgask / peer. Systems alternate order across repetitions.

    python bench/vs_load.py                   # 20,000 and 100,000 x 384, 20,000 x 1,536;
                                              # peers on the first 20,000 rows of each
    python bench/vs_load.py --quick           # 2,000 x 384 and 1,000 x 1,536, 1 repetition
    python bench/vs_load.py --systems pgask   # without the peers (no `bench` extra needed)
    python bench/vs_load.py --sizes 100000x384 --peer-rows 0 --repetitions 1 \
        --output bench/results/vs-load-100k-full.json    # every system on all 100,000 rows

`--peer-rows N` (full default 20,000; 0 = all) loads the peers with only the first N rows of
each size (each run records `rows_loaded`), so the default run fits in 15 minutes here:
langchain inserts one row per statement, llama-index maintains the HNSW graph per insert,
so 100,000 rows take each of them several minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import GENERATOR, HNSW, SEED, Timer, synthetic, write_result
from bench.systems import SYSTEMS, opened

FULL_SIZES = [(20_000, 384), (100_000, 384), (20_000, 1536)]
QUICK_SIZES = [(2_000, 384), (1_000, 1536)]


def size(text: str) -> tuple[int, int]:
    """`20000x384` -> (rows, dimensions)"""
    rows, _, dims = text.partition("x")
    try:
        return int(rows), int(dims)
    except ValueError:
        message = f"expected ROWSxDIMS, e.g. 20000x384, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


async def one_size(
    systems: list[Any], rows: int, dims: int, repetitions: int, peer_rows: int | None
) -> dict[str, Any]:
    vectors, _ = synthetic(rows, 0, dims)
    runs = []
    for rep in range(repetitions):
        order = systems[rep % len(systems) :] + systems[: rep % len(systems)]
        for system in order:
            n = rows if system.name == "pgask" or not peer_rows else min(rows, peer_rows)
            table = f"bench7_load_{system.name}_{dims}"
            await system.drop(table)
            with Timer() as timer:
                await system.load(table, vectors[:n])
            await system.drop(table)
            run = {
                "repetition": rep,
                "system": system.name,
                "rows_loaded": n,
                "seconds": timer.seconds,
                "rows_per_s": n / timer.seconds,
            }
            if system.name == "pgask":
                run["phases"] = system.phases  # write / HNSW build / ANALYZE seconds
            print(run, file=sys.stderr, flush=True)
            runs.append(run)
    median = {
        s.name: statistics.median(r["rows_per_s"] for r in runs if r["system"] == s.name)
        for s in systems
    }
    ours = median.get("pgask")
    ratios = {f"pgask/{n}": ours / v for n, v in median.items() if n != "pgask" and ours}
    return {
        "rows": rows,
        "dimensions": dims,
        "runs": runs,
        "median_rows_per_s": median,
        "ratios": ratios,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    async with opened(args.systems, args.data_dir) as (systems, info):
        results = [
            await one_size(systems, n, d, args.repetitions, args.peer_rows) for n, d in sizes
        ]
    return {
        "benchmark": "vs-load",
        "command": " ".join(["python", *sys.argv]),
        **info,
        "parameters": {
            "quick": args.quick,
            "systems": args.systems,
            "repetitions": args.repetitions,
            "peer_rows": args.peer_rows,
            "generator": GENERATOR,
            "seed": SEED,
            "hnsw": HNSW,
        },
        "sizes": results,
    }


def parser(doc: str) -> argparse.ArgumentParser:
    """The options every vs_* benchmark takes."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    p.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    p.add_argument("--repetitions", type=int, default=None, help="default: 1 quick, 2 full")
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench7"))
    p.add_argument("--output", type=Path, default=None, help="default bench/results/<name>.json")
    return p


if __name__ == "__main__":
    cli = parser(__doc__)
    cli.add_argument("--peer-rows", type=int, default=None)
    cli.add_argument("--sizes", nargs="+", type=size, default=None, help="e.g. 20000x384")
    parsed = cli.parse_args()
    if parsed.peer_rows is None and not parsed.quick:
        parsed.peer_rows = 20_000
    parsed.repetitions = parsed.repetitions or (1 if parsed.quick else 2)
    result = asyncio.run(main(parsed))
    print(write_result("vs-load", result, parsed.output), file=sys.stderr)
