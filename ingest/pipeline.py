"""The ingestion pipeline: loaded documents -> hash check -> chunks -> embeddings -> COPY.

Three stages connected by bounded queues, so the embedding model (in a thread) works on
batch N+1 while batch N is being copied into PostgreSQL and batch N+2 is being prepared:

    prepare (hash, skip unchanged, chunk) -> embed -> write (one transaction per batch)

A document whose content hash (text, title, source and metadata) is already stored is
counted unchanged and never embedded (docs/decisions/0006-idempotent-ingestion.md); one
whose hash is stored but whose `access` groups changed is updated in place, document and
chunks in one transaction, and not embedded either (`ingest.admission` decides which go
on). A batch (`ingest.batches`) is written in one transaction
(`ingest.writer.write_documents`), so a crash leaves every document either in its old or
its new version, and a re-run redoes only what is missing.

Memory is bounded by the batches in flight, not by the largest document: a document of more
than BATCH_CHUNKS chunks travels alone, in parts of BATCH_CHUNKS chunks, each embedded on
its own, and is written in one transaction once its last part is embedded
(`ingest.spill`). A document given as blocks is chunked part by part as the stages take
the parts.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import psycopg

from app.access import Principal
from app.db.database import Database
from app.embeddings.base import Embedder, Vectors
from app.errors import CollectionDeleted, PgaskError
from ingest.admission import Admission, document_of
from ingest.batches import BATCH_CHUNKS, Batch, Pending, parts, records
from ingest.chunker import ModelLimit
from ingest.items import Item
from ingest.loaders import LoadedDocument
from ingest.prepare import Chunking, Failure, Prepared, chunk, content_hash
from ingest.repeated import RepeatedChunks
from ingest.report import Progress, ProgressCallback, Report
from ingest.spill import PartFailed, copy_spilled, spill_parts
from ingest.stages import get, timed
from ingest.writer import (
    Target,
    Written,
    build_index,
    drop_index,
    end_bulk_load,
    update_access,
    write_documents,
)

# Texts per embed call within a batch: what a stop (signal, deleted collection) waits for.
EMBED_STEP = 256
QUEUE_DEPTH = 2  # batches waiting between two stages
LOOKUP_DOCUMENTS = 256  # documents whose stored hashes are fetched in one query


@dataclass(frozen=True)
class Plan:
    """What to load into which collection, with which chunking."""

    target: Target
    chunk_size: int
    chunk_overlap: int
    bulk: bool = False  # drop the HNSW index first and build it after loading
    maintenance_work_mem_mb: int = 512
    model_limit: ModelLimit | None = None  # the embedder's own token count and limit
    # Leave out the short chunks that many documents of the run repeat (`ingest.repeated`):
    # files and sources' pages, not the documents an API client sends one by one.
    drop_repeated: bool = False

    @property
    def chunking(self) -> Chunking:
        return Chunking(self.chunk_size, self.chunk_overlap, self.model_limit)


class Pipeline:
    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        plan: Plan,
        *,
        on_progress: ProgressCallback | None = None,
        strict: bool = False,
        writer: Principal | None = None,
    ) -> None:
        """`strict`: raise on the first failure (the HTTP API) instead of reporting it per
        document and going on (the CLI and jobs). `writer`: the key the documents come from
        (None: the operator's own run); the pipeline writes as the tables' owner, so it
        applies the documents policy's rule for that key itself (`ingest.admission`)."""
        self.db = db
        self.strict = strict
        self.embedder = embedder
        self.plan = plan
        self.report = Report()
        self.admission = Admission(
            self.report, plan.target.collection_id, strict=strict, writer=writer
        )
        self._on_progress = on_progress or (lambda _progress: None)
        self._prepared_documents = 0
        self._prepared_chunks = 0
        self._repeated = RepeatedChunks(plan.chunk_size) if plan.drop_repeated else None
        self._embedding = 0  # chunks of the batch in the embedder that it has done
        self._dropped: set[str] = set()  # documents in parts whose later parts are skipped

    async def run(self, items: AsyncIterable[Item]) -> Report:
        started = time.perf_counter()
        to_embed: asyncio.Queue[Batch | None] = asyncio.Queue(QUEUE_DEPTH)
        to_write: asyncio.Queue[Batch | None] = asyncio.Queue(QUEUE_DEPTH)
        # Two pooled connections, each statement or `conn.transaction()` committing alone:
        # the hash lookups never wait for a batch being written.
        async with (
            self.db.owner_connection(autocommit=True) as lookup,
            self.db.owner_connection(autocommit=True) as writer,
        ):
            if self.plan.bulk:
                with self.report.stages.index.running():
                    await drop_index(writer, self.plan.target)
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._embed_stage(to_embed, to_write))
                    group.create_task(self._write_stage(writer, to_write))
                    await self._prepare_stage(lookup, items, to_embed)
            except ExceptionGroup as failed:
                # The stage's own error; a database one is converted by `db.owner_connection()`.
                raise _first_error(failed) from failed
            finally:
                # Always leave the index in place, even when the load failed half-way.
                with self.report.stages.index.running():
                    await self._finish_index(writer)
        self.report.seconds = time.perf_counter() - started
        return self.report

    async def _finish_index(self, writer: psycopg.AsyncConnection[Any]) -> None:
        await build_index(
            writer,
            self.plan.target,
            maintenance_work_mem_mb=self.plan.maintenance_work_mem_mb,
            analyze=self.plan.bulk,
        )
        if self.plan.bulk:
            await end_bulk_load(writer, self.plan.target)

    async def _prepare_stage(
        self,
        conn: psycopg.AsyncConnection[Any],
        items: AsyncIterable[Item],
        out: asyncio.Queue[Batch | None],
    ) -> None:
        stage = self.report.stages.prepare
        batch = Batch()  # filled across lookups, so batches stay full with small documents
        with stage.running():
            group: list[LoadedDocument | Prepared] = []
            async for item in timed(items, stage):
                if isinstance(item, Failure):
                    self.report.fail(item)
                    self._prepared_documents += 1
                    self._tell()
                    continue
                group.append(item)
                if len(group) >= LOOKUP_DOCUMENTS:
                    batch = await self._prepare(conn, group, batch, out)
                    group = []
            batch = await self._prepare(conn, group, batch, out)
            if batch.pending:
                with stage.waits():
                    await out.put(batch)
        # The end, sent only when all went well: a stage that failed or was cancelled makes
        # the task group cancel the others, and a full queue would block the sending forever.
        await out.put(None)

    async def _prepare(
        self,
        conn: psycopg.AsyncConnection[Any],
        docs: list[LoadedDocument | Prepared],
        batch: Batch,
        out: asyncio.Queue[Batch | None],
    ) -> Batch:
        """Skip the unchanged documents, update those whose only change is their access
        groups, chunk the others (unless a parse worker already did) into `batch`, and send
        it on each time it is full; returns the batch being filled."""
        valid, stored = await self.admission.admit(conn, docs)
        regrouped: list[LoadedDocument] = []
        self._prepared_documents += len(docs)
        for item in valid:
            doc = document_of(item)
            digest = item.hash if isinstance(item, Prepared) else content_hash(item)
            if doc.external_id in stored and stored[doc.external_id][0] == digest:
                if stored[doc.external_id][1] == sorted(doc.access):
                    self.report.unchanged += 1
                else:
                    regrouped.append(doc)
                continue
            batch = await self._add(self._without_repeated(item), digest, batch, out)
        await self._update_access(conn, regrouped)
        self._tell()
        return batch

    def _without_repeated(self, item: LoadedDocument | Prepared) -> LoadedDocument | Prepared:
        """The document without the short chunks the run's earlier documents repeat
        (`ingest.repeated`), when the plan says so; a document whose chunks are spilled to
        a file (a very long one) or come with their vectors (an import) is kept as given."""
        if self._repeated is None or not isinstance(item, Prepared) or item.vectors is not None:
            return item
        if not isinstance(item.chunks, Sequence):
            return item
        kept = self._repeated.kept(item.chunks)
        self.report.repeated = self._repeated.dropped
        return item if kept is item.chunks else replace(item, chunks=kept)

    async def _add(
        self,
        item: LoadedDocument | Prepared,
        digest: str,
        batch: Batch,
        out: asyncio.Queue[Batch | None],
    ) -> Batch:
        """Add a document to `batch`, sent on when full; a document of more than
        BATCH_CHUNKS chunks is sent alone, part by part, one batch each (a document given
        as blocks is cut into chunks part by part). Returns the batch being filled."""
        doc = item.doc if isinstance(item, Prepared) else item
        chunks = item.chunks if isinstance(item, Prepared) else chunk(doc, self.plan.chunking)
        vectors = item.vectors if isinstance(item, Prepared) else None
        for part_chunks, part in parts(chunks):
            if not part.whole and part.ordinal == 0 and batch.pending:
                batch = await self._send(batch, out)  # what came before goes on without it
            end = part.ordinal + len(part_chunks)
            part_vectors = None if vectors is None else vectors[part.ordinal : end]
            batch.pending.append(Pending(doc, digest, part_chunks, part_vectors, part))
            batch.chunk_count += len(part_chunks)
            self._prepared_chunks += len(part_chunks)
            if batch.chunk_count >= BATCH_CHUNKS or not part.whole:
                batch = await self._send(batch, out)
        return batch

    async def _send(self, batch: Batch, out: asyncio.Queue[Batch | None]) -> Batch:
        """Send `batch` on; returns a new one to fill."""
        self._tell()
        with self.report.stages.prepare.waits():
            await out.put(batch)
        return Batch()

    async def _update_access(
        self, conn: psycopg.AsyncConnection[Any], docs: list[LoadedDocument]
    ) -> None:
        """Only `access` changed: no chunking, no embedding."""
        if not docs:
            return
        access = {d.external_id: list(d.access) for d in docs}
        await update_access(conn, self.plan.target.collection_id, access)
        self.report.updated += len(docs)

    async def _embed_stage(
        self, inbox: asyncio.Queue[Batch | None], out: asyncio.Queue[Batch | None]
    ) -> None:
        stage = self.report.stages.embed
        with stage.running():
            while (batch := await get(inbox, stage)) is not None:
                if await self._embed_batch(batch):
                    with stage.waits():
                        await out.put(batch)
        await out.put(None)  # only when all went well, as in `_prepare_stage`

    async def _embed_batch(self, batch: Batch) -> bool:
        """Embed a batch into its records; whether it goes on to the write stage."""
        if batch.pending[0].doc.external_id in self._dropped:
            return False  # a later part of a document that failed: not embedded
        texts = [c.embedded for p in batch.pending if p.vectors is None for c in p.chunks]
        try:
            vectors = await self._embed(texts)
        except PgaskError as exc:
            if self.strict:
                raise
            if batch.part.whole:
                self._fail_batch(batch, f"embedding failed: {exc}")
                return False
            # The write stage holds this document's transaction open: it rolls it back.
            self._dropped.add(batch.pending[0].doc.external_id)
            batch.failure = f"embedding failed: {exc}"
            return True
        finally:
            self._embedding = 0
        self.report.embedded += len(texts)
        batch.records = list(records(batch.pending, iter(vectors)))
        return True

    async def _embed(self, texts: list[str]) -> Vectors:
        """Embed in calls of EMBED_STEP texts (or what the embedder's `call_size` asks),
        so a cancelled run (a signal, a deleted collection) waits for one call at most, not
        a whole batch. Texts go shortest first, as the local model orders each call's
        texts, so the calls pad as little as one."""
        if not texts:  # a batch of precomputed vectors only makes no call at all
            return np.empty((0, self.plan.target.dimensions), dtype=np.float32)
        size = self.embedder.call_size(EMBED_STEP)
        if len(texts) <= size:
            return await self.embedder.embed_documents(texts, self._embedded_some)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = []
        for start in range(0, len(order), size):
            step = [texts[i] for i in order[start : start + size]]
            parts.append(await self.embedder.embed_documents(step, self._embedded_some))
        vectors = np.empty((len(texts), self.embedder.dimensions), dtype=np.float32)
        vectors[order] = np.concatenate(parts)
        return vectors

    async def _write_stage(
        self, conn: psycopg.AsyncConnection[Any], inbox: asyncio.Queue[Batch | None]
    ) -> None:
        stage = self.report.stages.write
        with stage.running():
            while (batch := await get(inbox, stage)) is not None:
                if batch.part.whole:
                    await self._write(conn, batch)
                elif batch.part.ordinal == 0:
                    await self._write_parts(conn, batch, inbox)
                # else: a later part of a document that failed or was stored meanwhile

    async def _write_parts(
        self, conn: psycopg.AsyncConnection[Any], batch: Batch, inbox: asyncio.Queue[Batch | None]
    ) -> None:
        """Write a document sent in parts (`batch` is its first), all in one transaction
        once its last part is embedded: readers, a crash and a failure halfway all see the
        document either fully old or fully new. Its parts follow each other in `inbox`."""
        doc = batch.pending[0].doc
        with tempfile.TemporaryFile() as spill:
            try:
                parts = await spill_parts(batch, lambda: self._next_part(inbox), spill)
                spill.seek(0)
                written, chunks = await copy_spilled(conn, self.plan.target, spill, parts)
            except CollectionDeleted:
                raise
            except (PgaskError, psycopg.Error) as exc:
                if self.strict:
                    raise
                self._dropped.add(doc.external_id)
                reason = (
                    str(exc) if isinstance(exc, PartFailed) else f"database write failed: {exc}"
                )
                self.report.fail(Failure(doc.source or doc.external_id, reason))
                self._tell()
                return
        self._dropped.add(doc.external_id)  # nothing more of it to write (or skip)
        self._count_document(doc.external_id, written, chunks)
        self._tell()

    async def _next_part(self, inbox: asyncio.Queue[Batch | None]) -> Batch:
        batch = await get(inbox, self.report.stages.write)
        if batch is None:
            raise RuntimeError("the embed stage ended in the middle of a document")
        return batch

    async def _write(self, conn: psycopg.AsyncConnection[Any], batch: Batch) -> None:
        try:
            written = await write_documents(conn, self.plan.target, batch.records)
        except CollectionDeleted:
            raise  # the whole run stops: nothing more of this collection is written
        except (PgaskError, psycopg.Error) as exc:
            if self.strict:
                raise
            self._fail_batch(batch, f"database write failed: {exc}")
            return
        self._count_written(batch, written)
        self._tell()

    def _count_written(self, batch: Batch, written: Written) -> None:
        for pending in batch.pending:
            self._count_document(pending.doc.external_id, written, len(pending.chunks))

    def _count_document(self, external_id: str, written: Written, chunks: int) -> None:
        """What this run really wrote: a concurrent run may have stored a document first."""
        if external_id not in written.ids:
            self.report.unchanged += 1
            return
        self.report.chunks += chunks
        if external_id in written.inserted:
            self.report.added += 1
        else:
            self.report.updated += 1

    def _fail_batch(self, batch: Batch, reason: str) -> None:
        for pending in batch.pending:
            self.report.fail(Failure(pending.doc.source or pending.doc.external_id, reason))
        self._tell()

    def _embedded_some(self, count: int) -> None:
        self._embedding += count
        self._tell()

    def _tell(self) -> None:
        embedded = self.report.embedded + self._embedding
        self._on_progress(
            Progress(self.report, self._prepared_documents, self._prepared_chunks, embedded)
        )


def _first_error(group: BaseExceptionGroup[Any]) -> Exception:
    """The first error of a failed stage."""
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first if isinstance(first, Exception) else RuntimeError(str(first))
