"""GET /v1/collections/{c}/export (streamed Parquet) and POST /v1/collections/{c}/import."""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.api.deps import DatabaseDep, PrincipalDep
from app.api.problems import PROBLEM_RESPONSES
from app.catalog import COLLECTION_NAME_PATTERN
from app.errors import ServiceUnavailable
from ingest.transfer.exporter import Export, start_export
from ingest.transfer.importer import import_into as import_into_database

router = APIRouter(prefix="/v1/collections", tags=["collections"], responses=PROBLEM_RESPONSES)

CollectionName = Annotated[str, PathParam(pattern=COLLECTION_NAME_PATTERN)]
PARQUET = "application/vnd.apache.parquet"
# The import's own body limit (PGASK_MAX_IMPORT_MB) applies to the paths this matches.
IMPORT_PATH = re.compile(r"/v1/collections/[^/]+/import")


class ImportOut(BaseModel):
    name: str
    documents: int
    chunks: int
    replaced: bool


@router.get("/{collection}/export", response_class=StreamingResponse)
async def export_collection(
    db: DatabaseDep, principal: PrincipalDep, collection: CollectionName
) -> StreamingResponse:
    """The collection as a pgask export (docs/export-format.md), streamed as it is read.
    Admin keys only: an export is the whole collection, embeddings included."""
    # A missing collection is a 404 here, before any byte is sent; then the export holds its
    # connection (and snapshot) until the last byte is.
    export = await start_export(db, principal, collection)
    headers = {"Content-Disposition": f'attachment; filename="{collection}.parquet"'}
    return StreamingResponse(_stream(export), media_type=PARQUET, headers=headers)


async def _stream(export: Export) -> AsyncIterator[bytes]:
    try:
        async for piece in export.chunks():
            yield piece
    finally:
        await export.close()


@router.post("/{collection}/import", response_model=ImportOut, status_code=status.HTTP_201_CREATED)
async def import_into(
    request: Request,
    db: DatabaseDep,
    collection: CollectionName,
    replace: Annotated[bool, Query(description="Replace an existing collection")] = False,
) -> ImportOut:
    """Create (or with `replace`, swap in) `collection` from a pgask export sent as the
    request body, up to PGASK_MAX_IMPORT_MB. Parquet is read from its end, so the body is
    spooled to a temporary file (TMPDIR) as it arrives: memory stays flat, whatever its size."""
    with tempfile.TemporaryDirectory(prefix="pgask-import-") as folder:
        path = Path(folder) / "import.parquet"
        await _spool(request, path)
        # Admin keys only (AuthMiddleware).
        result = await import_into_database(
            db, path, name=collection, replace=replace, shown_as="the uploaded export"
        )
    return ImportOut.model_validate(result, from_attributes=True)


async def _spool(request: Request, path: Path) -> None:
    try:
        async with await anyio.open_file(path, "wb") as spool:
            async for piece in request.stream():
                await spool.write(piece)
    except OSError as exc:  # a full or read-only temporary directory
        raise ServiceUnavailable(f"cannot spool the import to disk: {exc.strerror}") from exc
