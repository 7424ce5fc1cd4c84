"""POST /v1/search: vector, full-text or hybrid search with metadata filters."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter

from app.api.deps import EmbedderDep, SessionDep, SettingsDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.reads import QueryRoute
from app.api.schemas.search import SearchIn, SearchOut, Timings
from app.search.service import HybridOptions, SearchRequest, per_document_cap, run_search

router = APIRouter(
    prefix="/v1/search", tags=["search"], responses=PROBLEM_RESPONSES, route_class=QueryRoute
)


@router.post("", response_model=SearchOut)
async def search(
    body: SearchIn, session: SessionDep, embedder: EmbedderDep, settings: SettingsDep
) -> SearchOut:
    mode = body.effective_mode
    request = SearchRequest(
        mode=mode,
        k=body.k,
        query=body.query,
        vector=None if body.vector is None else np.asarray(body.vector, dtype=np.float32),
        filter=body.filter,
        include_text=body.include_text,
        hybrid=body.hybrid.options() if body.hybrid else HybridOptions(),
        max_per_document=per_document_cap(body.max_per_document, settings.search.max_per_document),
        ef_search=body.ef_search,
    )
    result = await run_search(session, embedder, body.collection, request)
    return SearchOut(
        collection=body.collection,
        mode=mode,
        k=body.k,
        hits=result.hits,
        timings=Timings(embed_ms=round(result.embed_ms, 2), search_ms=round(result.search_ms, 2)),
    )
