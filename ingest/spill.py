"""A document too large for one batch, written in one transaction: its embedded parts are
spilled to a temporary file until the last one has come, then read back one at a time
(upsert and old chunks deleted with the first, COPY of each). The transaction so lasts the
COPY only, never the embedding: held open for minutes, its locks on the partitioned parents
would make every collection's delete (ACCESS EXCLUSIVE) fail and every new collection's
ATTACH wait, with every other writer queued behind it."""

from __future__ import annotations

import pickle
from collections.abc import Awaitable, Callable
from typing import IO, Any

import psycopg

from app.errors import PgaskError
from ingest.batches import Batch
from ingest.writer import (
    DocumentRecord,
    Target,
    Written,
    append_chunks,
    finish_document,
    write_documents,
)


class PartFailed(PgaskError):
    """A part of a document written in parts failed before the write stage got it."""


def part_records(batch: Batch) -> list[DocumentRecord]:
    """A part's records, or its failure (raised inside the document's transaction)."""
    if batch.failure is not None:
        raise PartFailed(batch.failure)
    return batch.records


async def spill_parts(
    first: Batch, next_part: Callable[[], Awaitable[Batch]], spill: IO[bytes]
) -> int:
    """Each part's records into `spill` (pickled, one after the other), from `first` until
    the last part; returns how many. Raises the failure of a part that could not be
    embedded."""
    batch, parts = first, 1
    pickle.dump(part_records(batch), spill)
    while not batch.part.last:
        batch = await next_part()
        pickle.dump(part_records(batch), spill)
        parts += 1
    return parts


async def copy_spilled(
    conn: psycopg.AsyncConnection[Any], target: Target, spill: IO[bytes], parts: int
) -> tuple[Written, int]:
    """The spilled document in one transaction, a part in memory at a time; returns what
    the upsert wrote and the chunks copied (none when it was stored meanwhile)."""
    async with conn.transaction():
        first: list[DocumentRecord] = pickle.load(spill)
        written = await write_documents(conn, target, first)
        document_id = written.ids.get(first[0].external_id)
        if document_id is None:
            return written, 0
        chunks = len(first[0].chunks)
        for _ in range(parts - 1):
            part: list[DocumentRecord] = pickle.load(spill)
            await append_chunks(conn, target, document_id, *part)
            chunks += len(part[0].chunks)
        await finish_document(conn, target, document_id, chunks)
    return written, chunks
