"""POST /v1/collections/{c}/documents (JSON batch, synchronous),
POST /v1/collections/{c}/files (multipart, 202 + job),
GET|DELETE /v1/collections/{c}/documents/{id} (the id may contain '/', e.g. a file path)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from app import documents
from app.api.deps import EmbedderDep, IngestionDep, PrincipalDep, SessionDep, SettingsDep, actor
from app.api.problems import PROBLEM_RESPONSES
from app.api.reads import ReadRoute
from app.api.routes.collections import CollectionName
from app.api.schemas.documents import DocumentBatch, DocumentOut, IngestResult
from app.api.schemas.jobs import JobCreated
from app.catalog import check_compatible, get_collection
from app.documents import document_chunks, find_document
from app.errors import InvalidInput, PayloadTooLarge
from app.keys import parse_groups
from ingest.items import Item, with_vector
from ingest.loaders import Block, LoadedDocument
from ingest.service import build_pipeline
from ingest.uploads import create_job

router = APIRouter(
    prefix="/v1/collections/{collection}",
    tags=["documents"],
    responses=PROBLEM_RESPONSES,
    route_class=ReadRoute,
)


def _items(batch: DocumentBatch, dimensions: int) -> list[Item]:
    """The batch as pipeline items, every vector checked before anything is written."""
    items: list[Item] = []
    for number, doc in enumerate(batch.documents):
        loaded = LoadedDocument(
            doc.id,
            [Block(doc.text.strip())],
            title=doc.title,
            source=doc.source,
            metadata=doc.metadata,
            format="api",
            access=tuple(doc.access),
        )
        if doc.vector is None:
            items.append(loaded)
            continue
        if len(doc.vector) != dimensions:
            raise InvalidInput(
                f"documents[{number}].vector has {len(doc.vector)} values;"
                f" the collection takes {dimensions} dimensions"
            )
        try:
            items.append(with_vector(loaded, np.asarray(doc.vector, dtype=np.float32)))
        except InvalidInput as exc:
            raise InvalidInput(f"documents[{number}].{exc.detail}") from exc
    return items


async def _each(items: list[Item]) -> AsyncIterator[Item]:
    for item in items:
        yield item


@router.post("/documents", response_model=IngestResult)
async def add_documents(
    body: DocumentBatch,
    settings: SettingsDep,
    ingestion: IngestionDep,
    session: SessionDep,
    embedder: EmbedderDep,
    principal: PrincipalDep,
    collection: str = CollectionName,
) -> IngestResult:
    """Add or replace documents now. Each is chunked and embedded (or, given its `vector`,
    stored as one chunk with it); one whose content is unchanged is skipped without
    embedding. Returns the counts when they are stored."""
    most = settings.pgask_ingest_max_batch_documents
    if len(body.documents) > most:
        raise PayloadTooLarge(
            f"{len(body.documents)} documents in one request; at most {most}"
            " (PGASK_INGEST_MAX_BATCH_DOCUMENTS): send several batches or upload files"
        )
    found = await get_collection(session, collection)
    # Off the event loop: a batch of vectors is converted, checked, counted and hashed.
    items = await asyncio.to_thread(_items, body, found.embedding_dimensions)
    pipeline = await build_pipeline(
        ingestion,
        embedder,
        found,
        expected_documents=len(body.documents),
        incoming=[doc.id for doc in body.documents],
        strict=True,
        writer=principal,
    )
    report = await pipeline.run(_each(items))
    ingestion.count(report)
    return IngestResult.from_report(report)


def _upload_name(upload: UploadFile) -> str:
    name = (upload.filename or "").replace("\\", "/").lstrip("/")
    if not name or "\x00" in name:
        raise InvalidInput("every uploaded file needs a file name (it becomes the document id)")
    return name


@router.post(
    "/files",
    response_model=JobCreated,
    status_code=status.HTTP_202_ACCEPTED,
    responses={202: {"headers": {"Location": {"description": "the job's URL"}}}},
)
async def upload_files(
    response: Response,
    ingestion: IngestionDep,
    session: SessionDep,
    embedder: EmbedderDep,
    principal: PrincipalDep,
    files: Annotated[list[UploadFile], File(description="md, txt, html, pdf or BEIR jsonl")],
    access: Annotated[
        str, Form(description="Comma-separated groups that may read these files")
    ] = "",
    collection: str = CollectionName,
) -> JobCreated:
    """Queue files for ingestion; a worker processes them. Poll the job for progress."""
    groups = parse_groups(access, "access")
    found = await get_collection(session, collection)
    check_compatible(found, embedder)
    uploads: dict[str, UploadFile] = {}
    for upload in files:
        name = _upload_name(upload)
        if name in uploads:
            raise InvalidInput(f"file name {name!r} appears twice in one upload")
        uploads[name] = upload
    # Stored a piece at a time: the server never holds a whole upload.
    job = await create_job(ingestion, found, list(uploads.items()), groups, writer=principal)
    location = f"/v1/jobs/{job.id}"
    response.headers["Location"] = location
    return JobCreated(job_id=job.id, status=job.status, location=location, files=len(uploads))


@router.get("/documents/{document_id:path}", response_model=DocumentOut)
async def get_document(
    session: SessionDep,
    document_id: str,
    collection: str = CollectionName,
    chunks: Annotated[bool, Query(description="Include the chunks' text")] = False,
) -> DocumentOut:
    document = await find_document(session, collection, document_id)
    return DocumentOut.of(document, await document_chunks(session, document) if chunks else None)


@router.delete("/documents/{document_id:path}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(
    session: SessionDep,
    principal: PrincipalDep,
    document_id: str,
    collection: str = CollectionName,
) -> Response:
    """Delete the document and its chunks."""
    await documents.delete_document(session, collection, document_id, actor(principal))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
