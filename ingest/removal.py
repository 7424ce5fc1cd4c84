"""One document deleted on request (DELETE /v1/collections/{c}/documents/{id}): found as
the request's principal, deleted by the writer's own delete (collection id bound, custom
plans, chunks cascading in the collection's partition), audited, in one transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.db.database import driver_connection
from app.documents import find_document
from ingest.writer import delete_documents


async def delete_document(
    session: AsyncSession, collection: str, external_id: str, actor: str | None
) -> None:
    """Delete the document and its chunks as the session's principal (a document it cannot
    read is a NotFound, like a missing one), and audit it."""
    document = await find_document(session, collection, external_id)
    conn = await driver_connection(session)
    await delete_documents(conn, document.collection_id, [external_id])
    await audit.record(session, actor, "document.deleted", f"{collection}/{external_id}")
    await session.commit()
