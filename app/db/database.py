"""The one database seam: `Database` owns the async engine and its pool.

Everything that talks to PostgreSQL gets its connection here, from the same pool:

- `async with db.session() as session:` an ORM session (`AsyncSession`);
- `async with db.connection() as conn:` the raw psycopg `AsyncConnection` under a pooled
  connection, for the hot paths (binary COPY, bulk load, job claims); `autocommit=True`
  where each statement (or explicit `conn.transaction()`) must commit on its own.

pgvector is registered once per pooled connection (the pool's "connect" event), and errors
leaving either block are converted by `app.db.errors.map_db_errors` into `app.errors`
classes, so callers never handle psycopg or SQLAlchemy errors themselves.

- `async with db.read_session() as session:` an ORM session for a read, on a healthy read
  replica when `DATABASE_READ_URLS` names some (see `app.db.replicas`), else the primary.

Per-transaction settings (`session(local={...})`) are applied with
`set_config(name, value, true)` at the start of every transaction of that session: the
hook a request's principal for row-level security goes through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
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

from app.access import Principal, bind_principal
from app.config import Settings
from app.db.embedded import database_url, read_urls
from app.db.errors import map_db_errors
from app.db.replicas import PRIMARY, ReadIntent, Replica, Replicas, read_intent

log = logging.getLogger(__name__)

_SET_LOCAL = text("SELECT set_config(:name, :value, true)")
_CURRENT_LSN = text("SELECT pg_current_wal_lsn()::text")


class Database:
    def __init__(self, url: URL, settings: Settings) -> None:
        self.url = url
        self.engine = _create_engine(url, settings)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.replicas = Replicas(
            [
                Replica(f"replica{n}", read_url, _create_engine(read_url, settings))
                for n, read_url in enumerate(read_urls(settings), start=1)
            ],
            max_lag_seconds=settings.pgask_replica_max_lag_seconds,
            read_wait_ms=settings.pgask_read_wait_ms,
        )

    @classmethod
    async def open(cls, settings: Settings) -> Database:
        """The configured database (starting the embedded server when there is no
        DATABASE_URL, which blocks, hence the thread)."""
        return cls(await asyncio.to_thread(database_url, settings), settings)

    @asynccontextmanager
    async def session(
        self, *, local: Mapping[str, str] | None = None, principal: Principal | None = None
    ) -> AsyncIterator[AsyncSession]:
        """An ORM session; `local` settings hold in each of its transactions only, and each
        of them acts as `principal` (row-level security; None: unscoped)."""
        with map_db_errors():
            async with self._sessions() as session:
                if local:
                    _set_local_on_begin(session, dict(local))
                yield bind_principal(session, principal)

    @asynccontextmanager
    async def read_session(
        self, *, local: Mapping[str, str] | None = None, principal: Principal | None = None
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
        self, *, autocommit: bool = False
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The psycopg connection under a pooled one. Without autocommit its transaction is
        rolled back when the block ends (the pool's reset): commit what you mean to keep."""
        with map_db_errors():
            async with self.engine.connect() as pooled:
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

    async def current_lsn(self) -> str:
        """The primary's WAL position now: every commit so far is at or before it."""
        with map_db_errors():
            async with self.engine.connect() as conn:
                return str(await conn.scalar(_CURRENT_LSN))

    async def dispose(self) -> None:
        await self.replicas.dispose()
        await self.engine.dispose()


def _create_engine(url: URL, settings: Settings) -> AsyncEngine:
    engine = _create_async_engine(
        url,
        echo=settings.pgask_log_sql,
        pool_size=settings.pgask_db_pool_size,
        max_overflow=settings.pgask_db_pool_size,
        pool_pre_ping=True,  # a restarted database costs one failed ping, not a failed request
        pool_recycle=1800,
        # A replica that does not answer is skipped; the check must not hang on it.
        connect_args={"connect_timeout": 5},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(_register_vector)

    return engine


async def _register_vector(conn: psycopg.AsyncConnection[Any]) -> None:
    try:
        await register_vector_async(conn)
    except psycopg.ProgrammingError:
        # The extension is created by the first migration; until `pgask db upgrade` has run
        # there is no vector type to register, and /readyz says so.
        log.warning("pgvector type not found: run `pgask db upgrade`")


async def _close_read(session: AsyncSession, replica: Replica | None) -> None:
    """Closes a read session. A read has nothing to undo, so a connection lost by then (a
    replica stopped mid-request, whose request was run again on the primary) only marks
    the replica down instead of failing a response that may already be on its way."""
    try:
        await session.close()
    except (psycopg.Error, DBAPIError) as exc:
        if replica is None:
            with map_db_errors():
                raise
        replica.mark_down(f"connection lost: {type(exc).__name__}")


def _set_local_on_begin(session: AsyncSession, local: dict[str, str]) -> None:
    # Events run synchronously inside SQLAlchemy's greenlet, so the statement may run here.
    @event.listens_for(session.sync_session, "after_begin")
    def _apply(_session: Any, _transaction: SessionTransaction, connection: Connection) -> None:
        for name, value in local.items():
            connection.execute(_SET_LOCAL, {"name": name, "value": value})
