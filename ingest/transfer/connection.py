"""The connection an export or import runs on: its own (one long transaction, so never a
pooled one), not in autocommit mode, with pgvector registered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from pgvector.psycopg import register_vector_async
from sqlalchemy.engine import URL

from app.db.embedded import libpq_url


@asynccontextmanager
async def transfer_connection(url: URL) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
        await register_vector_async(conn)
        yield conn
