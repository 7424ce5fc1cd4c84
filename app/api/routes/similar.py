"""GET /v1/collections/{c}/documents/{id}/similar: "more like this" by document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import SessionDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.reads import ReadRoute
from app.api.schemas.search import SimilarList
from app.catalog import COLLECTION_NAME_PATTERN
from app.search.service import MAX_K
from app.search.similar import similar_in

router = APIRouter(
    prefix="/v1/collections", tags=["search"], responses=PROBLEM_RESPONSES, route_class=ReadRoute
)


@router.get("/{collection}/documents/{external_id:path}/similar", response_model=SimilarList)
async def similar(
    session: SessionDep,
    collection: Annotated[str, Path(pattern=COLLECTION_NAME_PATTERN)],
    external_id: Annotated[str, Path(description="The document's external id")],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
) -> SimilarList:
    documents = await similar_in(session, collection, external_id, k)
    return SimilarList(
        collection=collection,
        external_id=external_id,
        documents=documents,
    )
