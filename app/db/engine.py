"""The async SQLAlchemy engine on psycopg 3, with pgvector registered on every connection."""

from __future__ import annotations

import logging
from typing import Any

from pgvector.psycopg import register_vector_async
from psycopg import ProgrammingError
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

log = logging.getLogger(__name__)


async def _register_vector(conn: Any) -> None:
    try:
        await register_vector_async(conn)
    except ProgrammingError:
        # The extension is created by the first migration; until `pgask db upgrade` has run
        # there is no vector type to register, and /readyz says so.
        log.warning("pgvector type not found: run `pgask db upgrade`")


def create_engine(url: URL, settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
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


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
