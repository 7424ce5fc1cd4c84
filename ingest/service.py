"""Ingest runs as the CLI, the HTTP API and the job worker start them: the collection's
model checked, a plan made (chunking, bulk load or not), the pipeline run, `--prune` applied.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import ARRAY, Text, any_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal
from app.catalog import check_compatible
from app.db.models import Collection, Document
from app.embeddings.base import Embedder
from ingest.chunker import ModelLimit
from ingest.context import Ingestion
from ingest.files import FileEntry, discover, estimate_documents
from ingest.items import Item, with_access
from ingest.parse_worker import FileInput
from ingest.parsing import FileBudget, ParsePool
from ingest.pipeline import Pipeline, Plan
from ingest.prepare import Chunking, Failure
from ingest.report import ProgressCallback, Report
from ingest.writer import Target, custom_plans


def model_limit(embedder: Embedder, chunk_size: int) -> ModelLimit | None:
    """The embedder's own token counter with its input limit, when the provider has one and
    chunks of `chunk_size` cl100k tokens could pass it."""
    counter = embedder.token_counter()
    # Providers that cannot count their tokens answer None: then cl100k's count is all we have.
    if counter is None or not embedder.max_input_tokens:
        return None
    # A chunk's cl100k count is the chunker's own; counting it once more (0.2 s of the parse
    # workers per 5,000 msmarco passages) only matters near the limit: a span encoded alone
    # may take a few tokens more than its pieces did, half the limit leaves room for that.
    if embedder.counts_cl100k and chunk_size * 2 <= embedder.max_input_tokens:
        return None
    return counter, embedder.max_input_tokens


# Rebuilding the HNSW index after a load beats inserting each row into it when the load is
# large next to what is stored (measured: docs/decisions/0022-rebuild-the-index-for-large-loads.md).
REBUILD_FACTOR = 2  # rebuild while fewer than 2x the new documents are stored
REBUILD_MIN_DOCUMENTS = 200  # below it, drop/build/ANALYZE and the bulk lock cost more
# Searches run as exact scans while the index is rebuilt: only on a collection this small
# do they stay cheap. The count stops here, so it stays cheap too.
REBUILD_MAX_STORED = 10_000


async def make_plan(
    ingestion: Ingestion,
    collection: Collection,
    embedder: Embedder,
    *,
    expected_documents: int,
    incoming: Sequence[str] = (),
    drop_repeated: bool = False,
) -> Plan:
    """Bulk-load (index dropped, built after) a large first load into an empty collection,
    or, given the ids of the documents coming (an API batch), when those not stored yet
    are many next to what is (see REBUILD_FACTOR). Without ids (files: their documents are
    known once parsed) a re-run of what is stored must not rebuild, so only first loads do."""
    settings = ingestion.settings
    async with ingestion.db.owner_session() as session:
        stored = await stored_documents(session, collection, REBUILD_MAX_STORED)
        new = await new_documents(session, collection, incoming) if stored else len(set(incoming))
    first_load = stored == 0 and expected_documents >= settings.bulk_threshold
    return Plan(
        target=Target(
            collection.id,
            collection.embedding_dimensions,
            collection.text_config,
            collection.vector_type,
        ),
        chunk_size=collection.chunk_size,
        chunk_overlap=collection.chunk_overlap,
        bulk=first_load or rebuild_is_cheaper(stored, new),
        maintenance_work_mem_mb=settings.maintenance_work_mem_mb,
        model_limit=model_limit(embedder, collection.chunk_size),
        drop_repeated=drop_repeated,
    )


def rebuild_is_cheaper(stored: int, new: int) -> bool:
    """Whether loading `new` documents next to `stored` ones (counted up to
    REBUILD_MAX_STORED) should drop the HNSW index and build it after."""
    return new >= REBUILD_MIN_DOCUMENTS and stored < min(REBUILD_FACTOR * new, REBUILD_MAX_STORED)


async def stored_documents(session: AsyncSession, collection: Collection, most: int) -> int:
    """How many documents the collection holds, counted up to `most` (a large collection's
    full count would scan all of it for every request)."""
    some = select(Document.id).where(Document.collection_id == collection.id).limit(most).subquery()
    return await session.scalar(select(func.count()).select_from(some)) or 0


async def new_documents(session: AsyncSession, collection: Collection, ids: Sequence[str]) -> int:
    """How many of `ids` the collection does not hold (changed ones are rewritten row by
    row, as before: only new ones count)."""
    if not ids:
        return 0
    held = select(func.count()).where(
        Document.collection_id == collection.id,
        Document.external_id == any_(literal(list(set(ids)), ARRAY(Text))),
    )
    return len(set(ids)) - (await session.scalar(held) or 0)


async def build_pipeline(
    ingestion: Ingestion,
    embedder: Embedder,
    collection: Collection,
    *,
    expected_documents: int,
    incoming: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
    strict: bool = False,
    writer: Principal | None = None,
    drop_repeated: bool = False,
) -> Pipeline:
    """A pipeline into `collection`, after checking the collection pins this embedder
    (`incoming`: the documents' ids, when known before the run: see `make_plan`; `writer`:
    the key the documents come from, see `Pipeline`; `drop_repeated`: see `Plan`)."""
    check_compatible(collection, embedder)
    plan = await make_plan(
        ingestion,
        collection,
        embedder,
        expected_documents=expected_documents,
        incoming=incoming,
        drop_repeated=drop_repeated,
    )
    return Pipeline(
        ingestion.db, embedder, plan, on_progress=on_progress, strict=strict, writer=writer
    )


async def ingest_paths(
    ingestion: Ingestion,
    embedder: Embedder,
    collection: Collection,
    roots: Sequence[Path],
    *,
    glob: str | None = None,
    prune: bool = False,
    access: Sequence[str] = (),
    on_start: Callable[[int, int], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[Report, list[Failure]]:
    """Ingest files and folders; returns the report and the skipped (hidden, binary) files.
    `on_start(documents, files)` is told how many documents the files should give."""
    limit = model_limit(embedder, collection.chunk_size)
    chunking = Chunking(collection.chunk_size, collection.chunk_overlap, limit)
    # The parse workers start (seconds: a fresh interpreter and the tokenizer) while the
    # files are found and counted and the plan is made.
    async with ParsePool(FileBudget.of(ingestion.settings), chunking) as pool:
        max_bytes = ingestion.settings.max_file_mb * 2**20
        found = discover(roots, glob=glob, max_bytes=max_bytes)
        expected = estimate_documents(found.files)
        if on_start is not None:
            on_start(expected, len(found.files))
        pipeline = await build_pipeline(
            ingestion,
            embedder,
            collection,
            expected_documents=expected,
            on_progress=on_progress,
            drop_repeated=True,
        )

        async def items() -> AsyncIterator[Item]:
            for failure in found.failures:
                yield failure
            async for item in pool.parse(_sources(found.files)):
                yield item

        report = await pipeline.run(with_access(items(), access))
    if prune:
        kept = {f.name for f in found.files if _has_failure(f.name, report.errors)}
        async with ingestion.db.owner_connection(autocommit=True) as conn:
            report.deleted = await prune_documents(
                conn, collection.id, found.scopes, seen=pipeline.admission.seen, keep_sources=kept
            )
    return report, found.skipped


async def _sources(files: Sequence[FileEntry]) -> AsyncIterator[tuple[str, FileInput]]:
    for entry in files:
        yield entry.name, entry.path


def _has_failure(name: str, errors: list[Failure]) -> bool:
    return any(e.path == name or e.path.startswith(name + ": ") for e in errors)


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


async def prune_documents(
    conn: psycopg.AsyncConnection[Any],
    collection_id: int,
    scopes: Sequence[str],
    *,
    seen: set[str],
    keep_sources: set[str],
) -> int:
    """Delete documents whose source is under `scopes` (a folder prefix ending in '/', or a
    file name) and which this run neither loaded nor failed to load."""
    if not scopes:
        return 0
    folders = [_like_prefix(s) for s in scopes if s.endswith("/")]
    files = [s for s in scopes if not s.endswith("/")]
    async with conn.transaction():
        await custom_plans(conn)  # the cascade to chunks stays in this collection's partition
        cursor = await conn.execute(
            "DELETE FROM documents WHERE collection_id = %s"
            " AND (source = ANY(%s) OR source LIKE ANY(%s))"
            " AND external_id <> ALL(%s) AND source <> ALL(%s)",
            (collection_id, files, folders, list(seen), list(keep_sources)),
        )
        return cursor.rowcount
