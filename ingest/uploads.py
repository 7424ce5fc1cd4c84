"""Uploads queued as ingest jobs: each file stored in the database a piece at a time, as
it is received, so neither an upload nor the queue is ever held whole in memory."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal
from app.catalog import check_compatible, get_collection
from app.db.models import Collection, IngestJob, IngestJobFile
from app.embeddings.base import Embedder
from app.errors import InvalidInput, PayloadTooLarge, ServiceUnavailable
from ingest.context import Ingestion
from ingest.job_queue import writer_params
from ingest.loaders import file_format

PIECE_BYTES = 2**20  # an upload is stored, and fetched, in rows of at most this many bytes


class Readable(Protocol):
    """An upload being received (FastAPI's `UploadFile`): read in pieces, never whole."""

    async def read(self, size: int = -1) -> bytes: ...


# A line with something other than whitespace on it, matched without copying the line.
_FILLED_LINE = re.compile(rb"^[^\S\n]*\S", re.MULTILINE)
_NOT_SPACE = re.compile(rb"\S")


class FilledLines:
    """Counts the lines holding something other than whitespace (one document each in a
    JSON Lines file) of a file read in pieces; a line may run over several pieces."""

    def __init__(self) -> None:
        self._complete = 0
        self._open_line_filled = False

    def feed(self, piece: bytes) -> None:
        first = piece.find(b"\n")
        if first == -1:
            self._open_line_filled |= _NOT_SPACE.search(piece) is not None
            return
        if self._open_line_filled or _NOT_SPACE.search(piece, 0, first):
            self._complete += 1
        last = piece.rfind(b"\n")
        self._complete += sum(1 for _ in _FILLED_LINE.finditer(piece, first + 1, last + 1))
        self._open_line_filled = _NOT_SPACE.search(piece, last + 1) is not None

    @property
    def count(self) -> int:
        return self._complete + self._open_line_filled


async def _pieces(content: bytes | Readable) -> AsyncIterator[bytes]:
    """The content in pieces of at most PIECE_BYTES; an empty file is one empty piece."""
    if isinstance(content, bytes):
        for start in range(0, max(len(content), 1), PIECE_BYTES):
            yield content[start : start + PIECE_BYTES]
        return
    piece = await content.read(PIECE_BYTES)
    yield piece
    while piece := await content.read(PIECE_BYTES):
        yield piece


async def queue_files(
    ingestion: Ingestion,
    embedder: Embedder,
    session: AsyncSession,
    collection: str,
    files: Sequence[tuple[str | None, Readable]],
    access: Sequence[str] = (),
    writer: Principal | None = None,
) -> tuple[IngestJob, int]:
    """Queue uploaded files (name as the client sent it, content) into `collection`, looked
    up as `session`'s principal and checked against this embedder; the job and how many
    files it holds. Every file needs a name, and a name appears once: it becomes the
    document id."""
    found = await get_collection(session, collection)
    check_compatible(found, embedder)
    named: dict[str, Readable] = {}
    for sent_name, content in files:
        name = _upload_name(sent_name)
        if name in named:
            raise InvalidInput(f"file name {name!r} appears twice in one upload")
        named[name] = content
    job = await create_job(ingestion, found, list(named.items()), access, writer=writer)
    return job, len(named)


def _upload_name(sent: str | None) -> str:
    name = (sent or "").replace("\\", "/").lstrip("/")
    if not name or "\x00" in name:
        raise InvalidInput("every uploaded file needs a file name (it becomes the document id)")
    return name


async def create_job(
    ingestion: Ingestion,
    collection: Collection,
    files: Sequence[tuple[str, bytes | Readable]],
    access: Sequence[str] = (),
    writer: Principal | None = None,
) -> IngestJob:
    """Queue the files for ingestion into `collection`, in one transaction, unless
    PGASK_INGEST_MAX_QUEUED_JOBS jobs already wait or run (uploads are stored in the
    database until a worker takes them, so an unbounded queue is unbounded disk).

    Each file is stored as it is read, a piece at a time, so an upload is never held whole
    in memory. A file over PGASK_INGEST_MAX_FILE_MB fails the whole upload (PayloadTooLarge)
    and nothing of it is kept."""
    most = ingestion.settings.pgask_ingest_max_file_mb * 2**20
    async with ingestion.db.owner_session() as session:
        await _check_queue(session, ingestion.settings.pgask_ingest_max_queued_jobs)
        job = IngestJob(
            collection_id=collection.id,
            params={
                "files": [name for name, _ in files],
                "access": list(access),
                "writer": writer_params(writer),
            },
            total=0,
        )
        session.add(job)
        await session.flush()
        for name, content in files:
            job.total += await _store_file(session, job.id, name, content, most)
        await session.commit()
        await session.refresh(job)
        return job


async def _store_file(
    session: AsyncSession, job_id: uuid.UUID, name: str, content: bytes | Readable, most: int
) -> int:
    """Insert the file's pieces; the number of documents it should hold: one per non-empty
    line of a JSON Lines file, one for any other file."""
    lines = FilledLines() if file_format(name) == "beir" else None
    size = 0
    part = 0
    async for piece in _pieces(content):
        size += len(piece)
        if size > most:
            raise PayloadTooLarge(f"{name}: above PGASK_INGEST_MAX_FILE_MB ({most // 2**20} MiB)")
        if lines is not None:
            lines.feed(piece)
        await session.execute(
            insert(IngestJobFile).values(job_id=job_id, name=name, part=part, content=piece)
        )
        part += 1
    return lines.count if lines is not None else 1


async def _check_queue(session: AsyncSession, most: int) -> None:
    # One queue check at a time, so concurrent uploads cannot all pass it together.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('pgask.ingest_queue'))"))
    waiting = await session.scalar(
        select(func.count())
        .select_from(IngestJob)
        .where(IngestJob.status.in_(("queued", "running")))
    )
    if (waiting or 0) >= most:
        raise ServiceUnavailable(
            f"{waiting} ingest jobs are queued or running, the most PGASK_INGEST_MAX_QUEUED_JOBS"
            f" ({most}) allows; retry when some have finished"
        )
