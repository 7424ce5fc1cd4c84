"""Migration 0012 keeps chunks' access groups and metadata in their row (storage MAIN), so
row-level security's test and the filters read no TOAST; downgrade restores EXTENDED."""

from __future__ import annotations

import random
import string

import pytest

from app.db.models import Collection
from tests.db.conftest import Scratch, check_storage_round_trip
from tests.search.conftest import clustered, document, load

pytestmark = pytest.mark.anyio


def test_migration_sets_storage_both_ways(seeded_before_partitions: Scratch) -> None:
    columns = ("access", "metadata")
    check_storage_round_trip(seeded_before_partitions, "0011_sources", columns, "x", "m")


async def test_a_wide_rows_access_stays_in_the_row(conn, collection: Collection) -> None:
    """A chunk of 8 kB of text (that does not compress) and a 384-d vector: its text goes
    to TOAST, its groups and metadata do not."""
    rng = random.Random(4)
    text = " ".join("".join(rng.choices(string.ascii_lowercase, k=7)) for _ in range(1000))
    metadata = {"doc_kind": "page", "path": "docs/" + "a" * 40}
    doc = document("long", [text], clustered(1, seed=2), access=["team"], metadata=metadata)
    await load(conn, collection, [doc])
    cursor = await conn.execute(
        "SELECT pg_column_toast_chunk_id(text) IS NOT NULL,"
        " pg_column_toast_chunk_id(access) IS NULL, pg_column_toast_chunk_id(metadata) IS NULL"
        " FROM chunks WHERE collection_id = %s",
        (collection.id,),
    )
    assert await cursor.fetchone() == (True, True, True)
