"""The one database seam: `Database` owns the async engine and its pool.

Everything that talks to PostgreSQL gets its connection here, from the same pool:

- `async with db.session() as session:` an ORM session (`AsyncSession`);
- `async with db.connection() as conn:` the raw psycopg `AsyncConnection` under a pooled
  connection, for the hot paths (binary COPY, bulk load, job claims); `autocommit=True`
  where each statement (or explicit `conn.transaction()`) must commit on its own.

pgvector is registered once per pooled connection (the pool's "connect" event), and errors
leaving either block are converted by `app.db.errors.map_db_errors` into `app.errors`
classes, so callers never handle psycopg or SQLAlchemy errors themselves.

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
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import SessionTransaction

from app.access import Principal, bind_principal
from app.config import Settings
from app.db.embedded import database_url
from app.db.errors import map_db_errors

log = logging.getLogger(__name__)

_SET_LOCAL = text("SELECT set_config(:name, :value, true)")


class Database:
    def __init__(self, url: URL, settings: Settings) -> None:
        self.url = url
        self.engine = _create_engine(url, settings)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

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
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    if raw.broken or raw.closed:
                        await pooled.invalidate()  # never hand a dead connection out again
                    raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def _create_engine(url: URL, settings: Settings) -> AsyncEngine:
    engine = _create_async_engine(
        url,
        echo=settings.pgask_log_sql,
        pool_size=settings.pgask_db_pool_size,
        max_overflow=settings.pgask_db_pool_size,
        pool_pre_ping=True,  # a restarted database costs one failed ping, not a failed request
        pool_recycle=1800,
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


def _set_local_on_begin(session: AsyncSession, local: dict[str, str]) -> None:
    # Events run synchronously inside SQLAlchemy's greenlet, so the statement may run here.
    @event.listens_for(session.sync_session, "after_begin")
    def _apply(_session: Any, _transaction: SessionTransaction, connection: Connection) -> None:
        for name, value in local.items():
            connection.execute(_SET_LOCAL, {"name": name, "value": value})
