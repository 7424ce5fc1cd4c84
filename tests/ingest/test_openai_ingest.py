"""Ingesting with the `openai` provider keeps EMBEDDING_MAX_CONCURRENCY requests in flight
(the pipeline hands the embedder enough texts per call: `Embedder.call_size`), against the
fake server on 127.0.0.1 answering each request after a round trip of `latency`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import create_collection
from app.config import Settings
from app.embeddings.openai import OpenAIEmbedder
from ingest.context import Ingestion
from ingest.items import Item
from ingest.loaders import Block, LoadedDocument
from ingest.pipeline import EMBED_STEP, Pipeline
from ingest.service import make_plan
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.anyio

BATCH, CONCURRENCY = 64, 16


@pytest.fixture
async def openai_embedder(
    settings: Settings, fake_openai: FakeOpenAI
) -> AsyncIterator[OpenAIEmbedder]:
    configured = settings.model_copy(
        update={
            "embedding_provider": "openai",
            "embedding_model": "text-embedding-3-small",
            "embedding_dimensions": 8,
            "openai_base_url": fake_openai.base_url,
            "embedding_batch_size": BATCH,
            "embedding_max_concurrency": CONCURRENCY,
        }
    )
    embedder = OpenAIEmbedder(configured.embeddings, configured.openai)
    yield embedder
    await embedder.aclose()


async def _documents(count: int) -> AsyncIterator[Item]:
    for i in range(count):
        yield LoadedDocument(f"d{i}", [Block(f"Passage {i} about topic {i % 7}.")])


async def test_every_allowed_request_is_in_flight_at_once(
    ingestion: Ingestion,
    openai_embedder: OpenAIEmbedder,
    fake_openai: FakeOpenAI,
    session: AsyncSession,
    collection_name: str,
) -> None:
    texts = BATCH * CONCURRENCY  # one pipeline batch, more than EMBED_STEP texts
    assert texts > EMBED_STEP
    collection = await create_collection(session, openai_embedder, name=collection_name)
    fake_openai.latency = 0.5  # the requests of one call overlap at the server
    plan = await make_plan(ingestion, collection, openai_embedder, expected_documents=texts)
    report = await Pipeline(ingestion.db, openai_embedder, plan).run(_documents(texts))
    assert (report.added, report.embedded) == (texts, texts)
    assert len(fake_openai.requests) == CONCURRENCY
    # Calls of EMBED_STEP (256) texts kept only 4 requests of 64 in flight.
    assert fake_openai.max_in_flight == CONCURRENCY
