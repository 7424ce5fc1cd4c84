"""A collection pins the provider, model and dimensions it was created with; another
configured embedder is a clear Conflict, never a silently mixed collection."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import check_compatible, create_collection, get_collection
from app.config import Settings
from app.embeddings.local import LocalEmbedder
from app.errors import Conflict
from app.main import create_app
from tests.fake_openai import FakeOpenAI
from tests.servers import ServerThread

pytestmark = pytest.mark.anyio


async def test_openai_collection_is_pinned_and_refuses_the_local_model(
    settings: Settings,
    fake_openai: FakeOpenAI,
    session: AsyncSession,
    local_embedder: LocalEmbedder,
    collection_name: str,
) -> None:
    openai_settings = settings.model_copy(
        update={
            "embedding_provider": "openai",
            "embedding_model": "text-embedding-3-large",
            "embedding_dimensions": 256,
            "openai_base_url": fake_openai.base_url,
        }
    )
    with ServerThread(create_app(openai_settings)) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            created = await http.post("/v1/collections", json={"name": collection_name})
    assert created.status_code == 201, created.text

    collection = await get_collection(session, collection_name)
    pinned = (
        collection.embedding_provider,
        collection.embedding_model,
        collection.embedding_dimensions,
    )
    assert pinned == ("openai", "text-embedding-3-large", 256)

    with pytest.raises(Conflict) as caught:
        check_compatible(collection, local_embedder)
    message = str(caught.value)
    assert caught.value.status == 409
    assert "openai model 'text-embedding-3-large' (256 dimensions)" in message
    assert "local model 'sentence-transformers/all-MiniLM-L6-v2' (384 dimensions)" in message


async def test_the_same_model_is_compatible(
    session: AsyncSession, local_embedder: LocalEmbedder, collection_name: str
) -> None:
    collection = await create_collection(session, local_embedder, name=collection_name)
    assert collection.chunk_size <= local_embedder.max_input_tokens  # type: ignore[operator]
    check_compatible(collection, local_embedder)
