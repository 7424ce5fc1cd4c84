"""Shared parts of the benchmarks: paths and environment, machine and version info, the
synthetic data generator, exact ground truth, pgask's bulk load, and result files.

Importing this module sets the offline model/tiktoken paths from ../shared when present
(setdefault: an explicit environment wins) and puts the repository root on sys.path.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector.psycopg import register_vector_async

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RESULTS = ROOT / "bench" / "results"
MSMARCO = SHARED / "data" / "msmarco-5k"
if (SHARED / "models" / "all-MiniLM-L6-v2-onnx").is_dir():
    os.environ.setdefault("EMBEDDING_MODEL_PATH", str(SHARED / "models/all-MiniLM-L6-v2-onnx"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
if (SHARED / "tiktoken").is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED / "tiktoken"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest.writer import (  # noqa: E402
    ChunkRecord,
    DocumentRecord,
    Target,
    analyze_chunks,
    build_index,
    drop_index,
    end_bulk_load,
    write_documents,
)
from tests.search.conftest import clustered  # noqa: E402

SEED = 42
CLUSTERS, SPREAD = 100, 1.0
GENERATOR = (
    "tests/search/conftest.py:clustered: unit vectors = random centre + spread * N(0, 1) "
    "noise, normalised; queries are extra draws from the same generator, not inserted"
)
HNSW: dict[str, Any] = {"m": 16, "ef_construction": 64, "ops": "vector_cosine_ops"}
#: rows in a pgask write transaction (bench/ingest.py's write path uses the same)
WRITE_BATCH = 1000


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
    }


def package_versions(names: Sequence[str]) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


async def connect(dsn: str) -> psycopg.AsyncConnection[Any]:
    """An autocommit psycopg connection with pgvector registered."""
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    await register_vector_async(conn)
    return conn


async def server_versions(conn: psycopg.AsyncConnection[Any]) -> dict[str, str]:
    cursor = await conn.execute(
        "SELECT current_setting('server_version'),"
        " (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
    )
    row = await cursor.fetchone()
    return {"postgresql": row[0], "pgvector": row[1]} if row else {}


async def table_rows(dsn: str, table: str) -> int:
    """Rows in a peer's table; 0 when it does not exist."""
    async with await connect(dsn) as conn:
        cursor = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
        if not (await cursor.fetchone() or (False,))[0]:
            return 0
        # DDL-style identifier from our own constant table names, quoted.
        cursor = await conn.execute(f'SELECT count(*) FROM "{table}"')
        return int((await cursor.fetchone() or (0,))[0])


async def copy_rows(dsn: str, table: str, columns: Sequence[str], rows: Any) -> None:
    """COPY rows into a peer's table (query benchmarks only: seeding, not the peer's API)."""
    names = ", ".join(f'"{c}"' for c in columns)
    async with (
        await connect(dsn) as conn,
        conn.cursor() as cur,
        cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            await copy.write_row(row)


async def drop_table(dsn: str, table: str) -> None:
    async with await connect(dsn) as conn:
        await conn.execute(f'DROP TABLE IF EXISTS "{table}"')


def synthetic(rows: int, queries: int, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, queries) unit vectors from the clustered generator, seed SEED."""
    points = clustered(rows + queries, dims=dims, clusters=CLUSTERS, seed=SEED, spread=SPREAD)
    return points[:rows], points[rows:]


def row_text(i: int) -> str:
    return f"synthetic passage {i}"


def row_metadata(i: int) -> dict[str, int]:
    """`b100` matches 1% of rows per value, `b1000` 0.1%."""
    return {"b100": i % 100, "b1000": i % 1000}


def exact_top_k(
    vectors: npt.NDArray[np.float32],
    queries: npt.NDArray[np.float32],
    k: int,
    mask: npt.NDArray[np.bool_] | None = None,
) -> list[set[int]]:
    """Row numbers of the k nearest rows by cosine (unit vectors: dot product), in numpy,
    among the rows `mask` keeps (fewer than k when fewer match)."""
    scores = queries @ vectors.T
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = [np.argsort(-s)[:k] for s in scores]
    return [{int(i) for i in t if np.isfinite(s[i])} for t, s in zip(top, scores, strict=True)]


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q))


async def pgask_bulk_load(
    conn: psycopg.AsyncConnection[Any],
    target: Target,
    vectors: npt.NDArray[np.float32],
    *,
    maintenance_work_mem_mb: int,
    access: Callable[[int], list[str]] = lambda _row: [],
) -> dict[str, float]:
    """pgask's ingest write path for a large first load: drop the collection's HNSW index,
    binary COPY one-chunk documents in transactions of WRITE_BATCH, build the index
    (m=16, ef_construction=64) with more maintenance memory, ANALYZE. `access(row)` gives
    each document's access groups. Returns the seconds each phase took."""
    await drop_index(conn, target)
    with Timer() as write:
        await _write_rows(conn, target, vectors, access)
    with Timer() as index:
        await build_index(
            conn, target, maintenance_work_mem_mb=maintenance_work_mem_mb, analyze=False
        )
    with Timer() as analyze:
        await analyze_chunks(conn, target.collection_id)
    await end_bulk_load(conn, target)
    return {"write_s": write.seconds, "index_s": index.seconds, "analyze_s": analyze.seconds}


async def _write_rows(
    conn: psycopg.AsyncConnection[Any],
    target: Target,
    vectors: npt.NDArray[np.float32],
    access: Callable[[int], list[str]],
) -> None:
    for start in range(0, len(vectors), WRITE_BATCH):
        docs = [
            DocumentRecord(
                external_id=str(i),
                content_hash=str(i),
                metadata=row_metadata(i),
                access=access(i),
                chunks=[ChunkRecord(0, row_text(i), 3, vectors[i])],
            )
            for i in range(start, min(start + WRITE_BATCH, len(vectors)))
        ]
        await write_documents(conn, target, docs)


def write_result(name: str, result: dict[str, Any], path: Path | None = None) -> Path:
    """bench/results/<name>.json, or `path` (tests write elsewhere)."""
    path = path or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


class Timer:
    """`with Timer() as t: ...; t.seconds`"""

    seconds: float = 0.0

    def __enter__(self) -> Timer:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started


async def write_passages(
    conn: psycopg.AsyncConnection[Any],
    target: Target,
    texts: Sequence[str],
    vectors: npt.NDArray[np.float32],
    metadata: Callable[[int], dict[str, Any]] = lambda _row: {},
) -> None:
    """One-chunk documents `0`..`n-1`, row i with `texts` taken in turn and `metadata(i)`,
    through pgask's write path in transactions of WRITE_BATCH."""
    for start in range(0, len(vectors), WRITE_BATCH):
        await write_documents(
            conn,
            target,
            [
                DocumentRecord(
                    str(i),
                    str(i),
                    [ChunkRecord(0, texts[i % len(texts)], 60, vectors[i])],
                    metadata=metadata(i),
                )
                for i in range(start, min(start + WRITE_BATCH, len(vectors)))
            ],
        )


def passage_documents(rows: list[dict[str, Any]], vectors: Any) -> list[DocumentRecord]:
    """BEIR corpus rows (`_id`, `title`, `text`) as one-chunk documents with their vectors."""
    return [
        DocumentRecord(
            str(r["_id"]),
            content_hash=str(r["_id"]),
            title=r.get("title") or "",
            chunks=[ChunkRecord(0, r["text"], len(r["text"].split()), v)],
        )
        for r, v in zip(rows, vectors, strict=True)
    ]
