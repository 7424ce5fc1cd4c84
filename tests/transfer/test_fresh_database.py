"""Export from one installation, import into another (a new database, migrated from
nothing): the same search results, hit for hit, in every mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.database import Database
from app.db.models import Collection
from app.embeddings import Embedder
from app.search.service import Hit, SearchRequest, run_search
from tests.transfer.conftest import pgask
from tests.transfer.test_round_trip import QUERIES

pytestmark = pytest.mark.anyio


@pytest.fixture
async def fresh_session(fresh_db_url: str, settings: Settings) -> AsyncIterator[AsyncSession]:
    db = Database(make_url(fresh_db_url), settings)
    try:
        async with db.owner_session() as session:
            yield session
    finally:
        await db.dispose()


def identity(hits: list[Hit]) -> list[tuple[str, str, int | None]]:
    """What names a hit in both databases (chunk and document ids are each database's own)."""
    return [(h.external_id, h.section, h.page) for h in hits]


async def test_import_into_a_fresh_database_gives_the_same_results(
    exported: Path,
    filled: Collection,
    settings: Settings,
    session: AsyncSession,
    fresh_db_url: str,
    fresh_session: AsyncSession,
    embedder: Embedder,
) -> None:
    fresh = settings.model_copy(update={"database_url": fresh_db_url})
    done = pgask(["import", str(exported)], fresh)
    assert done.returncode == 0, done.stderr
    assert f"created {filled.name}: 5 documents, 8 chunks" in done.stdout

    compared = 0
    for mode in ("vector", "text", "hybrid"):
        for query in QUERIES:
            request = SearchRequest(mode, k=8, query=query)
            before = (await run_search(session, embedder, filled.name, request)).hits
            after = (await run_search(fresh_session, embedder, filled.name, request)).hits
            assert identity(after) == identity(before), (mode, query)
            assert [h.text for h in after] == [h.text for h in before]
            assert [h.score for h in after] == pytest.approx([h.score for h in before], abs=1e-6)
            compared += len(before)
    assert compared >= 3 * len(QUERIES)  # every mode and query found something to compare
