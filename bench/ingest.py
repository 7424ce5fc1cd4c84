"""Ingestion benchmark (not run by CI); writes bench/results/ingest.json.

1. End to end: the `pgask ingest` code path (`ingest.service.ingest_paths`) on
   ../shared/data/msmarco-5k/corpus.jsonl into a fresh collection with the local model,
   passages/s, against the embedding provider alone on the same chunk texts in the same run,
   in paired rounds over slices (order alternating) so both see the same machine load.
   Goal: pipeline >= 90% of embed-only.
2. The database write path alone with precomputed random unit vectors (100,000 x 384 and
   20,000 x 1536): bulk binary COPY into an empty collection, then the HNSW index build;
   rows/s including the index build.

    python bench/ingest.py            # full
    python bench/ingest.py --quick    # 1,000 passages, 10,000 x 384 and 2,000 x 1536
    python bench/ingest.py --passages 2000 --repetitions 1   # what docs/benchmarks/ingest.md
    reports

Uses DATABASE_URL when set, otherwise an embedded server in PGASK_DATA_DIR (or a temporary
folder). EMBEDDING_MODEL_PATH / TIKTOKEN_CACHE_DIR default to ../shared when present.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import MSMARCO, ROOT, connect, machine, package_versions, server_versions

CORPUS = MSMARCO / "corpus.jsonl"
if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("PGASK_DATA_DIR", tempfile.mkdtemp(prefix="pgask-bench-"))

import numpy as np  # noqa: E402

from app.catalog import create_collection, delete_collection  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.db import migrate  # noqa: E402
from app.db.embedded import database_url, libpq_url  # noqa: E402
from app.embeddings.base import ModelSpec  # noqa: E402
from app.services import Services  # noqa: E402
from ingest.batches import BATCH_CHUNKS  # noqa: E402
from ingest.chunker import chunk_blocks  # noqa: E402
from ingest.context import Ingestion  # noqa: E402
from ingest.files import load_named  # noqa: E402
from ingest.service import ingest_paths  # noqa: E402
from ingest.writer import (  # noqa: E402
    ChunkRecord,
    DocumentRecord,
    Target,
    build_index,
    drop_index,
    write_documents,
)


def _machine() -> dict[str, Any]:
    names = ("pgvector", "psycopg", "fastembed", "onnxruntime", "tiktoken", "numpy")
    return {**machine(), "packages": package_versions(names)}


async def _server_versions(services: Services) -> dict[str, str]:
    async with await connect(libpq_url(services.db.url)) as conn:
        return await server_versions(conn)


def _subset(passages: int, folder: Path) -> Path:
    path = folder / "corpus.jsonl"
    with CORPUS.open() as source, path.open("w") as target:
        for number, line in enumerate(source):
            if number >= passages:
                break
            target.write(line)
    return path


async def _fresh(services: Services, model: Any) -> Any:
    async with services.db.owner_session() as session:
        return await create_collection(session, model, name=f"bench-{uuid.uuid4().hex[:8]}")


async def _drop(services: Services, name: str) -> None:
    async with services.db.owner_session() as session:
        await delete_collection(session, name)


async def end_to_end(
    services: Services, corpus: Path, data: bytes, repetitions: int, slices: int
) -> dict[str, Any]:
    """Paired rounds: each slice of the corpus is ingested (fresh collection) and embedded
    alone back to back, the order alternating, so both see the same machine load."""
    embedder = services.embedder
    probe = await _fresh(services, embedder)
    documents, _ = load_named(corpus.name, data)
    size, overlap = probe.chunk_size, probe.chunk_overlap
    await _drop(services, probe.name)
    lines = data.split(b"\n")
    per_slice = -(-len(documents) // slices)
    await embedder.embed_documents(["warm-up"] * 64)  # ONNX session, thread pool

    runs = []
    for rep in range(repetitions):
        for number in range(slices):
            part = documents[number * per_slice : (number + 1) * per_slice]
            texts = [c.text for d in part for c in chunk_blocks(d.blocks, size, overlap)]
            path = corpus.with_name(f"slice{number}.jsonl")
            path.write_bytes(b"\n".join(lines[number * per_slice : (number + 1) * per_slice]))
            first = "pipeline" if (rep * slices + number) % 2 == 0 else "embed_only"
            run: dict[str, Any] = {"repetition": rep, "slice": number, "first": first}
            for kind in [first, *{"pipeline", "embed_only"} - {first}]:
                started = time.perf_counter()
                if kind == "embed_only":
                    for i in range(0, len(texts), BATCH_CHUNKS):
                        await embedder.embed_documents(texts[i : i + BATCH_CHUNKS])
                    run["embed_only_seconds"] = time.perf_counter() - started
                else:
                    collection = await _fresh(services, embedder)
                    report, _ = await ingest_paths(
                        Ingestion.of(services.db, services.settings), embedder, collection, [path]
                    )
                    run["pipeline_seconds"] = time.perf_counter() - started
                    await _drop(services, collection.name)
                    assert report.failed == 0, report.errors[:3]
                    run["passages"], run["chunks"] = report.added, report.chunks
            run["pipeline_vs_embed_only"] = run["embed_only_seconds"] / run["pipeline_seconds"]
            print(json.dumps(run), flush=True)
            runs.append(run)
    pipeline = sum(r["pipeline_seconds"] for r in runs)
    embed = sum(r["embed_only_seconds"] for r in runs)
    passages = sum(r["passages"] for r in runs)
    return {
        "passages": len(documents),
        "slices": slices,
        "runs": runs,
        "pipeline_passages_per_s": passages / pipeline,
        "embed_only_passages_per_s": passages / embed,
        "pipeline_vs_embed_only": embed / pipeline,
    }


async def write_path(services: Services, rows: int, dims: int, repetitions: int) -> dict[str, Any]:
    rng = np.random.default_rng(42)
    vectors = rng.standard_normal((rows, dims), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    documents = [
        DocumentRecord(
            external_id=f"r{i}",
            content_hash=str(i),
            chunks=[ChunkRecord(0, f"row {i}", 2, vectors[i])],
        )
        for i in range(rows)
    ]
    mem = services.settings.pgask_ingest_maintenance_work_mem_mb
    runs = []
    for rep in range(repetitions):
        collection = await _fresh(services, ModelSpec("bench", f"random-{dims}", dims))
        target = Target(collection.id, dims, collection.text_config)
        async with await connect(libpq_url(services.db.url)) as conn:
            started = time.perf_counter()
            await drop_index(conn, target)
            for i in range(0, rows, 1000):
                await write_documents(conn, target, documents[i : i + 1000])
            loaded = time.perf_counter()
            await build_index(conn, target, maintenance_work_mem_mb=mem)
            done = time.perf_counter()
        await _drop(services, collection.name)
        run = {
            "repetition": rep,
            "copy_seconds": loaded - started,
            "index_seconds": done - loaded,
            "total_seconds": done - started,
            "rows_per_s_copy": rows / (loaded - started),
            "rows_per_s_including_index": rows / (done - started),
        }
        print(json.dumps({"rows": rows, "dims": dims, **run}), flush=True)
        runs.append(run)
    return {"rows": rows, "dimensions": dims, "maintenance_work_mem_mb": mem, "runs": runs}


def _median(values: list[float]) -> float:
    return float(np.median(values))


async def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings()
    url = database_url(settings)
    migrate.upgrade(url)
    services = await Services.start(settings)
    try:
        passages = args.passages or (1000 if args.quick else 5000)
        sizes = [(10_000, 384), (2_000, 1536)] if args.quick else [(100_000, 384), (20_000, 1536)]
        with tempfile.TemporaryDirectory() as folder:
            corpus = _subset(passages, Path(folder))
            e2e = await end_to_end(
                services, corpus, corpus.read_bytes(), args.repetitions, args.slices
            )
        writes = [await write_path(services, n, d, args.repetitions) for n, d in sizes]
        server = await _server_versions(services)
    finally:
        await services.close()
    return {
        "benchmark": "ingest",
        "command": "python bench/ingest.py" + (" --quick" if args.quick else ""),
        "machine": {**_machine(), **server},
        "parameters": {
            "corpus": str(CORPUS.relative_to(ROOT.parent)),
            "passages": passages,
            "model": settings.embedding_model,
            "embedding_batch_size": settings.embedding_batch_size,
            "pipeline_batch_chunks": BATCH_CHUNKS,
            "repetitions": args.repetitions,
            "slices": args.slices,
        },
        "end_to_end": e2e,
        "write_path": writes,
        "summary": {
            "pipeline_passages_per_s": e2e["pipeline_passages_per_s"],
            "embed_only_passages_per_s": e2e["embed_only_passages_per_s"],
            "pipeline_vs_embed_only": e2e["pipeline_vs_embed_only"],
            "write_rows_per_s_including_index_median": {
                f"{w['rows']}x{w['dimensions']}": _median(
                    [r["rows_per_s_including_index"] for r in w["runs"]]
                )
                for w in writes
            },
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument("--repetitions", type=int, default=None)
    parser.add_argument("--passages", type=int, default=None, help="corpus lines to use")
    parser.add_argument("--slices", type=int, default=4, help="paired rounds per repetition")
    parsed = parser.parse_args()
    if parsed.repetitions is None:
        parsed.repetitions = 1 if parsed.quick else 2
    result = asyncio.run(main(parsed))
    out = ROOT / "bench" / "results" / "ingest.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
