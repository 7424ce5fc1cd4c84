"""The ingestion pipeline: loaded documents -> hash check -> chunks -> embeddings -> COPY.

Three stages connected by bounded queues, so the embedding model (in a thread) works on
batch N+1 while batch N is being copied into PostgreSQL and batch N+2 is being prepared:

    prepare (hash, skip unchanged, chunk) -> embed -> write (one transaction per batch)

A document whose content hash (text, title, source and metadata) is already stored is
counted unchanged and never embedded (docs/decisions/0006-idempotent-ingestion.md); one whose hash
is stored but
whose `access` groups changed is updated in place, document and chunks in one transaction,
and not embedded either. A batch is written in one
transaction (`ingest.writer.write_documents`), so a crash leaves every document either in
its old or its new version, and a re-run redoes only what is missing.

Memory is bounded by the batches in flight, not by the largest document: a document of more
than BATCH_CHUNKS chunks (a 20 MB line of words is 30,000) travels alone, in parts of
BATCH_CHUNKS chunks, each embedded on its own. The write stage spills its embedded parts to
a temporary file until the last one has come, then writes the document in one transaction,
reading the parts back one at a time (upsert and old chunks deleted with the first, COPY of
each). The transaction so lasts the COPY only, never the embedding: held open for minutes,
its locks on the partitioned parents made every collection's delete (ACCESS EXCLUSIVE) fail
and every new collection's ATTACH wait, with every other writer queued behind it. A document
given as blocks is chunked part by part as the stages take the parts.
"""

from __future__ import annotations

import asyncio
import hashlib
import pickle
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import islice
from typing import IO, Any

import numpy as np
import psycopg

from app.access import Principal
from app.db.database import Database
from app.embeddings.base import Embedder, Vectors
from app.errors import CollectionDeleted, Conflict, InvalidInput, PgaskError
from app.observability import IngestCounts
from app.validation import check_vector
from ingest.chunker import Chunk, ModelLimit, count_tokens
from ingest.loaders import LoadedDocument
from ingest.prepare import Chunking, Failure, Prepared, check_document, chunk, content_hash
from ingest.stages import Stage, Stages
from ingest.writer import (
    ChunkRecord,
    DocumentRecord,
    Target,
    Written,
    append_chunks,
    build_index,
    drop_index,
    end_bulk_load,
    finish_document,
    update_access,
    write_documents,
)

# Chunks per embed call and per write transaction. The local model embeds a call's texts
# shortest first, so a larger call pads less: 1,024 made a first ingest of 2,000 MS MARCO
# passages 16% faster than 256 (bench/vs_reingest.py --systems pgask --docs 2000).
BATCH_CHUNKS = 1024
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

    @property
    def chunking(self) -> Chunking:
        return Chunking(self.chunk_size, self.chunk_overlap, self.model_limit)


@dataclass
class Report(IngestCounts):
    embedded: int = 0
    seconds: float = 0.0
    errors: list[Failure] = field(default_factory=list)
    stages: Stages = field(default_factory=Stages)  # where the time went (not in as_dict)

    @property
    def documents(self) -> int:
        return self.added + self.updated + self.unchanged + self.failed

    def fail(self, failure: Failure) -> None:
        self.failed += 1
        self.errors.append(failure)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["stages"]
        out["seconds"] = round(self.seconds, 3)
        return out

    def summary(self) -> str:
        return (
            f"documents: {self.added} added, {self.updated} updated, {self.unchanged} unchanged,"
            f" {self.deleted} deleted, {self.failed} failed; {self.chunks} chunks"
            f" in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class Progress:
    """Where a run is, for progress bars and job status: the report so far, and the work
    read but not written yet. `embedded_chunks` counts the batch being embedded too, as
    the embedder reports each of its parts, so a bar moves while a 1,024-chunk batch runs."""

    report: Report
    prepared_documents: int  # read and hashed (unchanged and failed ones included)
    prepared_chunks: int  # cut into chunks to embed
    embedded_chunks: int


ProgressCallback = Callable[[Progress], None]
Item = LoadedDocument | Prepared | Failure


async def with_access(items: AsyncIterable[Item], access: Sequence[str]) -> AsyncIterator[Item]:
    """The items, each document readable by the groups `access` (files and uploads share
    one access list)."""
    groups = tuple(sorted(set(access)))
    async for item in items:
        if isinstance(item, Prepared):
            yield replace(item, doc=replace(item.doc, access=groups))
        elif isinstance(item, LoadedDocument):
            yield replace(item, access=groups)
        else:
            yield item


@dataclass(frozen=True)
class _Part:
    """Where a pending item's chunks sit in their document: all of it, or one part of a
    document too large for one batch."""

    ordinal: int = 0  # of its first chunk
    last: bool = True

    @property
    def whole(self) -> bool:
        return self.ordinal == 0 and self.last


@dataclass
class _Pending:
    doc: LoadedDocument
    hash: str
    chunks: list[Chunk]
    vectors: Vectors | None = None  # precomputed: not embedded
    part: _Part = _Part()


@dataclass
class _Batch:
    """Whole documents, or (alone) one part of a document."""

    pending: list[_Pending] = field(default_factory=list)
    records: list[DocumentRecord] = field(default_factory=list)
    chunk_count: int = 0
    failure: str | None = None  # a part that could not be embedded: its document fails

    @property
    def part(self) -> _Part:
        return self.pending[0].part if self.pending else _Part()


class _PartFailed(PgaskError):
    """A part of a document written in parts failed before the write stage got it."""


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
        applies the documents policy's rule for that key itself (see `_writable`)."""
        self.db = db
        self.writer = writer
        self.strict = strict
        self.embedder = embedder
        self.plan = plan
        self.report = Report()
        self.seen: set[str] = set()
        self._on_progress = on_progress or (lambda _progress: None)
        self._prepared_documents = 0
        self._prepared_chunks = 0
        self._embedding = 0  # chunks of the batch in the embedder that it has done
        self._dropped: set[str] = set()  # documents in parts whose later parts are skipped

    async def run(self, items: AsyncIterable[Item]) -> Report:
        started = time.perf_counter()
        to_embed: asyncio.Queue[_Batch | None] = asyncio.Queue(QUEUE_DEPTH)
        to_write: asyncio.Queue[_Batch | None] = asyncio.Queue(QUEUE_DEPTH)
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
        out: asyncio.Queue[_Batch | None],
    ) -> None:
        stage = self.report.stages.prepare
        batch = _Batch()  # filled across lookups, so batches stay full with small documents
        with stage.running():
            group: list[LoadedDocument | Prepared] = []
            async for item in _timed(items, stage):
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
        batch: _Batch,
        out: asyncio.Queue[_Batch | None],
    ) -> _Batch:
        """Skip the unchanged documents, update those whose only change is their access
        groups, chunk the others (unless a parse worker already did) into `batch`, and send
        it on each time it is full; returns the batch being filled."""
        valid = [d for d in docs if self._accept(d.doc if isinstance(d, Prepared) else d)]
        ids = [d.doc.external_id if isinstance(d, Prepared) else d.external_id for d in valid]
        stored = await self._stored_hashes(conn, ids)
        valid = [
            d for d in valid if self._writable(d.doc if isinstance(d, Prepared) else d, stored)
        ]
        regrouped: list[LoadedDocument] = []
        self._prepared_documents += len(docs)
        for item in valid:
            doc = item.doc if isinstance(item, Prepared) else item
            digest = item.hash if isinstance(item, Prepared) else content_hash(item)
            if doc.external_id in stored and stored[doc.external_id][0] == digest:
                if stored[doc.external_id][1] == sorted(doc.access):
                    self.report.unchanged += 1
                else:
                    regrouped.append(doc)
                continue
            batch = await self._add(item, digest, batch, out)
        await self._update_access(conn, regrouped)
        self._tell()
        return batch

    async def _add(
        self,
        item: LoadedDocument | Prepared,
        digest: str,
        batch: _Batch,
        out: asyncio.Queue[_Batch | None],
    ) -> _Batch:
        """Add a document to `batch`, sent on when full; a document of more than
        BATCH_CHUNKS chunks is sent alone, part by part, one batch each (a document given
        as blocks is cut into chunks part by part). Returns the batch being filled."""
        doc = item.doc if isinstance(item, Prepared) else item
        chunks = item.chunks if isinstance(item, Prepared) else chunk(doc, self.plan.chunking)
        vectors = item.vectors if isinstance(item, Prepared) else None
        for part_chunks, part in _parts(chunks):
            if not part.whole and part.ordinal == 0 and batch.pending:
                batch = await self._send(batch, out)  # what came before goes on without it
            end = part.ordinal + len(part_chunks)
            part_vectors = None if vectors is None else vectors[part.ordinal : end]
            batch.pending.append(_Pending(doc, digest, part_chunks, part_vectors, part))
            batch.chunk_count += len(part_chunks)
            self._prepared_chunks += len(part_chunks)
            if batch.chunk_count >= BATCH_CHUNKS or not part.whole:
                batch = await self._send(batch, out)
        return batch

    async def _send(self, batch: _Batch, out: asyncio.Queue[_Batch | None]) -> _Batch:
        """Send `batch` on; returns a new one to fill."""
        self._tell()
        with self.report.stages.prepare.waits():
            await out.put(batch)
        return _Batch()

    async def _update_access(
        self, conn: psycopg.AsyncConnection[Any], docs: list[LoadedDocument]
    ) -> None:
        """Only `access` changed: no chunking, no embedding."""
        if not docs:
            return
        access = {d.external_id: list(d.access) for d in docs}
        await update_access(conn, self.plan.target.collection_id, access)
        self.report.updated += len(docs)

    def _accept(self, doc: LoadedDocument) -> bool:
        where = doc.source or doc.external_id
        try:
            check_document(doc)
            if doc.external_id in self.seen:
                raise InvalidInput(f"document id {doc.external_id!r} appears twice in this run")
        except InvalidInput as exc:
            if self.strict:
                raise InvalidInput(f"{where}: {exc.detail}") from exc
            self.report.fail(Failure(where, exc.detail))
            return False
        self.seen.add(doc.external_id)
        return True

    def _writable(self, doc: LoadedDocument, stored: dict[str, tuple[str, list[str]]]) -> bool:
        """The documents policy's rule for a scoped key (migrations 0004, 0009): it writes
        only documents it could read, new (`doc.access`) and replaced (the stored one's). A
        stored document it cannot read is refused like a malformed one, never replaced: the
        refusal tells the key only that the id is taken (docs/security.md)."""
        held = stored.get(doc.external_id)
        if held is not None and not self._readable(held[1]):
            detail = f"document id {doc.external_id!r} is taken by a document this key cannot read"
        elif not self._readable(doc.access):
            detail = f"this key may not give a document the groups {sorted(doc.access)}"
        else:
            return True
        if self.strict:
            raise Conflict(detail)
        self.report.fail(Failure(doc.source or doc.external_id, detail))
        return False

    def _readable(self, access: Sequence[str]) -> bool:
        """Whether the writer may read a document with these groups (as the policy says)."""
        writer = self.writer
        return (
            writer is None
            or not writer.scoped
            or not access
            or bool(set(access) & set(writer.groups))
        )

    async def _stored_hashes(
        self, conn: psycopg.AsyncConnection[Any], ids: list[str]
    ) -> dict[str, tuple[str, list[str]]]:
        """(content hash, access) of the stored documents among `ids`."""
        if not ids:
            return {}
        cursor = await conn.execute(
            "SELECT external_id, content_hash, access FROM documents"
            " WHERE collection_id = %s AND external_id = ANY(%s)",
            (self.plan.target.collection_id, ids),
        )
        return {row[0]: (row[1], row[2]) for row in await cursor.fetchall()}

    async def _embed_stage(
        self, inbox: asyncio.Queue[_Batch | None], out: asyncio.Queue[_Batch | None]
    ) -> None:
        stage = self.report.stages.embed
        with stage.running():
            while (batch := await _get(inbox, stage)) is not None:
                if await self._embed_batch(batch):
                    with stage.waits():
                        await out.put(batch)
        await out.put(None)  # only when all went well, as in `_prepare_stage`

    async def _embed_batch(self, batch: _Batch) -> bool:
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
        batch.records = list(_records(batch.pending, iter(vectors)))
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
        self, conn: psycopg.AsyncConnection[Any], inbox: asyncio.Queue[_Batch | None]
    ) -> None:
        stage = self.report.stages.write
        with stage.running():
            while (batch := await _get(inbox, stage)) is not None:
                if batch.part.whole:
                    await self._write(conn, batch)
                elif batch.part.ordinal == 0:
                    await self._write_parts(conn, batch, inbox)
                # else: a later part of a document that failed or was stored meanwhile

    async def _write_parts(
        self, conn: psycopg.AsyncConnection[Any], batch: _Batch, inbox: asyncio.Queue[_Batch | None]
    ) -> None:
        """Write a document sent in parts (`batch` is its first), all in one transaction
        once its last part is embedded: readers, a crash and a failure halfway all see the
        document either fully old or fully new. Its parts follow each other in `inbox`."""
        doc = batch.pending[0].doc
        with tempfile.TemporaryFile() as spill:
            try:
                parts = await self._spill_parts(batch, inbox, spill)
                spill.seek(0)
                written, chunks = await self._copy_spilled(conn, spill, parts)
            except CollectionDeleted:
                raise
            except (PgaskError, psycopg.Error) as exc:
                if self.strict:
                    raise
                self._dropped.add(doc.external_id)
                reason = (
                    str(exc) if isinstance(exc, _PartFailed) else f"database write failed: {exc}"
                )
                self.report.fail(Failure(doc.source or doc.external_id, reason))
                self._tell()
                return
        self._dropped.add(doc.external_id)  # nothing more of it to write (or skip)
        self._count_document(doc.external_id, written, chunks)
        self._tell()

    async def _spill_parts(
        self, batch: _Batch, inbox: asyncio.Queue[_Batch | None], spill: IO[bytes]
    ) -> int:
        """Each part's records into `spill` (pickled, one after the other) until the last
        part; returns how many. Raises the failure of a part that could not be embedded."""
        parts = 1
        pickle.dump(self._records(batch), spill)
        while not batch.part.last:
            batch = await self._next_part(inbox)
            pickle.dump(self._records(batch), spill)
            parts += 1
        return parts

    async def _copy_spilled(
        self, conn: psycopg.AsyncConnection[Any], spill: IO[bytes], parts: int
    ) -> tuple[Written, int]:
        """The spilled document in one transaction, a part in memory at a time; returns what
        the upsert wrote and the chunks copied (none when it was stored meanwhile)."""
        async with conn.transaction():
            first: list[DocumentRecord] = pickle.load(spill)
            written = await write_documents(conn, self.plan.target, first)
            document_id = written.ids.get(first[0].external_id)
            if document_id is None:
                return written, 0
            chunks = len(first[0].chunks)
            for _ in range(parts - 1):
                part: list[DocumentRecord] = pickle.load(spill)
                await append_chunks(conn, self.plan.target, document_id, *part)
                chunks += len(part[0].chunks)
            await finish_document(conn, self.plan.target, document_id, chunks)
        return written, chunks

    async def _next_part(self, inbox: asyncio.Queue[_Batch | None]) -> _Batch:
        batch = await _get(inbox, self.report.stages.write)
        if batch is None:
            raise RuntimeError("the embed stage ended in the middle of a document")
        return batch

    @staticmethod
    def _records(batch: _Batch) -> list[DocumentRecord]:
        """A part's records, or its failure (raised inside the document's transaction)."""
        if batch.failure is not None:
            raise _PartFailed(batch.failure)
        return batch.records

    async def _write(self, conn: psycopg.AsyncConnection[Any], batch: _Batch) -> None:
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

    def _count_written(self, batch: _Batch, written: Written) -> None:
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

    def _fail_batch(self, batch: _Batch, reason: str) -> None:
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


async def _get(queue: asyncio.Queue[_Batch | None], stage: Stage) -> _Batch | None:
    with stage.waits():
        return await queue.get()


async def _timed(items: AsyncIterable[Item], stage: Stage) -> AsyncIterator[Item]:
    """`items`, the time spent waiting for each counted as the stage's waiting."""
    iterator = aiter(items)
    while True:
        with stage.waits():
            try:
                item = await anext(iterator)
            except StopAsyncIteration:
                return
        yield item


def _first_error(group: BaseExceptionGroup[Any]) -> Exception:
    """The first error of a failed stage."""
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first if isinstance(first, Exception) else RuntimeError(str(first))


def _parts(chunks: Iterable[Chunk]) -> Iterator[tuple[list[Chunk], _Part]]:
    """A document's chunks in parts of BATCH_CHUNKS (one part, maybe empty, when it has no
    more), cut one part ahead to know which is the last."""
    stream = iter(chunks)
    part, ordinal = list(islice(stream, BATCH_CHUNKS)), 0
    while True:
        following = list(islice(stream, BATCH_CHUNKS))
        yield part, _Part(ordinal, last=not following)
        if not following:
            return
        part, ordinal = following, ordinal + len(part)


def _records(pending: list[_Pending], embedded: Iterator[Vectors]) -> Iterator[DocumentRecord]:
    for p in pending:
        vectors = p.vectors if p.vectors is not None else [next(embedded) for _ in p.chunks]
        yield DocumentRecord(
            external_id=p.doc.external_id,
            content_hash=p.hash,
            title=p.doc.title,
            source=p.doc.source,
            metadata=p.doc.metadata,
            access=p.doc.access,
            chunks=[
                ChunkRecord(
                    ordinal=p.part.ordinal + i,
                    text=c.text,
                    token_count=c.token_count,
                    embedding=vector,
                    section=c.section,
                    page=c.page,
                )
                for i, (c, vector) in enumerate(zip(p.chunks, vectors, strict=True))
            ],
        )


def with_vector(doc: LoadedDocument, vector: Vectors) -> Prepared:
    """A document whose embedding its sender computed: stored as exactly one chunk, its
    whole text, with that vector (no chunking, no embedding). The vector is part of the
    hash, so sending the same text with a new vector replaces it."""
    check_document(doc)
    check_vector(vector)
    text = "\n\n".join(b.text for b in doc.blocks)
    single = Chunk(text, count_tokens(text), "", None, 0, 0, len(text))
    digest = hashlib.sha256((content_hash(doc) + vector.tobytes().hex()).encode()).hexdigest()
    return Prepared(replace(doc, blocks=[]), digest, [single], vector.reshape(1, -1))
