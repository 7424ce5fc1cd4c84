"""Hybrid search's title signal: a document whose title the question names comes first
when the two sides alone rank another page above it (`sql.title_match`)."""

from __future__ import annotations

import numpy as np
import pytest

from app.db.models import Collection
from app.search.service import HybridOptions, SearchRequest, SearchTarget, search
from tests.search.conftest import clustered, document, load

pytestmark = pytest.mark.anyio

BODY = "takes a lock on the table and writes a new copy of it, so full space comes back"


async def _ranked(conn, collection: Collection, title_weight: float) -> list[str]:
    vectors = clustered(8, seed=11)
    docs = [
        document("named", [BODY], vectors[:1], title="VACUUM"),
        document("nearest", [BODY], vectors[1:2], title="Routine Maintenance Tasks"),
        *(
            document(f"other-{i}", [f"unrelated page {i} about replication"], vectors[2 + i :][:1])
            for i in range(6)
        ),
    ]
    await load(conn, collection, docs)
    # The question's vector is the untitled page's own: the vector side puts it first.
    request = SearchRequest(
        "hybrid",
        k=3,
        query="what does vacuum full do",
        vector=np.asarray(vectors[1]),
        hybrid=HybridOptions(title_weight=title_weight),
    )
    hits = await search(conn, SearchTarget.of(collection), request)
    return [h.external_id for h in hits]


async def test_without_the_title_signal_the_nearest_page_comes_first(
    conn, collection: Collection
) -> None:
    assert (await _ranked(conn, collection, 0.0))[0] == "nearest"


async def test_a_page_whose_title_the_question_names_comes_first(
    conn, collection: Collection
) -> None:
    assert (await _ranked(conn, collection, 1.0))[:2] == ["named", "nearest"]
