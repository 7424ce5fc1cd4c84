r"""Export/import benchmark (not run by CI); writes bench/results/transfer.json.

A collection of N one-chunk documents (bench/common.py clustered vectors, seed 42, loaded
through pgask's bulk-load path) is exported with `pgask export` and imported back with
`pgask import --as`, each a separate process whose peak resident memory GNU time reports
(`/usr/bin/time -f %M`, ru_maxrss). The import reports where its time went (`--json`:
decode, write, index, analyze seconds). Baselines measured in the same run: the peak RSS of
`pgask collections` (the CLI's own imports and a connection), and the bulk load that filled
the source collection (the ingest write path: binary COPY, then the index build), whole and
phase by phase.

    python bench/transfer.py                      # 100,000 x 384, 3 repetitions
    python bench/transfer.py --quick              # 2,000 x 384, 1 repetition
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import numpy.typing as npt

from app.catalog import create_collection, delete_collection
from app.db.embedded import libpq_url
from app.embeddings.base import ModelSpec
from app.services import Services
from bench.common import GENERATOR, SEED, connect, pgask_bulk_load, synthetic, write_result
from bench.systems import opened_services
from ingest.writer import Target

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def run_cli(args: list[str], database_url: str, scratch: Path) -> tuple[dict[str, float], Any]:
    """Run `pgask ARGS --json` to its end: seconds, peak RSS in MB and the command's own
    JSON report. GNU time reports the peak (ru_maxrss): measured from a fork of this
    process, it would start at this process's own size, which holds every vector (Linux
    keeps the pre-exec high-water mark)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGASK_")}
    env["DATABASE_URL"] = database_url
    report = scratch / "time.txt"
    command = ["/usr/bin/time", "-f", "%M", "-o", str(report)]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, sys.executable, "-m", "app", *args, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"pgask {' '.join(args)} failed with exit {done.returncode}")
    peak_mb = int(report.read_text().split()[-1]) / 1024
    return {"seconds": seconds, "peak_rss_mb": peak_mb}, json.loads(done.stdout)


async def bulk_load(
    services: Services, name: str, vectors: npt.NDArray[np.float32]
) -> dict[str, float]:
    """A new collection `name` filled through the ingest write path; its phase seconds."""
    dims = vectors.shape[1]
    async with services.db.owner_session() as session:
        collection = await create_collection(
            session, ModelSpec("local", MODEL, dims, 256), name=name
        )
    async with await connect(libpq_url(services.db.url)) as conn:
        target = Target(collection.id, dims)
        return await pgask_bulk_load(conn, target, vectors, maintenance_work_mem_mb=512)


async def main(args: argparse.Namespace) -> None:
    rows, dims = args.rows, args.dims
    vectors, _ = synthetic(rows, 0, dims)
    async with opened_services(args.data_dir, load_embedder=False) as (services, info):
        url = services.db.url.render_as_string(hide_password=False)
        name = f"transfer-{rows}x{dims}"
        source_load = await bulk_load(services, name, vectors)
        file = args.data_dir / f"{name}.parquet"
        runs = []
        for repetition in range(args.repetitions):
            baseline, _ = run_cli(["collections"], url, args.data_dir)
            exported, _ = run_cli(["export", name, "-o", str(file)], url, args.data_dir)
            copy = ["import", str(file), "--as", f"{name}-copy"]
            imported, report = run_cli(copy, url, args.data_dir)
            # The baseline beside each import, so both meet the same load on the machine.
            load = await bulk_load(services, f"{name}-bulk", vectors)
            async with services.db.owner_session() as session:
                await delete_collection(session, f"{name}-copy")
                await delete_collection(session, f"{name}-bulk")
            runs.append(
                {
                    "repetition": repetition,
                    "baseline_collections": baseline,
                    "export": exported | {"rows_per_s": rows / exported["seconds"]},
                    "import": imported | {"rows_per_s": rows / imported["seconds"]},
                    # seconds inside `import_collection`; decode overlaps write
                    "import_phases": report["seconds"],
                    "bulk_load": load | {"rows_per_s": rows / sum(load.values())},
                    "file_bytes": file.stat().st_size,
                }
            )
            print(runs[-1], flush=True)
        async with services.db.owner_session() as session:
            await delete_collection(session, name)

    def median(step: str, key: str) -> float:
        return statistics.median(r[step][key] for r in runs)

    summary = {
        **{f"import_{k}_s": median("import_phases", k) for k in runs[0]["import_phases"]},
        **{f"bulk_load_{k}": median("bulk_load", k) for k in runs[0]["bulk_load"]},
        "export_rows_per_s": median("export", "rows_per_s"),
        "import_rows_per_s": median("import", "rows_per_s"),
        "export_peak_rss_mb": max(r["export"]["peak_rss_mb"] for r in runs),
        "import_peak_rss_mb": max(r["import"]["peak_rss_mb"] for r in runs),
        "baseline_peak_rss_mb": median("baseline_collections", "peak_rss_mb"),
    }
    # The same COPY path and the same index build: how close import's parts come to them.
    summary["import_vs_bulk_load"] = summary["import_rows_per_s"] / summary["bulk_load_rows_per_s"]
    summary["import_write_vs_bulk_write"] = summary["bulk_load_write_s"] / summary["import_write_s"]
    summary["import_index_vs_bulk_index"] = summary["bulk_load_index_s"] / summary["import_index_s"]
    summary["export_rss_vs_baseline"] = (
        summary["export_peak_rss_mb"] / summary["baseline_peak_rss_mb"]
    )
    summary["import_rss_vs_baseline"] = (
        summary["import_peak_rss_mb"] / summary["baseline_peak_rss_mb"]
    )
    result: dict[str, Any] = {
        "benchmark": "transfer",
        "command": " ".join(["python", *sys.argv]),
        **info,
        "parameters": {
            "rows": rows,
            "dims": dims,
            "repetitions": args.repetitions,
            "quick": args.quick,
            "seed": SEED,
            "generator": GENERATOR,
            "source_bulk_load": source_load,
            "rss": "peak RSS of the pgask process: /usr/bin/time -f %M (ru_maxrss)",
        },
        "summary": summary,
        "runs": runs,
    }
    print(summary)
    print(write_result("transfer", result, args.output))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dims", type=int, default=384)
    p.add_argument("--repetitions", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="2,000 rows, 1 repetition")
    p.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-transfer"))
    p.add_argument("--output", type=Path, default=None)
    args = p.parse_args()
    if args.quick:
        args.rows, args.repetitions = 2_000, 1
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
