"""A document of more chunks than one batch is embedded and written in parts, all in one
transaction (issue 14, bounded memory): the pipeline holds a bounded number of its chunks at
once, and a failure in a later part leaves the stored version whole. Real database, real
`openai` client against the fake server (instant vectors: thousands of chunks in seconds)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
import pytest

from app.catalog import delete_collection
from app.config import Settings
from app.db.models import Collection
from app.embeddings.openai import OpenAIEmbedder
from app.errors import CollectionDeleted, PgaskError
from app.search.service import SearchRequest, SearchTarget, search
from ingest.batches import BATCH_CHUNKS
from ingest.context import Ingestion
from ingest.loaders import Block, LoadedDocument
from ingest.pipeline import EMBED_STEP, QUEUE_DEPTH, Pipeline, Plan
from ingest.report import Progress
from ingest.writer import Target
from tests.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.anyio

CHUNK_TOKENS = 16
# More chunks than the stages can hold at once, so holding them all would show.
IN_FLIGHT = (QUEUE_DEPTH + 2) * BATCH_CHUNKS
WORDS = 40_000  # 16-token chunks of "w1 w2 ...": 7,926 chunks, 8 parts


@pytest.fixture
async def embedder(settings: Settings, fake_openai: FakeOpenAI) -> AsyncIterator[OpenAIEmbedder]:
    fake_openai.instant_vectors = True
    openai_settings = settings.model_copy(
        update={
            "embedding_provider": "openai",
            "embedding_model": "text-embedding-3-small",
            "embedding_dimensions": 384,
            "openai_base_url": fake_openai.base_url,
            "embedding_batch_size": EMBED_STEP,  # one request per embed call
            "embedding_max_retries": 0,
        }
    )
    embedder = OpenAIEmbedder(openai_settings.embeddings, openai_settings.openai)
    yield embedder
    await embedder.aclose()  # a cancelled run leaves a request's connection open


def huge(version: str) -> LoadedDocument:
    text = " ".join(f"w{i}" for i in range(WORDS)) + f" finalword{version}"
    return LoadedDocument("huge.txt", [Block(text)], source="huge.txt")


def small() -> LoadedDocument:
    return LoadedDocument("huge.txt", [Block("the old version, short")], source="huge.txt")


async def ingest(
    ingestion: Ingestion,
    embedder: OpenAIEmbedder,
    collection: Collection,
    doc: LoadedDocument,
    on_progress: Callable[[Progress], None] | None = None,
) -> Any:
    target = Target(collection.id, collection.embedding_dimensions)
    pipeline = Pipeline(
        ingestion.db,
        embedder,
        Plan(target, chunk_size=CHUNK_TOKENS, chunk_overlap=0),
        on_progress=on_progress,
    )

    async def items() -> AsyncIterator[LoadedDocument]:
        yield doc

    return await pipeline.run(items())


def embedded(parts: int) -> tuple[asyncio.Event, Callable[[Progress], None]]:
    """An event set once `parts` parts of the document are embedded, and the progress
    callback that sets it."""
    event = asyncio.Event()

    def watch(progress: Progress) -> None:
        if progress.embedded_chunks >= parts * BATCH_CHUNKS:
            event.set()

    return event, watch


async def stored(conn: psycopg.AsyncConnection[Any], collection: Collection) -> tuple[Any, ...]:
    """The document's hash and chunk count, and its chunks' ordinals and texts."""
    cursor = await conn.execute(
        "SELECT d.content_hash, d.chunk_count, array_agg(c.ordinal ORDER BY c.ordinal),"
        " array_agg(c.text ORDER BY c.ordinal) FROM documents d"
        " JOIN chunks c ON c.collection_id = d.collection_id AND c.document_id = d.id"
        " WHERE d.collection_id = %s GROUP BY d.id, d.content_hash, d.chunk_count",
        (collection.id,),
    )
    return tuple(await cursor.fetchall())


async def test_a_huge_document_is_written_whole_in_bounded_parts(
    ingestion: Ingestion, embedder: OpenAIEmbedder, collection: Collection, conn: Any
) -> None:
    progress: list[Progress] = []
    report = await ingest(ingestion, embedder, collection, huge("1"), progress.append)

    [(_, chunk_count, ordinals, texts)] = await stored(conn, collection)
    assert report.added == 1 and report.failed == 0
    assert chunk_count == report.chunks == len(texts) > IN_FLIGHT
    assert ordinals == list(range(chunk_count))
    assert " ".join(texts).split() == huge("1").blocks[0].text.split()  # nothing lost
    # Never more of its chunks cut than the stages between cutting and embedding hold.
    assert max(p.prepared_chunks - p.embedded_chunks for p in progress) <= IN_FLIGHT

    hits = await search(
        conn, SearchTarget.of(collection), SearchRequest("text", query="finalword1", k=1)
    )
    assert [h.text for h in hits] == [texts[-1]]

    again = await ingest(ingestion, embedder, collection, huge("1"))
    assert (again.unchanged, again.embedded, again.added, again.updated) == (1, 0, 0, 0)


async def test_an_upstream_failure_in_a_later_part_keeps_the_old_version(
    ingestion: Ingestion,
    embedder: OpenAIEmbedder,
    collection: Collection,
    conn: Any,
    fake_openai: FakeOpenAI,
) -> None:
    await ingest(ingestion, embedder, collection, small())
    before = await stored(conn, collection)
    # Parts 1 and 2 embed (4 requests each), the 3rd part's first request fails for good.
    calls_per_part = BATCH_CHUNKS // EMBED_STEP
    fake_openai.script(*[Reply()] * (2 * calls_per_part), Reply(status=400, error="bad input"))

    report = await ingest(ingestion, embedder, collection, huge("2"))

    assert report.failed == 1 and report.errors[0].path == "huge.txt"
    assert report.errors[0].error.startswith("embedding failed")
    assert (report.added, report.updated, report.chunks) == (0, 0, 0)
    assert await stored(conn, collection) == before


# Held by the test while the writer copies: a row trigger on the collection's chunks
# partition waits for it, so the writer is certainly mid-COPY, its transaction open, when
# the test looks for it, however fast or loaded the machine.
_GATE = 7_007_001
_GATE_FUNCTION = """
CREATE OR REPLACE FUNCTION pgask_test_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_advisory_xact_lock_shared({gate}); RETURN NEW; END $$
"""


async def test_the_writer_killed_mid_document_keeps_the_old_version(
    ingestion: Ingestion,
    embedder: OpenAIEmbedder,
    collection: Collection,
    conn: Any,
) -> None:
    await ingest(ingestion, embedder, collection, small())
    before = await stored(conn, collection)
    await conn.execute(_GATE_FUNCTION.format(gate=_GATE))
    await conn.execute(
        f"CREATE TRIGGER pgask_test_gate BEFORE INSERT ON chunks_c{collection.id}"
        " FOR EACH ROW EXECUTE FUNCTION pgask_test_gate()"
    )
    await conn.execute("SELECT pg_advisory_lock(%s)", (_GATE,))
    await conn.commit()

    async def kill_the_writer() -> int:
        """pg_terminate_backend on the writer once it waits at the gate, in its COPY of
        the document's chunks (its transaction open, after the last part is embedded)."""
        while True:
            cursor = await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                " AND query LIKE 'COPY chunks%%'"
            )
            killed = len(await cursor.fetchall())
            await conn.rollback()  # pg_stat_activity is read once per transaction
            if killed:
                return killed
            await asyncio.sleep(0.01)

    killer = asyncio.create_task(kill_the_writer())
    try:
        with pytest.raises(PgaskError) as stopped:
            await ingest(ingestion, embedder, collection, huge("3"))
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_GATE,))
        await conn.execute(f"DROP TRIGGER pgask_test_gate ON chunks_c{collection.id}")
        await conn.commit()
    assert killer.done() and killer.result() == 1
    assert "database is unavailable" in str(stopped.value)  # its connection is gone
    assert await stored(conn, collection) == before


async def test_a_run_cancelled_mid_document_stops_and_keeps_the_old_version(
    ingestion: Ingestion,
    embedder: OpenAIEmbedder,
    collection: Collection,
    conn: Any,
) -> None:
    """A signal cancels the run while the document's parts are written (its transaction
    open, maybe a COPY in progress): the run ends, the stored version stays whole."""
    await ingest(ingestion, embedder, collection, small())
    before = await stored(conn, collection)
    writing, watch = embedded(parts=3)

    run = asyncio.create_task(ingest(ingestion, embedder, collection, huge("4"), watch))
    await writing.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert await stored(conn, collection) == before


async def test_the_documents_transaction_waits_for_its_last_part(
    ingestion: Ingestion,
    embedder: OpenAIEmbedder,
    collection: Collection,
    conn: Any,
    fake_openai: FakeOpenAI,
) -> None:
    """While a huge document's parts are still being embedded no transaction holds a write
    lock on the partitioned tables: held for the whole embedding, it made every collection's
    delete fail and every new collection wait (their locks conflict with it)."""
    fake_openai.latency = 0.05  # 32 requests: the embedding lasts over a second
    embedding, watch = embedded(parts=2)

    run = asyncio.create_task(ingest(ingestion, embedder, collection, huge("5"), watch))
    await embedding.wait()
    cursor = await conn.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
        " WHERE c.relname IN ('chunks', 'documents') AND l.mode = 'RowExclusiveLock'"
        " AND l.pid <> pg_backend_pid()"
    )
    held = (await cursor.fetchone())[0]
    await conn.commit()
    report = await run
    assert held == 0
    assert report.added == 1 and report.chunks > 7 * BATCH_CHUNKS


async def test_a_collection_deleted_while_a_huge_document_embeds_stops_the_run(
    ingestion: Ingestion,
    embedder: OpenAIEmbedder,
    collection: Collection,
    conn: Any,
    fake_openai: FakeOpenAI,
) -> None:
    """Deleting the collection while a huge document's parts are embedded succeeds at once
    (no transaction of the run holds its partitions), and the run then stops with
    CollectionDeleted instead of writing the document: no partition or index comes back."""
    fake_openai.latency = 0.05
    embedding, watch = embedded(parts=2)

    run = asyncio.create_task(ingest(ingestion, embedder, collection, huge("6"), watch))
    await embedding.wait()
    async with ingestion.db.owner_session() as session:
        await delete_collection(session, collection.name)
    with pytest.raises(CollectionDeleted):
        await run
    cursor = await conn.execute(
        "SELECT to_regclass(%s), to_regclass(%s)",
        (f"chunks_c{collection.id}", f"chunks_hnsw_c{collection.id}"),
    )
    assert await cursor.fetchone() == (None, None)
