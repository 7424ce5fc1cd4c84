"""Documents sent in a request (POST /v1/collections/{c}/documents), ingested while the
request waits: chunked and embedded, or stored as one chunk with the vector their sender
gave. Strict: the first bad document fails the batch before anything of it is written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import Principal
from app.catalog import get_collection
from app.embeddings.base import Embedder
from app.errors import InvalidInput, PayloadTooLarge
from ingest.context import Ingestion
from ingest.items import Item, with_vector
from ingest.loaders import LoadedDocument
from ingest.report import Report
from ingest.service import build_pipeline


@dataclass(frozen=True)
class SentDocument:
    doc: LoadedDocument
    vector: Sequence[float] | None = None  # the sender's own embedding of its text


async def add_documents(
    ingestion: Ingestion,
    embedder: Embedder,
    session: AsyncSession,
    collection: str,
    sent: Sequence[SentDocument],
    writer: Principal | None,
) -> Report:
    """Add or replace the documents in `collection` (looked up as `session`'s principal,
    written with `writer`'s rights); the report once they are stored. A batch above
    PGASK_INGEST_MAX_BATCH_DOCUMENTS is PayloadTooLarge."""
    most = ingestion.settings.pgask_ingest_max_batch_documents
    if len(sent) > most:
        raise PayloadTooLarge(
            f"{len(sent)} documents in one request; at most {most}"
            " (PGASK_INGEST_MAX_BATCH_DOCUMENTS): send several batches or upload files"
        )
    found = await get_collection(session, collection)
    # Off the event loop: a batch of vectors is converted, checked, counted and hashed.
    items = await asyncio.to_thread(_items, sent, found.embedding_dimensions)
    pipeline = await build_pipeline(
        ingestion,
        embedder,
        found,
        expected_documents=len(sent),
        incoming=[s.doc.external_id for s in sent],
        strict=True,
        writer=writer,
    )
    report = await pipeline.run(_each(items))
    ingestion.count(report)
    return report


def _items(sent: Sequence[SentDocument], dimensions: int) -> list[Item]:
    """The batch as pipeline items, every vector checked before anything is written."""
    items: list[Item] = []
    for number, one in enumerate(sent):
        if one.vector is None:
            items.append(one.doc)
            continue
        if len(one.vector) != dimensions:
            raise InvalidInput(
                f"documents[{number}].vector has {len(one.vector)} values;"
                f" the collection takes {dimensions} dimensions"
            )
        try:
            items.append(with_vector(one.doc, np.asarray(one.vector, dtype=np.float32)))
        except InvalidInput as exc:
            raise InvalidInput(f"documents[{number}].{exc.detail}") from exc
    return items


async def _each(items: list[Item]) -> AsyncIterator[Item]:
    for item in items:
        yield item
