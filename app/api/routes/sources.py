"""/v1/sources: sources kept in sync. Admin keys add and remove them; a key sees those of
its collections whose groups it holds (a source it may not see is a 404, like a missing
one); write keys may also ask for a sync."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.api.deps import IngestionDep, PrincipalDep
from app.api.fast_json import JsonRoute
from app.api.problems import PROBLEM_RESPONSES
from app.api.schemas.sources import SourceCreate, SourceList, SourceOut, SyncQueued
from ingest.sources import service

router = APIRouter(
    prefix="/v1/sources", tags=["sources"], responses=PROBLEM_RESPONSES, route_class=JsonRoute
)


@router.post("", response_model=SourceOut, status_code=status.HTTP_201_CREATED)
async def add_source(
    body: SourceCreate, ingestion: IngestionDep, principal: PrincipalDep
) -> SourceOut:
    """Add a source; its options are checked (a folder exists, a repository answers)."""
    return SourceOut.of(await service.add_source(ingestion, principal, body.spec()))


@router.get("", response_model=SourceList)
async def list_sources(ingestion: IngestionDep, principal: PrincipalDep) -> SourceList:
    found = await service.list_sources(ingestion, principal)
    return SourceList(sources=[SourceOut.of(i) for i in found])


@router.get("/{name}", response_model=SourceOut)
async def get_source(name: str, ingestion: IngestionDep, principal: PrincipalDep) -> SourceOut:
    return SourceOut.of(await service.get_source(ingestion, principal, name))


@router.post("/{name}/sync", response_model=SyncQueued, status_code=status.HTTP_202_ACCEPTED)
async def sync_source(name: str, ingestion: IngestionDep, principal: PrincipalDep) -> SyncQueued:
    """Queue a sync (or return the one queued or running): a job the workers run."""
    return SyncQueued(source=name, job_id=await service.sync_now(ingestion, principal, name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_source(
    name: str, ingestion: IngestionDep, principal: PrincipalDep, keep_documents: bool = False
) -> Response:
    """Remove the source and, unless keep_documents, the documents it brought."""
    await service.remove_source(ingestion, principal, name, keep_documents=keep_documents)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
