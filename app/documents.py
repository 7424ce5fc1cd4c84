"""One document by its external id: reading it with or without its chunks (GET
/v1/collections/{c}/documents/{id}, the MCP `get_document` tool) and deleting it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.catalog import get_collection
from app.db.database import driver_connection
from app.db.models import Chunk, Document
from app.errors import NotFound
from ingest.writer import delete_documents


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


async def delete_document(
    session: AsyncSession, collection: str, external_id: str, actor: str | None
) -> None:
    """Delete the document and its chunks as the session's principal (a document it cannot
    read is a NotFound, like a missing one) with the writer's own delete, and audit it."""
    document = await find_document(session, collection, external_id)
    conn = await driver_connection(session)
    await delete_documents(conn, document.collection_id, [external_id])
    await audit.record(session, actor, "document.deleted", f"{collection}/{external_id}")
    await session.commit()
