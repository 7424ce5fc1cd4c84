"""The binary-COPY write path against the real database."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector_async

from app.db.models import Collection
from app.db.schema import drop_hnsw_index_sql, hnsw_index_name
from app.errors import InvalidInput
from ingest.writer import (
    ChunkRecord,
    DocumentRecord,
    Target,
    delete_documents,
    drop_index,
    write_documents,
)

pytestmark = pytest.mark.anyio
rng = np.random.default_rng(7)


def _doc(external_id: str, texts: list[str], *, dims: int = 384, **kw) -> DocumentRecord:
    chunks = [
        ChunkRecord(
            ordinal=i,
            text=t,
            token_count=len(t.split()),
            section=f"S{i}",
            page=i + 1,
            embedding=rng.standard_normal(dims).astype(np.float32),
        )
        for i, t in enumerate(texts)
    ]
    return DocumentRecord(external_id, content_hash=str(hash(tuple(texts))), chunks=chunks, **kw)


def _target(collection: Collection) -> Target:
    return Target(collection.id, collection.embedding_dimensions, collection.text_config)


async def _rows(conn: psycopg.AsyncConnection, collection: Collection) -> list[tuple]:
    cursor = await conn.execute(
        "SELECT d.external_id, c.ordinal, c.text, c.section, c.page, c.metadata,"
        " c.text_config::text, c.tsv IS NOT NULL, vector_dims(c.embedding)"
        " FROM chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE c.collection_id = %s ORDER BY 1, 2",
        (collection.id,),
    )
    return await cursor.fetchall()


async def test_writes_documents_and_chunks(conn, collection: Collection) -> None:
    written = await write_documents(
        conn,
        _target(collection),
        [
            _doc("a.md", ["alpha one", "alpha two"], title="A", metadata={"lang": "en"}),
            _doc("b.md", ["beta"]),
        ],
    )
    assert set(written.ids) == set(written.inserted) == {"a.md", "b.md"}
    rows = await _rows(conn, collection)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("a.md", 0, "alpha one"),
        ("a.md", 1, "alpha two"),
        ("b.md", 0, "beta"),
    ]
    assert rows[0][3:] == ("S0", 1, {"lang": "en"}, "english", True, 384)
    cursor = await conn.execute(
        "SELECT chunk_count, title FROM documents WHERE id = %s", (written.ids["a.md"],)
    )
    assert await cursor.fetchone() == (2, "A")


async def test_rewrite_replaces_all_chunks(conn, collection: Collection) -> None:
    target = _target(collection)
    await write_documents(conn, target, [_doc("a.md", ["one", "two", "three"])])
    await write_documents(conn, target, [_doc("a.md", ["only"])])
    assert [(r[0], r[2]) for r in await _rows(conn, collection)] == [("a.md", "only")]


@pytest.mark.parametrize(
    "bad",
    [
        _doc("bad.md", ["fine", "has \x00 nul"]),
        _doc("bad.md", ["wrong dims"], dims=12),
        DocumentRecord("bad.md", "h", [ChunkRecord(0, "nan", 1, np.full(384, np.nan, np.float32))]),
    ],
)
async def test_bad_document_writes_nothing(conn, collection: Collection, bad) -> None:
    target = _target(collection)
    await write_documents(conn, target, [_doc("keep.md", ["kept"])])
    with pytest.raises(InvalidInput):
        await write_documents(conn, target, [_doc("new.md", ["new"]), bad])
    assert [(r[0], r[2]) for r in await _rows(conn, collection)] == [("keep.md", "kept")]


async def test_failure_mid_batch_keeps_old_versions(conn, collection: Collection) -> None:
    target = _target(collection)
    await write_documents(conn, target, [_doc("a.md", ["old a"]), _doc("b.md", ["old b"])])
    # A chunk ordinal repeated within a document violates a constraint halfway through COPY.
    broken = DocumentRecord("b.md", "h2", [ChunkRecord(0, "x", 1, np.ones(384, np.float32))] * 2)
    with pytest.raises(psycopg.errors.UniqueViolation):
        await write_documents(conn, target, [_doc("a.md", ["new a"]), broken])
    rows = await _rows(conn, collection)
    assert [(r[0], r[2]) for r in rows] == [("a.md", "old a"), ("b.md", "old b")]


async def test_concurrent_writers_leave_no_duplicates(
    pg_dsn: str, collection: Collection, conn
) -> None:
    target = _target(collection)
    docs = [_doc(f"d{i}.md", [f"text {i} a", f"text {i} b"]) for i in range(20)]

    async def writer(batch: list[DocumentRecord]) -> None:
        async with await psycopg.AsyncConnection.connect(pg_dsn) as own:
            await register_vector_async(own)
            for _ in range(3):
                await write_documents(own, target, batch)

    await asyncio.gather(writer(docs), writer(list(reversed(docs))), writer(docs[5:15]))
    rows = await _rows(conn, collection)
    assert len(rows) == 40
    assert len({(r[0], r[1]) for r in rows}) == 40


async def test_text_config_follows_the_collection(conn, session, collection_name) -> None:
    from app.catalog import create_collection
    from tests.conftest import MINILM

    simple = await create_collection(session, MINILM, name=collection_name, text_config="simple")
    await write_documents(conn, _target(simple), [_doc("a", ["The running dogs"])])
    cursor = await conn.execute(
        "SELECT tsv::text FROM chunks WHERE collection_id = %s", (simple.id,)
    )
    # The simple parser keeps stop words and does not stem; the heading path ("s0") is
    # indexed first, weight B (migration 0010).
    assert await cursor.fetchone() == ("'dogs':4 'running':3 's0':1B 'the':2",)


async def test_delete_documents(conn, collection: Collection) -> None:
    target = _target(collection)
    await write_documents(conn, target, [_doc("a", ["x"]), _doc("b", ["y"])])
    assert await delete_documents(conn, collection.id, ["a", "missing"]) == 1
    assert [r[0] for r in await _rows(conn, collection)] == ["b"]


@pytest.mark.parametrize("how", ["bulk load's drop_index", "plain DROP INDEX"])
async def test_dropping_the_index_for_a_bulk_load_leaves_searches_running(
    pg_dsn: str, collection: Collection, how: str
) -> None:
    """The HNSW index is dropped while another transaction still reads chunks. A plain DROP
    INDEX queues an ACCESS EXCLUSIVE lock on the shared table behind that reader, and every
    collection's searches queue behind it; the bulk load's drop (CONCURRENTLY) does not."""
    target = _target(collection)
    connect = psycopg.AsyncConnection.connect
    async with (
        await connect(pg_dsn) as reader,
        await connect(pg_dsn, autocommit=True) as loader,
        await connect(pg_dsn, autocommit=True) as searcher,
    ):
        await reader.execute("SELECT count(*) FROM chunks")  # holds its lock until it ends
        dropping: asyncio.Task[Any]
        if how == "plain DROP INDEX":
            dropping = asyncio.create_task(loader.execute(drop_hnsw_index_sql(collection.id)))
        else:
            dropping = asyncio.create_task(drop_index(loader, target))
        await asyncio.sleep(0.5)
        assert not dropping.done()  # both wait for the reader to finish
        await searcher.execute("SET statement_timeout = '2s'")
        search = "SELECT count(*) FROM chunks WHERE collection_id = %s"
        if how == "plain DROP INDEX":
            with pytest.raises(psycopg.errors.QueryCanceled):
                await searcher.execute(search, (collection.id,))
        else:
            await searcher.execute(search, (collection.id,))
        await reader.rollback()
        await asyncio.wait_for(dropping, 30)
        cursor = await searcher.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname = %s",
            (hnsw_index_name(collection.id),),
        )
        assert await cursor.fetchone() == (0,)
