"""The systems compared, behind one small interface, all on the same PostgreSQL server.

Each system stores row i (vector, text `synthetic passage i`, metadata `row_metadata(i)`)
under an id it can give back as i, ends a load with an HNSW index (m=16,
ef_construction=64, cosine), and answers top-k by vector with an optional equality filter
on one metadata key. Peers are imported only when used, so `--systems pgask` runs without
the `bench` extra installed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import psycopg

from app.catalog import create_collection, delete_collection, get_collection
from app.config import load_settings
from app.db import migrate
from app.db.embedded import libpq_url
from app.embeddings.base import ModelSpec
from app.errors import NotFound
from app.search.service import SearchRequest, SearchTarget, search
from app.services import Services
from bench.common import connect, machine, package_versions, pgask_bulk_load, server_versions
from ingest.writer import Target

SYSTEMS = ("pgask", "langchain", "llamaindex")
PACKAGES = (
    "pgvector",
    "psycopg",
    "numpy",
    "langchain-postgres",
    "langchain-core",
    "llama-index-vector-stores-postgres",
    "llama-index-core",
    "sqlalchemy",
    "psycopg2-binary",
    "asyncpg",
)


class System(Protocol):
    name: str

    async def load(self, table: str, vectors: npt.NDArray[np.float32]) -> None: ...

    async def seed(self, table: str, vectors: npt.NDArray[np.float32]) -> None:
        """Load for the query benchmarks: the same table and index, by the fastest way."""
        ...

    async def open(self, table: str, dims: int) -> bool:
        """Attach to an existing loaded table; False when it does not exist."""
        ...

    async def query(
        self, vector: npt.NDArray[np.float32], k: int, ef_search: int | None, where: Any
    ) -> list[int]: ...

    async def drop(self, table: str) -> None: ...

    async def close(self) -> None: ...


@dataclass
class Pgask:
    """pgask: a collection per table, its ingest write path, its search service."""

    services: Services
    name: str = "pgask"
    conn: psycopg.AsyncConnection[Any] | None = None
    target: SearchTarget | None = None
    phases: dict[str, float] | None = None  # seconds per phase of the last load

    async def _conn(self) -> psycopg.AsyncConnection[Any]:
        if self.conn is None:
            self.conn = await connect(libpq_url(self.services.db.url))
        return self.conn

    async def load(self, table: str, vectors: npt.NDArray[np.float32]) -> None:
        dims = vectors.shape[1]
        async with self.services.db.owner_session() as session:
            collection = await create_collection(
                session, ModelSpec("bench", f"synthetic-{dims}", dims), name=table
            )
        conn = await self._conn()
        mem = self.services.settings.pgask_ingest_maintenance_work_mem_mb
        self.phases = await pgask_bulk_load(
            conn, Target(collection.id, dims), vectors, maintenance_work_mem_mb=mem
        )
        self.target = SearchTarget.of(collection)

    async def seed(self, table: str, vectors: npt.NDArray[np.float32]) -> None:
        await self.load(table, vectors)

    async def open(self, table: str, dims: int) -> bool:
        async with self.services.db.owner_session() as session:
            try:
                self.target = SearchTarget.of(await get_collection(session, table))
            except NotFound:
                return False
        return True

    async def query(
        self, vector: npt.NDArray[np.float32], k: int, ef_search: int | None, where: Any
    ) -> list[int]:
        assert self.target is not None
        request = SearchRequest(
            "vector", k=k, vector=vector, filter=where, include_text=False, ef_search=ef_search
        )
        hits = await search(await self._conn(), self.target, request)
        return [int(h.external_id) for h in hits]

    async def drop(self, table: str) -> None:
        async with self.services.db.owner_session() as session:
            with suppress(NotFound):
                await delete_collection(session, table)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


def row_uuid(i: int) -> str:
    return str(uuid.UUID(int=i))


def make(name: str, services: Services) -> System:
    if name == "pgask":
        return Pgask(services)
    from bench import peers  # the `bench` extra

    return (
        peers.Langchain(services.db.url)
        if name == "langchain"
        else peers.LlamaIndex(services.db.url)
    )


def versions(server: dict[str, str]) -> dict[str, str | None]:
    """The server's versions and the Python packages'. Both the extension and its Python
    client are called pgvector: the package's version goes under `pgvector-python`."""
    packages = package_versions(PACKAGES)
    packages["pgvector-python"] = packages.pop("pgvector")
    return {**server, **packages}


@asynccontextmanager
async def opened_services(
    data_dir: Path, *, load_embedder: bool = True
) -> AsyncIterator[tuple[Services, dict[str, Any]]]:
    """pgask's services on one embedded server in `data_dir` (DATABASE_URL when set),
    migrated, and the machine/version info every result file carries."""
    settings = load_settings(pgask_data_dir=data_dir, _env_file=None)
    services = await Services.start(settings, load_embedder=load_embedder)
    try:
        migrate.upgrade(services.db.url)
        async with await connect(libpq_url(services.db.url)) as conn:
            server = await server_versions(conn)
        yield services, {"machine": machine(), "versions": versions(server)}
    finally:
        await services.close()


@asynccontextmanager
async def opened(
    names: list[str], data_dir: Path
) -> AsyncIterator[tuple[list[System], dict[str, Any]]]:
    """The named systems, all on the same server."""
    async with opened_services(data_dir, load_embedder=False) as (services, info):
        systems = [make(name, services) for name in names]
        try:
            yield systems, info
        finally:
            for system in systems:
                await system.close()
