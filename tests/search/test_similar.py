"""More like this: other documents only, one entry each, even when one neighbour's many
chunks crowd the first candidate list."""

from __future__ import annotations

import numpy as np
import pytest

from app.db.models import Collection
from app.errors import NotFound
from app.search.service import SearchTarget
from app.search.similar import similar_documents
from tests.search.conftest import document, load

pytestmark = pytest.mark.anyio


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


async def test_nearest_other_documents(conn, collection: Collection) -> None:
    rng = np.random.default_rng(1)
    base = rng.standard_normal(384)
    docs = [
        document("src", ["source"], _unit(base[None, :])),
        document(
            "big", [f"b{i}" for i in range(40)], _unit(base + 0.05 * rng.standard_normal((40, 384)))
        ),
        document("a", ["a"], _unit((base + 0.5 * rng.standard_normal(384))[None, :])),
        document("b", ["b"], _unit((base + 1.0 * rng.standard_normal(384))[None, :])),
        document("far", ["far"], _unit(rng.standard_normal((1, 384)))),
    ]
    await load(conn, collection, docs)
    target = SearchTarget.of(collection)
    found = await similar_documents(conn, target, "src", k=3)
    assert [d.external_id for d in found] == ["big", "a", "b"]
    assert found[0].score > found[1].score > found[2].score
    everything = await similar_documents(conn, target, "src", k=10)
    assert [d.external_id for d in everything] == ["big", "a", "b", "far"]
    with pytest.raises(NotFound):
        await similar_documents(conn, target, "missing", k=3)
