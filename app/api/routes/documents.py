"""POST /v1/collections/{c}/documents (JSON batch, synchronous),
POST /v1/collections/{c}/files (multipart, 202 + job),
GET|DELETE /v1/collections/{c}/documents/{id} (the id may contain '/', e.g. a file path)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from app.api.deps import EmbedderDep, IngestionDep, PrincipalDep, SessionDep, actor
from app.api.problems import PROBLEM_RESPONSES
from app.api.reads import ReadRoute
from app.api.routes.collections import CollectionName
from app.api.schemas.documents import DocumentBatch, DocumentOut, IngestResult
from app.api.schemas.jobs import JobCreated
from app.documents import document_chunks, find_document
from app.keys import parse_groups
from ingest import removal, sent
from ingest.uploads import queue_files

router = APIRouter(
    prefix="/v1/collections/{collection}",
    tags=["documents"],
    responses=PROBLEM_RESPONSES,
    route_class=ReadRoute,
)


@router.post("/documents", response_model=IngestResult)
async def add_documents(
    body: DocumentBatch,
    ingestion: IngestionDep,
    session: SessionDep,
    embedder: EmbedderDep,
    principal: PrincipalDep,
    collection: str = CollectionName,
) -> IngestResult:
    """Add or replace documents now. Each is chunked and embedded (or, given its `vector`,
    stored as one chunk with it); one whose content is unchanged is skipped without
    embedding. Returns the counts when they are stored."""
    batch = [doc.sent() for doc in body.documents]
    report = await sent.add_documents(ingestion, embedder, session, collection, batch, principal)
    return IngestResult.from_report(report)


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
    # Stored a piece at a time: the server never holds a whole upload.
    uploads = [(upload.filename, upload) for upload in files]
    job, count = await queue_files(
        ingestion, embedder, session, collection, uploads, groups, writer=principal
    )
    location = f"/v1/jobs/{job.id}"
    response.headers["Location"] = location
    return JobCreated(job_id=job.id, status=job.status, location=location, files=count)


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
    await removal.delete_document(session, collection, document_id, actor(principal))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
