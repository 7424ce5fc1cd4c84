"""GET|POST /v1/collections, GET|DELETE /v1/collections/{name}."""

from __future__ import annotations

from fastapi import APIRouter, Path, Response, status

from app import audit, catalog
from app.api.deps import EmbedderDep, PrincipalDep, SessionDep, actor
from app.api.problems import PROBLEM_RESPONSES
from app.api.reads import ReadRoute
from app.api.schemas.collections import (
    CollectionCreate,
    CollectionList,
    CollectionOut,
)
from app.catalog import COLLECTION_NAME_PATTERN

router = APIRouter(
    prefix="/v1/collections",
    tags=["collections"],
    responses=PROBLEM_RESPONSES,
    route_class=ReadRoute,
)

CollectionName = Path(pattern=COLLECTION_NAME_PATTERN, description="Collection name")


@router.get("", response_model=CollectionList)
async def list_collections(session: SessionDep) -> CollectionList:
    stats = await catalog.list_collections(session)
    return CollectionList(collections=[CollectionOut.model_validate(s) for s in stats])


@router.post("", response_model=CollectionOut, status_code=status.HTTP_201_CREATED)
async def create_collection(
    body: CollectionCreate, session: SessionDep, embedder: EmbedderDep, principal: PrincipalDep
) -> CollectionOut:
    await audit.record(session, actor(principal), "collection.created", body.name)
    await catalog.create_collection(
        session,
        embedder,
        name=body.name,
        description=body.description,
        chunk_size=body.chunk_size,
        chunk_overlap=body.chunk_overlap,
        text_config=body.text_config,
        vector_type=body.vector_type,
    )
    return CollectionOut.model_validate(await catalog.collection_stats(session, body.name))


@router.get("/{collection}", response_model=CollectionOut)
async def get_collection(session: SessionDep, collection: str = CollectionName) -> CollectionOut:
    return CollectionOut.model_validate(await catalog.collection_stats(session, collection))


@router.delete("/{collection}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_collection(
    session: SessionDep, principal: PrincipalDep, collection: str = CollectionName
) -> Response:
    await audit.record(session, actor(principal), "collection.deleted", collection)
    await catalog.delete_collection(session, collection)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
