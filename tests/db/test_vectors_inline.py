"""Migration 0007 keeps chunk vectors in their row (storage MAIN), on the parent, on the
partitions it finds and on every partition made later; downgrade restores EXTERNAL."""

from __future__ import annotations

import pytest

from app.db.models import Collection
from tests.db.conftest import Scratch, check_storage_round_trip
from tests.search.conftest import clustered, document, load

pytestmark = pytest.mark.anyio


def test_migration_sets_storage_both_ways(seeded_before_partitions: Scratch) -> None:
    # pgvector's default, EXTERNAL, to MAIN and back.
    columns = ("embedding", "embedding_half")
    check_storage_round_trip(seeded_before_partitions, "0006_halfvec_heap", columns, "e", "m")


async def test_a_new_collections_vectors_stay_in_the_row(conn, collection: Collection) -> None:
    """A 384-d vector (1.5 kB) beside 2 kB of text: the text is compressed or moved to TOAST,
    the vector stays, so an exact scan reads no TOAST page for it."""
    text = " ".join(f"word{i}" for i in range(300))  # 2.3 kB, a long chunk
    vectors = clustered(20, seed=3)
    docs = [document(f"d{i}", [text], vectors[i : i + 1]) for i in range(20)]
    await load(conn, collection, docs)
    partition = f"chunks_c{collection.id}"
    cursor = await conn.execute(
        f"SELECT count(*) FILTER (WHERE pg_column_toast_chunk_id(embedding) IS NOT NULL),"
        f" count(*) FROM {partition}"
    )
    assert await cursor.fetchone() == (0, 20)
    storage = await conn.execute(
        "SELECT attstorage FROM pg_attribute WHERE attrelid = %s::regclass"
        " AND attname = 'embedding'",
        (partition,),
    )
    assert await storage.fetchone() == ("m",)
