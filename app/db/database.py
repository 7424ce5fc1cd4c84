"""The one database seam: `Database` owns the engines and their pools.

Two pools, so that no request can reach a row without a principal
(docs/decisions/0014-default-deny.md):

- Request connections (`session`, `read_session`, `connection`) run as `pgask_scoped` from
  the moment they are made: row-level security shows them nothing until the principal they
  are given is set, per transaction (`app.access`). A read replica's pool is one of these.
- Owner connections (`owner_session`, `owner_connection`) run as the connecting role, which
  owns the tables: the named elevation for what no principal does, and only for it:
  migrations' checks, ingestion's writer and index builds (binary COPY is refused under
  row-level security), the job queue, key lookups, and the DDL of collections.

pgvector is registered once per pooled connection (the pool's "connect" event), and errors
leaving any block are converted by `app.db.errors.map_db_errors` into `app.errors` classes,
so callers never handle psycopg or SQLAlchemy errors themselves.

`read_session()` reads on a healthy read replica when `DATABASE_READ_URLS` names some (see
`app.db.replicas`), else the primary. Per-transaction settings (`session(local={...})`) are
applied with `set_config(name, value, true)` at the start of every transaction of that
session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from pgvector.psycopg import register_vector_async
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import SessionTransaction

from app.access import (
    SCOPED_ROLE,
    Principal,
    apply_principal,
    bind_principal,
    forget_principal,
    mark_owner,
)
from app.config import Settings
from app.db.embedded import database_url, read_urls
from app.db.errors import map_db_errors
from app.db.replicas import PRIMARY, ReadIntent, Replica, Replicas, read_intent
from app.errors import first_line

log = logging.getLogger(__name__)

_SET_LOCAL = text("SELECT set_config(:name, :value, true)")
_SCOPED = f"SET ROLE {SCOPED_ROLE}"
_CURRENT_LSN = text("SELECT pg_current_wal_lsn()::text")
_HAS_ALEMBIC = text("SELECT to_regclass('alembic_version')")
_REVISION = text("SELECT version_num FROM alembic_version")


class Database:
    def __init__(self, url: URL, settings: Settings) -> None:
        self.url = url
        self.engine = _create_engine(url, settings, scoped=False)  # the owner's pool
        self.request_engine = _create_engine(url, settings, scoped=True)
        self._owner_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._sessions = async_sessionmaker(self.request_engine, expire_on_commit=False)
        self.replicas = Replicas(
            [
                Replica(f"replica{n}", read_url, _create_engine(read_url, settings, scoped=True))
                for n, read_url in enumerate(read_urls(settings), start=1)
            ],
            max_lag_seconds=settings.replicas.max_lag_seconds,
            read_wait_ms=settings.replicas.read_wait_ms,
        )

    @classmethod
    async def open(cls, settings: Settings) -> Database:
        """The configured database (starting the embedded server when there is no
        DATABASE_URL, which blocks, hence the thread)."""
        return cls(await asyncio.to_thread(database_url, settings), settings)

    @asynccontextmanager
    async def session(
        self, principal: Principal | None, *, local: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncSession]:
        """An ORM session of a request: each of its transactions acts as `principal`
        (row-level security; None sees no row) with the `local` settings."""
        async with self._session(self._sessions, local) as session:
            yield bind_principal(session, principal)

    @asynccontextmanager
    async def owner_session(
        self, *, local: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncSession]:
        """An ORM session as the tables' owner, past row-level security: never for what a
        request reads or writes on behalf of its principal (see the module's docstring)."""
        async with self._session(self._owner_sessions, local) as session:
            yield mark_owner(session)

    @asynccontextmanager
    async def _session(
        self, sessions: async_sessionmaker[AsyncSession], local: Mapping[str, str] | None
    ) -> AsyncIterator[AsyncSession]:
        with map_db_errors():
            async with sessions() as session:
                if local:
                    _set_local_on_begin(session, dict(local))
                yield session

    @asynccontextmanager
    async def read_session(
        self, principal: Principal | None, *, local: Mapping[str, str] | None = None
    ) -> AsyncIterator[AsyncSession]:
        """An ORM session for reading only: on a replica the request's `read_intent`
        allows (any healthy one without an intent), else on the primary; acting as
        `principal` as `session` does (replicas have the same roles and policies)."""
        intent = read_intent.get() or ReadIntent()
        replica = await self.replicas.choose(intent)
        intent.served_by = replica
        self.replicas.on_read(replica.name if replica else PRIMARY)
        session = (replica.sessions if replica else self._sessions)()
        try:
            with map_db_errors():
                if local:
                    _set_local_on_begin(session, dict(local))
                yield bind_principal(session, principal)
        finally:
            await _close_read(session, replica)

    @asynccontextmanager
    async def connection(
        self, principal: Principal | None, *, autocommit: bool = False
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A request's psycopg connection, acting as `principal` (None: sees no row) for as
        long as the block lasts, its commits included, and no transaction begun: the caller
        may still choose its isolation. Then the principal is forgotten, or the connection
        closed rather than pooled while it still acts for someone."""
        async with self._connection(self.request_engine, autocommit) as raw:
            await _outside_transaction(raw, apply_principal(raw, principal, local=False))
            try:
                yield raw
            finally:
                if not (raw.broken or raw.closed):
                    try:
                        await raw.rollback()
                        await _outside_transaction(raw, forget_principal(raw))
                    except BaseException:
                        await raw.close()
                        raise

    @asynccontextmanager
    async def owner_connection(
        self, *, autocommit: bool = False
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The psycopg connection under a pooled one of the owner's pool (see `owner_session`
        for what it is for). Without autocommit its transaction is rolled back when the block
        ends (the pool's reset): commit what you mean to keep."""
        async with self._connection(self.engine, autocommit) as raw:
            yield raw

    @asynccontextmanager
    async def _connection(
        self, engine: AsyncEngine, autocommit: bool
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        with map_db_errors():
            async with engine.connect() as pooled:
                if autocommit:
                    # Reset to the engine's default when the connection goes back to the pool.
                    await pooled.execution_options(isolation_level="AUTOCOMMIT")
                raw = (await pooled.get_raw_connection()).driver_connection
                assert isinstance(raw, psycopg.AsyncConnection)
                try:
                    yield raw
                except BaseException:  # also errors the caller converted, and cancellation
                    if raw.broken or raw.closed:
                        # Never hand a dead connection out again, nor roll it back on its
                        # way into the pool (the pool logs a traceback when that fails).
                        await pooled.invalidate()
                    raise

    async def revision(self) -> str | None:
        """The migration the schema is at (None before the first), read as the owner, with
        no conversion of errors: /readyz reports whatever failure as the reason."""
        async with self.engine.connect() as conn:
            if await conn.scalar(_HAS_ALEMBIC) is None:
                return None
            return str(await conn.scalar(_REVISION))

    async def current_lsn(self) -> str:
        """The primary's WAL position now: every commit so far is at or before it."""
        with map_db_errors():
            async with self.engine.connect() as conn:
                return str(await conn.scalar(_CURRENT_LSN))

    async def dispose(self) -> None:
        await self.replicas.dispose()
        await self.request_engine.dispose()
        await self.engine.dispose()


def _create_engine(url: URL, settings: Settings, *, scoped: bool) -> AsyncEngine:
    """`scoped`: every connection is made `pgask_scoped` before it is first handed out."""
    engine = _create_async_engine(
        url,
        echo=settings.database.log_sql,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.pool_size,
        pool_pre_ping=True,  # a restarted database costs one failed ping, not a failed request
        pool_recycle=1800,
        # A replica that does not answer is skipped; the check must not hang on it.
        connect_args={"connect_timeout": 5},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if scoped:
            dbapi_connection.run_async(_scope)
        dbapi_connection.run_async(_register_vector)

    return engine


async def _outside_transaction(
    conn: psycopg.AsyncConnection[Any], statement: Coroutine[Any, Any, None]
) -> None:
    """Run `statement` in autocommit mode: a session setting it makes is kept whatever
    the caller's transactions do, and no transaction is left begun."""
    autocommit = conn.autocommit
    await conn.set_autocommit(True)
    try:
        await statement
    finally:
        await conn.set_autocommit(autocommit)


async def _scope(conn: psycopg.AsyncConnection[Any]) -> None:
    # Session-level, so the pool's rollback between users keeps it.
    await _outside_transaction(conn, _execute(conn, _SCOPED))


async def _execute(conn: psycopg.AsyncConnection[Any], statement: str) -> None:
    await conn.execute(statement)


async def _register_vector(conn: psycopg.AsyncConnection[Any]) -> None:
    try:
        await register_vector_async(conn)
    except psycopg.ProgrammingError:
        # The extension is created by the first migration; until `pgask db upgrade` has run
        # there is no vector type to register, and /readyz says so.
        log.warning("pgvector type not found: run `pgask db upgrade`")


async def _close_read(session: AsyncSession, replica: Replica | None) -> None:
    """Closes a read session. A read has nothing to undo, so a connection lost by then (a
    replica stopped mid-request, whose request was run again on the primary; the primary
    restarted just after it answered) never fails a response that may already be on its
    way: a replica is marked down, the primary's loss logged (the pool discards the
    connection either way)."""
    try:
        await session.close()
    except (psycopg.Error, DBAPIError) as exc:
        if replica is None:
            log.warning("a read's connection was lost as it ended: %s", first_line(exc))
            return
        replica.mark_down(f"connection lost: {type(exc).__name__}")


def _set_local_on_begin(session: AsyncSession, local: dict[str, str]) -> None:
    # Events run synchronously inside SQLAlchemy's greenlet, so the statement may run here.
    @event.listens_for(session.sync_session, "after_begin")
    def _apply(_session: Any, _transaction: SessionTransaction, connection: Connection) -> None:
        for name, value in local.items():
            connection.execute(_SET_LOCAL, {"name": name, "value": value})


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under the session (in its transaction, acting as its principal),
    for the hot paths' own SQL."""
    raw = await (await session.connection()).get_raw_connection()
    conn = raw.driver_connection
    assert isinstance(conn, psycopg.AsyncConnection)
    return conn
