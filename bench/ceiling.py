"""Ingest ceiling (issue 19; not run by CI): writes bench/results/ceiling.json.

How fast pgask ingests when embedding costs nothing, against its own write path alone:

1. instant: `ingest.service.ingest_paths` (parse workers, hash lookups, batching, COPY,
   index) on ../shared/data/msmarco-5k/corpus.jsonl and on a generated corpus of 100,000
   passages (msmarco passages repeated with new ids and a numbered suffix) into a fresh
   collection, with `bench.instant.InstantEmbedder` (random unit vectors at once); and, in
   the same repetition (order alternating), the write path alone on the same rows (the
   chunks that run stored, with random vectors): binary COPY into `chunks` through
   `ingest.writer.write_documents` in batches of BATCH_CHUNKS, HNSW index and ANALYZE
   after. Chunks/s of each (wall time, parse-pool start included), their ratio, and the
   pipeline's stages (`Report.stages`: busy and waiting seconds of prepare, embed, write,
   index).
2. http_vectors: `pgask serve` in a subprocess, `POST /v1/collections/{c}/documents` with
   precomputed `documents[].vector` (msmarco passages, random 384-d vectors, one client;
   bodies encoded before the clock starts) into an empty collection, in requests of 1,000
   (the default PGASK_INGEST_MAX_BATCH_DOCUMENTS: below the bulk threshold, so a request
   rebuilds the HNSW index while the collection holds under 2x its new documents, and
   inserts row by row after: `ingest.service.rebuild_is_cheaper`) and in one request of all (the
   server's limit raised to it: a bulk load, index built after). The server's CPU seconds
   (pgask and its PostgreSQL backends) are recorded per run.
3. openai: the `openai` provider (text-embedding-3-small at 384 dimensions) against
   tests/fake_openai.py in a subprocess with `instant_vectors` (random unit vectors, as fast
   as one uvicorn process answers), through `ingest_paths` on msmarco, at
   EMBEDDING_MAX_CONCURRENCY 1, 4 and 16 (EMBEDDING_BATCH_SIZE 64: 16 requests a batch).
   First the fake server alone: the same texts in pre-encoded requests of 64 from plain
   httpx at each concurrency (requests/s and its CPU seconds), so each ceiling is
   attributed: the fake's, or pgask's client side (the process CPU of each pgask run).

Every run records the 1-minute load average before it: the machine is shared, so compare
ratios within one run, not figures across runs.

    python bench/ceiling.py            # msmarco-5k + 100,000 generated; 3 repetitions
    python bench/ceiling.py --quick    # 2,000 msmarco + 5,000 generated; 1 repetition
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.catalog import create_collection, delete_collection
from app.config import Settings
from app.db.embedded import libpq_url
from app.embeddings.base import Embedder, ModelSpec
from app.embeddings.openai import OpenAIEmbedder
from app.services import Services
from bench.common import MSMARCO, ROOT, connect, write_result
from bench.instant import InstantEmbedder
from bench.systems import opened_services
from bench.vs_http import free_port, wait_ready
from bench.vs_load import parser
from ingest.batches import BATCH_CHUNKS
from ingest.context import Ingestion
from ingest.parsing import workers_skip_main
from ingest.service import ingest_paths
from ingest.writer import (
    ChunkRecord,
    DocumentRecord,
    Target,
    analyze_chunks,
    build_index,
    drop_index,
    end_bulk_load,
    write_documents,
)

DIMS = 384
CONCURRENCY = (1, 4, 16)
HTTP_BATCH = 1000  # documents per request: PGASK_INGEST_MAX_BATCH_DOCUMENTS' default


def corpus_lines(limit: int) -> list[str]:
    with (MSMARCO / "corpus.jsonl").open(encoding="utf-8") as lines:
        return [line for _, line in zip(range(limit), lines, strict=False)]


def generated(lines: Sequence[str], count: int) -> Iterator[str]:
    """`count` passages: the msmarco ones in turn, each with a new id and text."""
    for i in range(count):
        row = json.loads(lines[i % len(lines)])
        text = f"{row['text']} (passage {i})"
        yield json.dumps({"_id": f"g{i}", "title": row["title"], "text": text}) + "\n"


def write_corpus(folder: Path, name: str, lines: Iterator[str] | Sequence[str]) -> Path:
    path = folder / name / "corpus.jsonl"
    path.parent.mkdir()
    with path.open("w", encoding="utf-8") as out:
        out.writelines(lines)
    return path


@asynccontextmanager
async def fresh(services: Services, model: Any) -> AsyncIterator[Any]:
    """A new collection for one run, deleted after it (the server stays small)."""
    async with services.db.owner_session() as session:
        collection = await create_collection(session, model, name=f"ceil-{uuid.uuid4().hex[:8]}")
    try:
        yield collection
    finally:
        async with services.db.owner_session() as session:
            await delete_collection(session, collection.name)


def load() -> float:
    return os.getloadavg()[0]


def cpu(process: psutil.Process) -> float:
    """The process's CPU seconds so far (user + system)."""
    times = process.cpu_times()
    return float(times.user + times.system)


class CpuMeter:
    """CPU seconds each watched process spends between `start` and `read`."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self.processes = processes
        self.started = {name: cpu(p) for name, p in processes.items()}

    def read(self) -> dict[str, float]:
        return {name: cpu(p) - self.started[name] for name, p in self.processes.items()}


async def pipeline_run(
    services: Services,
    embedder: Embedder,
    corpus: Path,
    *,
    replay: bool = False,
    watch: dict[str, psutil.Process] | None = None,
) -> dict[str, Any]:
    """One `ingest_paths` run into a fresh collection; returns its figures (with the CPU
    seconds of this process and of the `watch`ed ones) and, with `replay`, the rows it
    stored (`_rows`: to replay through the write path alone)."""
    ingestion = Ingestion.of(services.db, services.settings)
    async with fresh(services, embedder) as collection:
        meter = CpuMeter({"pgask": psutil.Process(), **(watch or {})})
        loadavg, started = load(), time.perf_counter()
        report, _ = await ingest_paths(ingestion, embedder, collection, [corpus])
        seconds = time.perf_counter() - started
        cpu_seconds = meter.read()
        assert report.failed == 0, report.errors[:3]
        rows = await stored_rows(services, collection.id) if replay else None
    stages = asdict(report.stages)
    figures = {
        "load_average": loadavg,
        "seconds": seconds,
        "pipeline_seconds": report.seconds,
        "documents": report.added,
        "chunks": report.chunks,
        "chunks_per_s": report.chunks / seconds,
        "chunks_per_s_without_index": report.chunks / (seconds - stages["index"]["busy"]),
        "cpu_seconds": cpu_seconds,
        "stages": stages,
    }
    return {**figures, "_rows": rows} if replay else figures


async def stored_rows(services: Services, collection_id: int) -> list[DocumentRecord]:
    async with await connect(libpq_url(services.db.url)) as conn:
        cursor = await conn.execute(
            "SELECT d.external_id, d.content_hash, d.title, d.source,"
            " array_agg(c.text ORDER BY c.ordinal), array_agg(c.token_count ORDER BY c.ordinal)"
            " FROM documents d JOIN chunks c ON c.document_id = d.id"
            " WHERE d.collection_id = %s GROUP BY d.collection_id, d.id",
            (collection_id,),
        )
        found = await cursor.fetchall()
    vectors = iter(InstantEmbedder().random(sum(len(texts) for *_, texts, _ in found)))
    return [
        DocumentRecord(
            external_id=external_id,
            content_hash=digest,
            title=title,
            source=source,
            chunks=[
                ChunkRecord(i, text, tokens, next(vectors))
                for i, (text, tokens) in enumerate(zip(texts, counts, strict=True))
            ],
        )
        for external_id, digest, title, source, texts, counts in found
    ]


async def write_path_run(services: Services, rows: list[DocumentRecord]) -> dict[str, Any]:
    """The same rows through the write path alone: drop the index, COPY in batches of
    BATCH_CHUNKS chunks, build the index, ANALYZE."""
    chunks = sum(len(d.chunks) for d in rows)
    async with (
        fresh(services, ModelSpec("bench", "instant-384", DIMS)) as collection,
        await connect(libpq_url(services.db.url)) as conn,
    ):
        target = Target(collection.id, DIMS, collection.text_config)
        loadavg, started = load(), time.perf_counter()
        await drop_index(conn, target)
        for batch in batches(rows):
            await write_documents(conn, target, batch)
        written = time.perf_counter()
        mem = services.settings.ingestion.maintenance_work_mem_mb
        await build_index(conn, target, maintenance_work_mem_mb=mem, analyze=False)
        await analyze_chunks(conn, target.collection_id)
        await end_bulk_load(conn, target)
        seconds = time.perf_counter() - started
    return {
        "load_average": loadavg,
        "seconds": seconds,
        "write_seconds": written - started,
        "index_seconds": seconds - (written - started),
        "chunks": chunks,
        "chunks_per_s": chunks / seconds,
        "chunks_per_s_without_index": chunks / (written - started),
    }


def batches(rows: list[DocumentRecord]) -> Iterator[list[DocumentRecord]]:
    batch: list[DocumentRecord] = []
    size = 0
    for row in rows:
        batch.append(row)
        size += len(row.chunks)
        if size >= BATCH_CHUNKS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


async def instant(
    services: Services, corpora: dict[str, Path], repetitions: int
) -> list[dict[str, Any]]:
    """Pipeline and write path alone on the same rows, order alternating per repetition."""
    results = []
    for name, corpus in corpora.items():
        embedder = InstantEmbedder()
        warm = await pipeline_run(services, embedder, corpus, replay=True)
        rows = warm.pop("_rows")
        runs = []
        for rep in range(repetitions):
            order = ["pipeline", "write_path"] if rep % 2 == 0 else ["write_path", "pipeline"]
            run: dict[str, Any] = {"repetition": rep, "first": order[0]}
            for kind in order:
                if kind == "pipeline":
                    run["pipeline"] = await pipeline_run(services, embedder, corpus)
                else:
                    run["write_path"] = await write_path_run(services, rows)
            run["ratio"] = run["pipeline"]["chunks_per_s"] / run["write_path"]["chunks_per_s"]
            run["ratio_without_index"] = (
                run["pipeline"]["chunks_per_s_without_index"]
                / run["write_path"]["chunks_per_s_without_index"]
            )
            print(json.dumps({"corpus": name, **brief(run)}), file=sys.stderr, flush=True)
            runs.append(run)
        results.append({"corpus": name, "warm_up": warm, "runs": runs, **summary(runs)})
    return results


def brief(run: dict[str, Any]) -> dict[str, Any]:
    keep = ("load_average", "chunks", "chunks_per_s", "chunks_per_s_without_index")
    return {
        k: ({kk: vv for kk, vv in v.items() if kk in keep} if isinstance(v, dict) else v)
        for k, v in run.items()
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(path: Sequence[str]) -> float:
        values = []
        for run in runs:
            value: Any = run
            for key in path:
                value = value[key]
            values.append(value)
        return float(np.median(values))

    return {
        "median_pipeline_chunks_per_s": median(["pipeline", "chunks_per_s"]),
        "median_write_path_chunks_per_s": median(["write_path", "chunks_per_s"]),
        "median_ratio": median(["ratio"]),
        "median_pipeline_chunks_per_s_without_index": median(
            ["pipeline", "chunks_per_s_without_index"]
        ),
        "median_write_path_chunks_per_s_without_index": median(
            ["write_path", "chunks_per_s_without_index"]
        ),
        "median_ratio_without_index": median(["ratio_without_index"]),
    }


def child_env(data_dir: Path) -> dict[str, str]:
    """The environment of a child pgask or fake server: this tree's code, this data dir."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "PGASK_DATA_DIR": str(data_dir)}


async def http_vectors(data_dir: Path, lines: Sequence[str], repetitions: int) -> dict[str, Any]:
    """`pgask serve` taking precomputed vectors, one client, in requests of HTTP_BATCH
    documents and in one request of all."""
    passages = [json.loads(line) for line in lines]
    vectors = InstantEmbedder().random(len(passages))
    sizes = (HTTP_BATCH, len(passages))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **child_env(data_dir),
        "PGASK_INGEST_WORKER": "false",
        "PGASK_INGEST_MAX_BATCH_DOCUMENTS": str(max(sizes)),
    }
    pgask = Path(sys.executable).with_name("pgask")
    by_size = {}
    with (data_dir / "ceiling-serve.log").open("wb") as log:
        server = await asyncio.create_subprocess_exec(
            *(str(pgask), "serve", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await wait_ready(base, server, 300)
            for size in sizes:
                bodies = _bodies(passages, vectors, size)
                serve = psutil.Process(server.pid)
                runs = [await _post_all(base, bodies, serve) for _ in range(repetitions)]
                by_size[str(size)] = {
                    "runs": runs,
                    "median_chunks_per_s": float(np.median([r["chunks_per_s"] for r in runs])),
                }
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 60)
    return {"documents": len(passages), "by_batch_documents": by_size}


def _bodies(passages: list[dict[str, Any]], vectors: Any, size: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "documents": [
                    {"id": p["_id"], "text": p["text"], "vector": v.tolist()}
                    for p, v in zip(passages[i : i + size], vectors[i:], strict=False)
                ]
            }
        ).encode()
        for i in range(0, len(passages), size)
    ]


async def _post_all(base: str, bodies: list[bytes], serve: psutil.Process) -> dict[str, Any]:
    name = f"ceil-http-{uuid.uuid4().hex[:8]}"
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        created = await client.post("/v1/collections", json={"name": name})
        assert created.status_code == 201, created.text
        meter = CpuMeter({"pgask_serve": serve})
        loadavg, started = load(), time.perf_counter()
        chunks = embedded = 0
        for body in bodies:
            answer = await client.post(
                f"/v1/collections/{name}/documents", content=body, headers=headers
            )
            assert answer.status_code == 200, answer.text[:500]
            chunks += answer.json()["chunks"]
            embedded += answer.json()["embedded"]
        seconds = time.perf_counter() - started
        cpu_seconds = meter.read()
        assert (await client.delete(f"/v1/collections/{name}")).status_code == 204
    return {
        "load_average": loadavg,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "chunks": chunks,
        "embedded": embedded,
        "chunks_per_s": chunks / seconds,
    }


async def openai_provider(
    services: Services, data_dir: Path, corpus: Path, repetitions: int, levels: Sequence[int]
) -> dict[str, Any]:
    """`ingest_paths` with the openai provider against the fake server, per concurrency."""
    port = free_port()
    code = (
        "import uvicorn; from tests.fake_openai import FakeOpenAI; fake = FakeOpenAI(); "
        "fake.instant_vectors = True; "
        f"uvicorn.run(fake.app, host='127.0.0.1', port={port}, log_level='warning')"
    )
    fake = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env=child_env(data_dir), cwd=ROOT
    )
    try:
        await _wait_port(port, fake)
        watch = {"fake_openai": psutil.Process(fake.pid)}
        texts = [json.loads(line)["text"] for line in corpus.open(encoding="utf-8")]
        batch = services.settings.embeddings.batch_size
        alone = []
        runs = []
        for rep in range(repetitions):
            alone += await fake_alone(port, texts, batch, levels, watch, rep)
            for level in levels:
                configured = openai_settings(services.settings, port, level)
                embedder = OpenAIEmbedder(configured.embeddings, configured.openai)
                try:
                    run = await pipeline_run(services, embedder, corpus, watch=watch)
                finally:
                    await embedder.aclose()
                run = {"repetition": rep, "concurrency": level, **run}
                print(json.dumps(brief(run)), file=sys.stderr, flush=True)
                runs.append(run)
    finally:
        fake.terminate()
        await asyncio.wait_for(fake.wait(), 60)
    return {
        "model": "text-embedding-3-small",
        "dimensions": DIMS,
        "embedding_batch_size": services.settings.embeddings.batch_size,
        "fake_alone": alone,
        "median_fake_alone_texts_per_s": {
            str(level): float(
                np.median([r["texts_per_s"] for r in alone if r["concurrency"] == level])
            )
            for level in levels
        },
        "runs": runs,
        "median_chunks_per_s": {
            str(level): float(
                np.median([r["chunks_per_s"] for r in runs if r["concurrency"] == level])
            )
            for level in levels
        },
    }


async def fake_alone(
    port: int,
    texts: list[str],
    batch: int,
    levels: Sequence[int],
    watch: dict[str, psutil.Process],
    repetition: int,
) -> list[dict[str, Any]]:
    """The fake server without pgask: `texts` in requests of `batch` (encoded before the
    clock starts) from plain httpx, at each concurrency."""
    bodies = [
        json.dumps(
            {
                "model": "text-embedding-3-small",
                "input": texts[i : i + batch],
                "dimensions": DIMS,
                "encoding_format": "base64",
            }
        ).encode()
        for i in range(0, len(texts), batch)
    ]
    url = f"http://127.0.0.1:{port}/v1/embeddings"
    headers = {"content-type": "application/json"}
    runs = []
    limits = httpx.Limits(max_connections=max(levels))
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def post(body: bytes, gate: asyncio.Semaphore) -> None:
            async with gate:
                answer = await client.post(url, content=body, headers=headers)
                assert answer.status_code == 200, answer.text[:200]

        for level in levels:
            gate = asyncio.Semaphore(level)
            meter = CpuMeter(watch)
            loadavg, started = load(), time.perf_counter()
            await asyncio.gather(*(post(body, gate) for body in bodies))
            seconds = time.perf_counter() - started
            run = {
                "repetition": repetition,
                "concurrency": level,
                "load_average": loadavg,
                "seconds": seconds,
                "requests": len(bodies),
                "requests_per_s": len(bodies) / seconds,
                "texts_per_s": len(texts) / seconds,
                "cpu_seconds": meter.read(),
            }
            print(json.dumps({"fake_alone": run}), file=sys.stderr, flush=True)
            runs.append(run)
    return runs


def openai_settings(settings: Settings, port: int, concurrency: int) -> Settings:
    return settings.model_copy(
        update={
            "embedding_provider": "openai",
            "embedding_model": "text-embedding-3-small",
            "embedding_dimensions": DIMS,
            "openai_base_url": f"http://127.0.0.1:{port}/v1",
            "openai_api_key": SecretStr("unused"),
            "embedding_max_concurrency": concurrency,
        }
    )


async def _wait_port(port: int, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if process.returncode is not None:
                raise RuntimeError(f"the fake OpenAI server exited with {process.returncode}")
            try:
                await client.get(f"http://127.0.0.1:{port}/")
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
    raise RuntimeError("the fake OpenAI server did not start")


async def main(args: Any) -> dict[str, Any]:
    # Quick sizes stay above PGASK_INGEST_BULK_THRESHOLD (2,000): both loads are bulk loads.
    msmarco_n, generated_n = (2000, 5000) if args.quick else (5000, 100_000)
    lines = corpus_lines(msmarco_n)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        corpora = {
            f"msmarco-{msmarco_n}": write_corpus(Path(folder), "msmarco", lines),
            f"generated-{generated_n}": write_corpus(
                Path(folder), "generated", generated(lines, generated_n)
            ),
        }
        async with opened_services(args.data_dir, load_embedder=False) as (services, info):
            results = await instant(services, corpora, args.repetitions)
            levels = CONCURRENCY[:2] if args.quick else CONCURRENCY
            openai = await openai_provider(
                services, args.data_dir, corpora[f"msmarco-{msmarco_n}"], args.repetitions, levels
            )
            settings = services.settings
        http = await http_vectors(args.data_dir, lines, args.repetitions)
    return {
        "benchmark": "ceiling",
        "command": "python bench/ceiling.py" + (" --quick" if args.quick else ""),
        **info,
        "parameters": {
            "quick": args.quick,
            "repetitions": args.repetitions,
            "corpora": {"msmarco": msmarco_n, "generated": generated_n},
            "batch_chunks": BATCH_CHUNKS,
            "parse_workers": settings.ingestion.parse_workers,
            "bulk_threshold": settings.ingestion.bulk_threshold,
            "maintenance_work_mem_mb": settings.ingestion.maintenance_work_mem_mb,
            "dimensions": DIMS,
        },
        "instant": results,
        "openai": openai,
        "http_vectors": http,
    }


if __name__ == "__main__":
    workers_skip_main()  # parse workers need none of this script's imports
    cli = parser(__doc__)
    parsed = cli.parse_args()
    parsed.repetitions = parsed.repetitions or (1 if parsed.quick else 3)
    result = asyncio.run(main(parsed))
    print(write_result("ceiling", result, parsed.output), file=sys.stderr)
