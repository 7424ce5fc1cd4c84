"""Search benchmark (not run by CI). Writes bench/results/search.json.

1. Quality on ../shared/data/msmarco-5k (one passage = one chunk, external id = `_id`,
   embedded with the local model): exact numpy cosine, vector through HNSW, text, and the
   hybrid variants the defaults were chosen from.
2. Vector search latency (p50/p95) and recall@10 against exact numpy search on clustered
   synthetic vectors (`tests/search/conftest.py:clustered`, seed 42), at several
   `hnsw.ef_search` values, without and with a filter matching 1% of the rows.

    python bench/search.py [--quick] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector_async

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EMBEDDING_MODEL_PATH", str(SHARED / "models" / "all-MiniLM-L6-v2-onnx"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.catalog import create_collection, get_collection  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.db import migrate  # noqa: E402
from app.db.schema import (  # noqa: E402
    create_hnsw_index_sql,
    drop_hnsw_index_sql,
    embedding_column,
)
from app.embeddings import Embedder  # noqa: E402
from app.errors import NotFound  # noqa: E402
from app.search.beir import load_dataset  # noqa: E402
from app.search.evaluate import EVAL_DEPTH, evaluate  # noqa: E402
from app.search.metrics import evaluate_run  # noqa: E402
from app.search.service import (  # noqa: E402
    HybridOptions,
    Mode,
    SearchRequest,
    SearchTarget,
    ef_search_for,
    search,
)
from app.services import Services  # noqa: E402
from bench.common import passage_documents  # noqa: E402
from ingest.writer import ChunkRecord, DocumentRecord, Target, write_documents  # noqa: E402
from tests.search.conftest import clustered  # noqa: E402

MSMARCO = SHARED / "data" / "msmarco-5k"
SEED = 42
CLUSTERS, SPREAD = 100, 1.0


async def connect(services: Services) -> psycopg.AsyncConnection[Any]:
    dsn = services.db.url.render_as_string(hide_password=False).replace("+psycopg", "")
    conn = await psycopg.AsyncConnection.connect(dsn)
    await register_vector_async(conn)
    return conn


async def ensure_collection(services: Services, name: str) -> tuple[SearchTarget, bool]:
    async with services.db.owner_session() as session:
        try:
            found = await get_collection(session, name)
            return SearchTarget.of(found), False
        except NotFound:
            made = await create_collection(session, services.embedder, name=name)
            return SearchTarget.of(made), True


async def load_msmarco(services: Services, conn: psycopg.AsyncConnection[Any]) -> SearchTarget:
    target, created = await ensure_collection(services, "bench-msmarco-5k")
    if not created:
        return target
    rows = [json.loads(line) for line in (MSMARCO / "corpus.jsonl").open(encoding="utf-8")]
    started = time.perf_counter()
    for start in range(0, len(rows), 500):
        batch = rows[start : start + 500]
        vectors = await services.embedder.embed_documents([r["text"] for r in batch])
        docs = passage_documents(batch, vectors)
        await write_documents(conn, Target(target.collection_id, target.dimensions), docs)
    await conn.execute("ANALYZE chunks")
    await conn.commit()
    print(f"msmarco loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return target


async def exact_msmarco(
    conn: psycopg.AsyncConnection[Any], target: SearchTarget, embedder: Embedder
) -> dict[str, float]:
    """The reference: brute-force cosine over every passage, in numpy."""
    dataset = load_dataset(MSMARCO)
    cursor = await conn.execute(
        f"SELECT d.external_id, {embedding_column(target.vector_type, 'c')} FROM chunks c"
        " JOIN documents d ON d.id = c.document_id WHERE c.collection_id = %s",
        (target.collection_id,),
    )
    rows = await cursor.fetchall()
    ids = [r[0] for r in rows]
    matrix = np.stack([np.asarray(r[1].to_numpy(), dtype=np.float32) for r in rows])
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    queries = await embedder.embed_documents([dataset.queries[q] for q in dataset.judged])
    top = np.argsort(-(queries @ matrix.T), axis=1)[:, :EVAL_DEPTH]
    run = {q: [ids[i] for i in top[n]] for n, q in enumerate(dataset.judged)}
    return evaluate_run({q: dataset.qrels[q] for q in dataset.judged}, run)


def hybrid_variants(quick: bool) -> list[HybridOptions]:
    """Plain RRF, weighted RRF, and min-max score fusion at several depths and weights."""
    variants = [HybridOptions("rrf", 100, 1.0, 1.0), HybridOptions()]
    if quick:
        return variants
    variants += [HybridOptions("rrf", 100, 1.0, w) for w in (0.5, 0.3, 0.2, 0.1)]
    variants += [HybridOptions("rrf", 200, 1.0, 0.3)]
    variants += [HybridOptions("score", d, 0.7, 0.3) for d in (50, 100, 200, 300)]
    variants += [HybridOptions("score", 150, 1 - w, w) for w in (0.1, 0.2, 0.4, 0.5)]
    return variants


async def quality(services: Services, quick: bool) -> dict[str, Any]:
    conn = await connect(services)
    target = await load_msmarco(services, conn)
    dataset = load_dataset(MSMARCO)
    out: dict[str, Any] = {"exact numpy": await exact_msmarco(conn, target, services.embedder)}
    base = SearchRequest("vector", k=EVAL_DEPTH, include_text=False)
    runs: list[tuple[str, SearchRequest, Mode]] = [
        ("vector hnsw (default ef_search)", base, "vector"),
        ("text any-word (default)", base, "text"),
        ("text all-words", replace(base, any_word=False), "text"),
    ]
    for options in hybrid_variants(quick):
        label = (
            f"hybrid {options.fusion} depth={options.depth} "
            f"wv={options.vector_weight:g} wt={options.text_weight:g}"
        ) + (" (default)" if options == HybridOptions() else "")
        runs.append((label, replace(base, hybrid=options), "hybrid"))
    async with services.db.owner_session() as session:
        for label, template, mode in runs:
            scores = await evaluate(
                session, services.embedder, "bench-msmarco-5k", dataset, [mode], template=template
            )
            out[label] = scores[mode]
            print(f"{label}: {scores[mode]}", file=sys.stderr)
    await conn.close()
    return out


async def load_synthetic(
    services: Services, conn: psycopg.AsyncConnection[Any], n: int, vectors: np.ndarray
) -> tuple[SearchTarget, float | None]:
    """n chunks, 10 per document; document i has metadata bucket i % 100 (1% each)."""
    target, created = await ensure_collection(services, f"bench-synthetic-{n}")
    if not created:
        return target, None
    await conn.execute(drop_hnsw_index_sql(target.collection_id))
    docs = [
        DocumentRecord(
            f"doc-{i:06d}",
            content_hash=str(i),
            metadata={"bucket": i % 100},
            chunks=[ChunkRecord(j, "", 0, vectors[i * 10 + j]) for j in range(10)],
        )
        for i in range(n // 10)
    ]
    for start in range(0, len(docs), 1000):
        await write_documents(conn, Target(target.collection_id, 384), docs[start : start + 1000])
    started = time.perf_counter()
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute(create_hnsw_index_sql(target.collection_id, 384))
    await conn.execute("ANALYZE chunks")
    await conn.commit()
    return target, time.perf_counter() - started


async def measure(
    conn: psycopg.AsyncConnection[Any],
    target: SearchTarget,
    queries: np.ndarray,
    truth: list[set[int]],
    chunk_index: dict[int, int],
    request: SearchRequest,
) -> dict[str, Any]:
    latencies, recalls, counts = [], [], []
    for query, expected in zip(queries, truth, strict=True):
        started = time.perf_counter()
        hits = await search(conn, target, replace(request, vector=query))
        latencies.append((time.perf_counter() - started) * 1000)
        found = {chunk_index[h.chunk_id] for h in hits}
        recalls.append(len(found & expected) / len(expected))
        counts.append(len(hits))
    return {
        "p50_ms": float(np.percentile(latencies, 50)),
        "p95_ms": float(np.percentile(latencies, 95)),
        "recall@10": float(np.mean(recalls)),
        "min_results": min(counts),
        "latencies_ms": latencies,
    }


async def latency(services: Services, quick: bool) -> dict[str, Any]:
    n, q = (20_000, 50) if quick else (100_000, 200)
    points = clustered(n + q, clusters=CLUSTERS, seed=SEED, spread=SPREAD)
    vectors, queries = points[:n], points[n:]
    conn = await connect(services)
    target, build_s = await load_synthetic(services, conn, n, vectors)
    cursor = await conn.execute(
        "SELECT c.id, d.external_id, c.ordinal FROM chunks c JOIN documents d"
        " ON d.id = c.document_id WHERE c.collection_id = %s",
        (target.collection_id,),
    )
    chunk_index = {cid: int(ext[4:]) * 10 + o for cid, ext, o in await cursor.fetchall()}
    scores = queries @ vectors.T
    truth = [set(np.argsort(-s)[:10].tolist()) for s in scores]
    in_bucket = (np.arange(n) // 10) % 100 == 7
    filtered_scores = np.where(in_bucket, scores, -np.inf)
    filtered_truth = [set(np.argsort(-s)[:10].tolist()) for s in filtered_scores]
    out: dict[str, Any] = {"rows": n, "queries": q, "k": 10, "index_build_s": build_s}
    base = SearchRequest("vector", k=10, include_text=False)
    default_ef = ef_search_for(10)
    out[f"ef_search default for k=10 ({default_ef})"] = await measure(
        conn, target, queries, truth, chunk_index, base
    )
    for ef in (10, 20, 40, 80, 160, 320):
        out[f"ef_search={ef}"] = await measure(
            conn, target, queries, truth, chunk_index, replace(base, ef_search=ef)
        )
    bucket = replace(base, filter={"bucket": 7})
    out["filter 1%, default (exact below 2,000 rows)"] = await measure(
        conn, target, queries, filtered_truth, chunk_index, bucket
    )
    for ef in (40, 80, 160):
        # Without the count, the planner chooses: HNSW with iterative scan, or (pgvector's
        # cost estimate grows with ef_search) the GIN index and an exact sort.
        out[f"filter 1%, no count pre-check, ef_search={ef}"] = await measure(
            conn,
            target,
            queries,
            filtered_truth,
            chunk_index,
            replace(bucket, ef_search=ef, allow_exact=False),
        )
    await conn.close()
    for label, value in out.items():
        if isinstance(value, dict):
            brief = {k: v for k, v in value.items() if k != "latencies_ms"}
            print(f"{label}: {brief}", file=sys.stderr)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, fewer variants")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-search"))
    args = parser.parse_args()
    settings = load_settings(pgask_data_dir=args.data_dir, _env_file=None)
    services = await Services.start(settings)
    migrate.upgrade(services.db.url)
    try:
        results = {
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            },
            "versions": await versions(services),
            "parameters": {
                "quick": args.quick,
                "model": settings.embedding_model,
                "generator": "tests/search/conftest.py:clustered: unit vectors = centre + "
                "spread * N(0, 1) noise, normalised; queries are extra draws, not inserted",
                "seed": SEED,
                "clusters": CLUSTERS,
                "spread": SPREAD,
                "hnsw": {"m": 16, "ef_construction": 64},
            },
            "msmarco-5k": await quality(services, args.quick),
            "synthetic": await latency(services, args.quick),
        }
    finally:
        await services.close()
    path = ROOT / "bench" / "results" / ("search-quick.json" if args.quick else "search.json")
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {path}", file=sys.stderr)


async def versions(services: Services) -> dict[str, str]:
    conn = await connect(services)
    cursor = await conn.execute(
        "SELECT current_setting('server_version'),"
        " (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
    )
    row = await cursor.fetchone()
    await conn.close()
    assert row is not None
    return {"postgresql": row[0], "pgvector": row[1], "psycopg": psycopg.__version__}


if __name__ == "__main__":
    asyncio.run(main())
