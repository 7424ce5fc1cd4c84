"""Re-ingest benchmark vs langchain-postgres and llama-index (not run by CI); writes
bench/results/vs-reingest.json.

The same ../shared/data/msmarco-5k/corpus.jsonl ingest run twice into a fresh table, with
the same local model (all-MiniLM-L6-v2, fastembed) behind a counting wrapper in every
system: seconds and embedding calls (and texts embedded) of the first run and of the
re-run, and rows stored after each. Each system does it its natural way:

- pgask: `ingest.service.ingest_paths` (what `pgask ingest` runs) on the JSONL file;
- langchain-postgres: `PGVectorStore.aadd_documents(docs)` with one stable id per passage
  (uuid5 of `_id`), so the re-run upserts;
- llama-index: `VectorStoreIndex.from_documents(docs, storage_context=...)` with
  `Document(id_=_id)` (its default SentenceSplitter; nodes get fresh ids each run).

Neither peer's vector store skips unchanged input by itself; langchain's indexing API
(`langchain.indexes.index` + a RecordManager) and llama-index's IngestionPipeline with a
docstore can, with extra storage to set up; they are not measured here.

    python bench/vs_reingest.py             # all 5,000 passages, every system
    python bench/vs_reingest.py --quick     # pgask 100; peers 30
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from app.catalog import create_collection, delete_collection
from app.db.embedded import libpq_url
from app.embeddings.base import Embedder, EmbedProgress, Vectors
from app.errors import NotFound
from app.services import Services
from bench.common import MSMARCO, Timer, connect, drop_table, table_rows, write_result
from bench.systems import opened_services
from bench.vs_load import parser
from ingest.context import Ingestion
from ingest.service import ingest_paths


@dataclass
class Count:
    calls: int = 0
    texts: int = 0

    def add(self, texts: Sequence[str]) -> None:
        self.calls += 1
        self.texts += len(texts)


class CountingEmbedder(Embedder):
    """pgask's embedder with every call counted."""

    def __init__(self, inner: Embedder, count: Count) -> None:
        self.inner, self.count = inner, count
        self.provider, self.model = inner.provider, inner.model
        self.dimensions, self.max_input_tokens = inner.dimensions, inner.max_input_tokens

    async def embed_documents(
        self, texts: Sequence[str], on_progress: EmbedProgress | None = None
    ) -> Vectors:
        self.count.add(texts)
        return await self.inner.embed_documents(texts, on_progress)

    def count_tokens(self, text: str) -> int | None:
        return self.inner.count_tokens(text)


def passages(limit: int) -> list[dict[str, Any]]:
    with (MSMARCO / "corpus.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for _, line in zip(range(limit), lines, strict=False)]


async def pgask_runs(services: Services, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    name = "bench7-reingest"
    async with services.db.owner_session() as session:
        with contextlib.suppress(NotFound):
            await delete_collection(session, name)
        collection = await create_collection(session, services.embedder, name=name)
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "corpus.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        for attempt in ("first", "re-run"):
            count = Count()
            embedder = CountingEmbedder(services.embedder, count)
            with Timer() as timer:
                report, _ = await ingest_paths(
                    Ingestion.of(services.db, services.settings), embedder, collection, [path]
                )
            async with await connect(libpq_url(services.db.url)) as conn:
                cursor = await conn.execute(
                    "SELECT count(*) FROM chunks WHERE collection_id = %s", (collection.id,)
                )
                stored = (await cursor.fetchone() or (0,))[0]
            runs.append(run_record("pgask", attempt, len(rows), timer, count, stored))
            runs[-1]["report"] = report.as_dict()
    return runs


def run_record(
    system: str, attempt: str, docs: int, timer: Timer, count: Count, stored: int
) -> dict[str, Any]:
    record = {
        "system": system,
        "run": attempt,
        "documents": docs,
        "seconds": timer.seconds,
        "embedding_calls": count.calls,
        "texts_embedded": count.texts,
        "rows_stored_after": stored,
    }
    print(record, file=sys.stderr, flush=True)
    return record


async def peer_runs(services: Services, name: str, rows: list[dict[str, Any]]) -> list[Any]:
    from bench import peers

    dsn = libpq_url(services.db.url)
    runs = []
    loop = asyncio.get_running_loop()
    for attempt in ("first", "re-run"):
        count = Count()
        with Timer() as timer:
            if name == "langchain":
                table = "bench7_reingest_langchain"
                if attempt == "first":
                    await drop_table(dsn, table)
                await peers.langchain_ingest(services, table, rows, count)
            else:
                table = "data_bench7_reingest_llamaindex"
                if attempt == "first":
                    await drop_table(dsn, table)
                await asyncio.to_thread(peers.llama_ingest, services, loop, rows, count)
        runs.append(
            run_record(name, attempt, len(rows), timer, count, await table_rows(dsn, table))
        )
    return runs


def stable_id(external_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"msmarco:{external_id}"))


async def main(args: Any) -> dict[str, Any]:
    docs, peer_docs = (args.docs or 5000, args.peer_docs or 5000)
    if args.quick:
        docs, peer_docs = min(docs, 100), min(peer_docs, 30)
    rows = passages(max(docs, peer_docs))
    runs: list[dict[str, Any]] = []
    async with opened_services(args.data_dir) as (services, info):
        await services.embedder.embed_documents(["warm-up"] * 8)
        for name in args.systems:
            if name == "pgask":
                runs += await pgask_runs(services, rows[:docs])
            else:
                runs += await peer_runs(services, name, rows[:peer_docs])
    return {
        "benchmark": "vs-reingest",
        "command": " ".join(["python", *sys.argv]),
        **info,
        "parameters": {
            "quick": args.quick,
            "corpus": "../shared/data/msmarco-5k/corpus.jsonl (first N lines)",
            "pgask_documents": docs,
            "peer_documents": peer_docs,
            "model": services.settings.embedding_model,
            "systems": args.systems,
        },
        "runs": runs,
    }


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    cli.add_argument("--docs", type=int, default=None, help="passages for pgask (5,000)")
    cli.add_argument("--peer-docs", type=int, default=None, help="passages per peer (5,000)")
    parsed = cli.parse_args()
    result = asyncio.run(main(parsed))
    print(write_result("vs-reingest", result, parsed.output), file=sys.stderr)
