"""How often `pgask ingest`'s progress moves: one ingest of a real docs folder, recording
when each progress report arrives, and the longest wait between two changes of what the
bar counts. Baseline in the same run: the documents count, the only count the bar had
before it counted chunks as the embedder reports them (it moved once per written batch).

    python bench/progress_cadence.py [--folder ../shared/data/fastapi-docs/docs/tutorial]

Runs on the embedded PostgreSQL in `--data-dir`, into a new collection each time. Writes
bench/results/progress-cadence.json with the machine, versions, parameters and every report.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SHARED, machine, package_versions, write_result


def gaps(times: list[float], values: list[int]) -> list[float]:
    """Seconds between consecutive changes of `values` (from the first report on)."""
    changes = [times[i] for i in range(1, len(values)) if values[i] != values[i - 1]]
    marks = [times[0], *changes]
    return [round(b - a, 3) for a, b in itertools.pairwise(marks)]


def describe(values: list[float]) -> dict[str, float]:
    if not values:
        return {"changes": 0}
    return {
        "changes": len(values),
        "max_gap_s": max(values),
        "median_gap_s": statistics.median(values),
        "mean_gap_s": round(statistics.mean(values), 3),
    }


async def run(folder: Path, glob: str | None) -> dict[str, Any]:
    from app.catalog import create_collection
    from app.commands.common import started
    from app.config import get_settings
    from ingest.context import Ingestion
    from ingest.report import Progress
    from ingest.service import ingest_paths

    settings = get_settings()
    reports: list[tuple[float, int, int, int]] = []  # (s, documents, chunks embedded, written)
    async with started(settings, migrated=True) as services:
        ingestion = Ingestion.of(services.db, settings)
        async with services.db.owner_session() as session:
            name = f"cadence-{uuid.uuid4().hex[:8]}"
            collection = await create_collection(session, services.embedder, name=name)
        begun = time.perf_counter()

        def record(progress: Progress) -> None:
            now = time.perf_counter() - begun
            report = progress.report
            reports.append((now, report.documents, progress.embedded_chunks, report.chunks))

        report, _ = await ingest_paths(
            ingestion, services.embedder, collection, [folder], glob=glob, on_progress=record
        )
    times = [r[0] for r in reports]
    return {
        "collection": name,
        "documents": report.documents,
        "chunks": report.chunks,
        "seconds": round(report.seconds, 2),
        "embedding_batch_size": settings.embedding_batch_size,
        "now: chunks embedded": describe(gaps(times, [r[2] for r in reports])),
        "before: documents written": describe(gaps(times, [r[1] for r in reports])),
        "reports": reports,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = SHARED / "data" / "fastapi-docs" / "docs" / "tutorial"
    parser.add_argument("--folder", type=Path, default=default)
    parser.add_argument("--glob", default="*.md")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-progress"))
    parser.add_argument("--output", type=Path, help="default: bench/results/progress-cadence.json")
    options = parser.parse_args()
    os.environ.pop("DATABASE_URL", None)
    os.environ["PGASK_DATA_DIR"] = str(options.data_dir)
    host = machine()
    result = asyncio.run(run(options.folder, options.glob))
    for key in (
        "now: chunks embedded",
        "before: documents written",
    ):
        print(key, result[key])
    write_result(
        "progress-cadence",
        {
            "benchmark": "progress-cadence",
            "command": " ".join(["python", *sys.argv]),
            "machine": host | {"load_average_at_end": os.getloadavg()},
            "versions": package_versions(["fastembed", "onnxruntime"]),
            "parameters": {"folder": str(options.folder), "glob": options.glob},
            **result,
        },
        options.output,
    )


if __name__ == "__main__":
    main()
