"""One document by its external id: reading it with or without its chunks (GET
/v1/collections/{c}/documents/{id}, the MCP `get_document` tool). Deleting it is
ingestion's (`ingest.removal`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import get_collection
from app.db.models import Chunk, Document
from app.errors import NotFound


async def find_document(session: AsyncSession, collection: str, external_id: str) -> Document:
    found = await get_collection(session, collection)
    document = await session.scalar(
        select(Document).where(
            Document.collection_id == found.id, Document.external_id == external_id
        )
    )
    if document is None:
        raise NotFound(f"document {external_id!r} is not in collection {collection!r}")
    return document


async def document_chunks(session: AsyncSession, document: Document) -> Sequence[Chunk]:
    """The document's chunks in reading order."""
    rows = await session.scalars(
        select(Chunk)
        .where(Chunk.collection_id == document.collection_id, Chunk.document_id == document.id)
        .order_by(Chunk.ordinal)
    )
    return rows.all()
