"""The database seam on the real test database: sessions and raw connections come from one
pool with pgvector registered, autocommit does not leak back into the pool, per-transaction
settings hold in every transaction of their session, and database errors leave it as
pgask's exception classes (also over HTTP, from a raw connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from pgvector import Vector
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.api import problems
from app.config import Settings
from app.db.database import Database
from app.errors import DatabaseTimeout, InvalidInput, ServiceUnavailable
from tests.servers import ServerThread

pytestmark = pytest.mark.anyio


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """A pool of one connection, so consecutive checkouts get the same server session."""
    one = settings.model_copy(update={"pgask_db_pool_size": 1})
    database = Database(make_url(settings.database.url or ""), one)
    try:
        yield database
    finally:
        await database.dispose()


async def _backend(conn: psycopg.AsyncConnection) -> int:
    row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
    assert row is not None
    return int(row[0])


async def test_sessions_and_raw_connections_share_one_pool_with_pgvector(db: Database) -> None:
    async with db.owner_connection() as conn:
        row = await (await conn.execute("SELECT '[1,2,3]'::vector")).fetchone()
        raw_pid = await _backend(conn)
        assert db.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    # Registered: a Vector, not the text PostgreSQL sends.
    assert row is not None and isinstance(row[0], Vector) and row[0].to_list() == [1, 2, 3]
    async with db.owner_session() as session:
        session_pid = await session.scalar(text("SELECT pg_backend_pid()"))
    assert session_pid == raw_pid


async def test_autocommit_ends_with_the_block(db: Database) -> None:
    async with db.owner_connection(autocommit=True) as conn:
        assert conn.autocommit
        first = await _backend(conn)
    async with db.owner_connection() as conn:
        assert not conn.autocommit
        assert await _backend(conn) == first


async def test_uncommitted_work_on_a_raw_connection_is_rolled_back(
    db: Database, collection_name: str
) -> None:
    table = "arch_rollback_probe"
    async with db.owner_connection() as conn:
        await conn.execute(f"CREATE TABLE {table} (name text)")
        await conn.execute(f"INSERT INTO {table} VALUES (%s)", (collection_name,))
    async with db.owner_connection() as conn:
        found = await (await conn.execute("SELECT to_regclass(%s)", (table,))).fetchone()
    assert found == (None,)


async def test_local_settings_hold_in_every_transaction_of_their_session_only(
    db: Database,
) -> None:
    setting = text("SELECT current_setting('pgask.principal', true)")
    async with db.owner_session(local={"pgask.principal": "key-7"}) as session:
        assert await session.scalar(setting) == "key-7"
        await session.commit()
        assert await session.scalar(setting) == "key-7"  # a new transaction: set again
    async with db.owner_session() as session:
        assert await session.scalar(setting) in (None, "")


async def test_canceled_query_is_a_database_timeout(db: Database) -> None:
    with pytest.raises(DatabaseTimeout) as raised:
        async with db.owner_connection() as conn:
            await conn.execute("SET statement_timeout = '50ms'")
            await conn.execute("SELECT pg_sleep(5)")
    assert isinstance(raised.value.__cause__, psycopg.errors.QueryCanceled)
    assert raised.value.status == 503


async def test_value_the_database_refuses_is_invalid_input(db: Database) -> None:
    with pytest.raises(InvalidInput, match="the database refused a value: division by zero"):
        async with db.owner_session() as session:
            await session.execute(text("SELECT 1 / :zero"), {"zero": 0})


async def test_error_that_is_not_the_database_s_state_stays_what_it_is(db: Database) -> None:
    with pytest.raises(psycopg.errors.UndefinedTable):
        async with db.owner_connection() as conn:
            await conn.execute("SELECT * FROM no_such_table_here")


async def test_unreachable_database_is_service_unavailable(settings: Settings) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused.
    nowhere = make_url("postgresql+psycopg://pgask@127.0.0.1:1/pgask")
    db = Database(nowhere, settings)
    try:
        with pytest.raises(ServiceUnavailable, match="the database is unavailable"):
            async with db.owner_session() as session:
                await session.execute(text("SELECT 1"))
        with pytest.raises(ServiceUnavailable, match="the database is unavailable"):
            async with db.owner_connection():
                pass
    finally:
        await db.dispose()


def test_a_psycopg_error_reaching_a_route_is_a_problem_document(settings: Settings) -> None:
    """The raw search path's errors escape as psycopg's own classes; the API converts them
    as the seam does."""
    db = Database(make_url(settings.database.url or ""), settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await db.dispose()  # in the server's event loop, where its connections live

    app = FastAPI(lifespan=lifespan)
    problems.install(app)

    @app.get("/slow")
    async def slow() -> None:
        async with db.engine.connect() as pooled:
            raw = (await pooled.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute("SET statement_timeout = '50ms'")
            await raw.execute("SELECT pg_sleep(5)")

    with ServerThread(app) as running:
        response = httpx.get(f"{running.url}/slow", timeout=30)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:pgask:database-timeout"
