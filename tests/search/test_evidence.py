"""Hybrid search's document evidence: a chunk's fused score gains `document_weight` times
the log of how many of its document's chunks are among the best fused candidates, so a page
that several passages match comes before a single passage elsewhere that matches a little
better (docs/decisions/0044-document-evidence.md)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from app.db.models import Collection
from app.search.service import HybridOptions, SearchRequest, SearchTarget, search
from tests.search.conftest import document, load

pytestmark = pytest.mark.anyio

DIMS = 384


def at_cosine(cosines: list[float], first_axis: int) -> npt.NDArray[np.float32]:
    """Unit vectors at the given cosines to the query (axis 0), each leaning on an axis of
    its own, so their only likeness to each other is through the query."""
    rows = np.zeros((len(cosines), DIMS), dtype=np.float32)
    for i, cosine in enumerate(cosines):
        rows[i, 0] = cosine
        rows[i, first_axis + i] = math.sqrt(1 - cosine**2)
    return rows


QUERY = np.eye(1, DIMS, dtype=np.float32)[0]
# The question's words are in no chunk: only the vector side ranks, so the fused scores are
# 0.7 x the similarities min-max normalised over the candidates.
WORDS = "zyzzyva"


async def load_pages(conn, collection: Collection) -> None:
    await load(
        conn,
        collection,
        [
            document("single", ["one passage"], at_cosine([0.95], 1)),
            document("page", ["first", "second", "third"], at_cosine([0.92, 0.91, 0.90], 2)),
            *(document(f"far-{i}", ["far away"], at_cosine([0.1], 10 + i)) for i in range(5)),
        ],
    )


def hybrid(**options: Any) -> SearchRequest:
    return SearchRequest("hybrid", k=4, query=WORDS, vector=QUERY, hybrid=HybridOptions(**options))


async def test_a_page_several_passages_match_comes_before_a_single_better_passage(
    conn, collection: Collection
) -> None:
    await load_pages(conn, collection)
    target = SearchTarget.of(collection)
    hits = await search(conn, target, hybrid())
    assert [h.external_id for h in hits] == ["page", "page", "page", "single"]
    # The single passage keeps its fused score (one chunk: log 1 = 0); each chunk of the
    # page gains 0.05 (of a best fused score of 0.7 + 0.3) x log 3.
    single = 0.7 * (0.95 - 0.1) / (0.95 - 0.1)
    best = 0.7 * (0.92 - 0.1) / (0.95 - 0.1) + 0.05 * math.log(3)
    assert hits[3].score == pytest.approx(single, abs=1e-5)
    assert hits[0].score == pytest.approx(best, abs=1e-5)

    without = await search(conn, target, hybrid(document_weight=0.0))
    assert [h.external_id for h in without] == ["single", "page", "page", "page"]
    assert without[0].score == pytest.approx(single, abs=1e-5)


async def test_reciprocal_rank_fusion_gets_evidence_in_its_own_units(
    conn, collection: Collection
) -> None:
    """RRF's best fused score is (1 + 1) / (rrf_k + 1) for weights of 1: a weight of 0.05
    scaled to it gives a page of three passages 0.05 x 2 / 61 x log 3."""
    await load_pages(conn, collection)
    target = SearchTarget.of(collection)
    request = hybrid(fusion="rrf", vector_weight=1.0, text_weight=1.0)
    hits = await search(conn, target, request)
    plain = await search(
        conn,
        target,
        hybrid(fusion="rrf", vector_weight=1.0, text_weight=1.0, document_weight=0.0),
    )
    by_id = {h.chunk_id: h.score for h in plain}
    for hit in hits:
        gain = 0.05 * 2 / 61 * math.log(3) if hit.external_id == "page" else 0.0
        assert hit.score == pytest.approx(by_id[hit.chunk_id] + gain, abs=1e-9)
    assert {h.external_id for h in hits} == {"page", "single"}


async def test_documents_of_one_chunk_each_rank_as_without_evidence(
    conn, collection: Collection
) -> None:
    """A corpus of passages (msmarco's, one chunk per document) gets no evidence at all."""
    cosines = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    vectors = at_cosine(cosines, 1)
    await load(
        conn,
        collection,
        [document(f"p{i}", ["passage"], vectors[i : i + 1]) for i in range(len(cosines))],
    )
    target = SearchTarget.of(collection)
    hits = await search(conn, target, SearchRequest("hybrid", k=6, query="passage", vector=QUERY))
    plain = await search(
        conn,
        target,
        SearchRequest(
            "hybrid",
            k=6,
            query="passage",
            vector=QUERY,
            hybrid=HybridOptions(document_weight=0.0),
        ),
    )
    assert [h.external_id for h in hits] == [f"p{i}" for i in range(6)]
    assert [(h.chunk_id, h.score) for h in hits] == [(h.chunk_id, h.score) for h in plain]
