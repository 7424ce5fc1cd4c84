"""Parse-pool start: workers forked from the warm forkserver against spawned ones (not run
by CI): writes bench/results/parse-start.json.

Each repetition opens a `ParsePool` (2 workers, the default budget) of each start method,
order alternating, and parses ../shared/data/msmarco-5k/corpus.jsonl (5,000 passages, in
parts of 500 lines) through it: seconds to the first prepared document and to the last.
Both pools are opened in this one process, as `pgask serve` and `pgask worker` open one
per job, so after the first the forkserver is warm; a single `pgask ingest` pays its start
once (as it paid one spawn per worker). The 1-minute load average is recorded with each.

    python bench/parse_start.py [--repetitions 6]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MSMARCO, machine, package_versions, write_result
from ingest.parse_worker import FileInput
from ingest.parsing import FileBudget, ParsePool, workers_skip_main
from ingest.prepare import Chunking, Prepared

Method = Literal["spawn", "forkserver"]
METHODS: tuple[Method, Method] = ("spawn", "forkserver")
BUDGET = FileBudget(seconds=120, memory_mb=1024, workers=2)
CHUNKING = Chunking(256, 32)  # a collection's defaults


async def parse_once(corpus: Path, method: Method) -> dict[str, Any]:
    async def files() -> AsyncIterator[tuple[str, FileInput]]:
        yield "msmarco/corpus.jsonl", corpus

    loadavg, started = os.getloadavg()[0], time.perf_counter()
    first, documents = None, 0
    async with ParsePool(BUDGET, CHUNKING, start_method=method) as pool:
        async for item in pool.parse(files()):
            first = first or time.perf_counter() - started
            documents += isinstance(item, Prepared)
        seconds = time.perf_counter() - started
    return {
        "method": method,
        "load_average": loadavg,
        "first_document_seconds": first,
        "seconds": seconds,
        "documents": documents,
    }


async def main(repetitions: int) -> dict[str, Any]:
    corpus = MSMARCO / "corpus.jsonl"
    runs = []
    for rep in range(repetitions):
        for method in METHODS if rep % 2 == 0 else reversed(METHODS):
            run = {"repetition": rep, **await parse_once(corpus, method)}
            print(run, file=sys.stderr, flush=True)
            runs.append(run)
    medians = {
        method: {
            key: float(np.median([r[key] for r in runs if r["method"] == method]))
            for key in ("first_document_seconds", "seconds")
        }
        for method in METHODS
    }
    return {
        "benchmark": "parse-start",
        "command": f"python bench/parse_start.py --repetitions {repetitions}",
        "machine": machine(),
        "versions": package_versions(["pgask", "pebble", "tiktoken"]),
        "parameters": {"corpus": str(corpus), "workers": BUDGET.workers, "chunk_size": 256},
        "runs": runs,
        "medians": medians,
        "spawn_over_forkserver": medians["spawn"]["seconds"] / medians["forkserver"]["seconds"],
    }


if __name__ == "__main__":
    workers_skip_main()
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--repetitions", type=int, default=6)
    cli.add_argument("--output", type=Path, default=None)
    args = cli.parse_args()
    print(write_result("parse-start", asyncio.run(main(args.repetitions)), args.output))
