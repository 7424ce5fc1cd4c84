"""GET /v1/models: the collections as OpenAI models, so chat UIs that list models first
(Open WebUI, LibreChat) can connect to pgask as to any OpenAI-compatible server."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.api.problems import OPENAI_ERROR_RESPONSES
from app.api.schemas.chat import ModelList, ModelOut
from app.catalog import all_collections

router = APIRouter(tags=["answers"], responses=OPENAI_ERROR_RESPONSES)


@router.get("/v1/models", response_model=ModelList)
async def list_models(session: SessionDep) -> ModelList:
    """Every collection the caller's key may read, as a model to pass to chat completions."""
    collections = await all_collections(session)
    return ModelList(
        data=[ModelOut(id=c.name, created=int(c.created_at.timestamp())) for c in collections]
    )
