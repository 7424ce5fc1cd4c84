"""The peers, each used the way its documentation shows (needs `pip install -e '.[bench]'`).

- langchain-postgres v2: `PGEngine` + `PGVectorStore`, `aadd_embeddings` (one INSERT ...
  ON CONFLICT per row: the library has no batch-size knob), then `aapply_vector_index`
  (HNSWIndex, m=16, ef_construction=64, cosine). Metadata in its JSONB column (the default),
  filters `{"key": {"$eq": v}}`; ef_search through `HNSWQueryOptions` (default 40).
- llama-index: `PGVectorStore.from_params(..., hnsw_kwargs=..., use_jsonb=True)` creates the
  table and its HNSW index up front (its documented path: no "build the index after"
  option), then `add(nodes)` in batches of 2,048 nodes (`VectorStoreIndex`'s default
  `insert_batch_size`); ef_search through `hnsw_ef_search` (we pass 40, pgvector's default).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from langchain_core.documents import Document as LangchainDocument
from langchain_core.embeddings import Embeddings
from langchain_postgres import PGEngine, PGVectorStore
from langchain_postgres.v2.indexes import DistanceStrategy, HNSWIndex, HNSWQueryOptions
from llama_index.core import Document as LlamaDocument
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.core.vector_stores.utils import node_to_metadata_dict
from llama_index.vector_stores.postgres import PGVectorStore as LlamaStore
from psycopg.types.json import Jsonb
from sqlalchemy.engine import URL

from app.db.embedded import libpq_url
from bench.common import HNSW, connect, copy_rows, drop_table, row_metadata, row_text, table_rows
from bench.systems import row_uuid

if TYPE_CHECKING:
    from app.services import Services
    from bench.vs_reingest import Count

LLAMA_BATCH = 2048
PEER_DEFAULT_EF_SEARCH = 40  # pgvector's default; both peers' documented value


class NoEmbeddings(Embeddings):
    """The load/query benchmarks pass precomputed vectors; langchain still wants a service."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the benchmark passes precomputed embeddings")

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("the benchmark passes precomputed embeddings")


class Langchain:
    name = "langchain"

    def __init__(self, url: URL, embeddings: Embeddings | None = None) -> None:
        self.dsn = libpq_url(url)
        self.engine = PGEngine.from_connection_string(url.render_as_string(hide_password=False))
        self.embeddings = embeddings or NoEmbeddings()
        self.stores: dict[int, PGVectorStore] = {}
        self.table = ""

    async def _store(self, ef_search: int | None) -> PGVectorStore:
        ef = ef_search or PEER_DEFAULT_EF_SEARCH
        if ef not in self.stores:
            self.stores[ef] = await PGVectorStore.create(
                self.engine,
                table_name=self.table,
                embedding_service=self.embeddings,
                index_query_options=HNSWQueryOptions(ef_search=ef),
            )
        return self.stores[ef]

    async def create(self, table: str, dims: int) -> PGVectorStore:
        self.table, self.stores = table, {}
        await self.engine.ainit_vectorstore_table(table, dims, id_column="langchain_id")
        return await self._store(None)

    async def load(self, table: str, vectors: npt.NDArray[np.float32]) -> None:
        store = await self.create(table, vectors.shape[1])
        n = len(vectors)
        await store.aadd_embeddings(
            [row_text(i) for i in range(n)],
            vectors.tolist(),
            metadatas=[row_metadata(i) for i in range(n)],
            ids=[row_uuid(i) for i in range(n)],
        )
        await store.aapply_vector_index(self._index())

    async def seed(self, table: str, vectors: npt.NDArray[np.float32]) -> None:
        """The query benchmarks' fast load: the peer's own table and index DDL, rows by COPY
        (its one-INSERT-per-row path would take over 10 minutes for 100,000 rows here)."""
        await self.create(table, vectors.shape[1])
        rows = (
            (row_uuid(i), row_text(i), vectors[i], Jsonb(row_metadata(i)))
            for i in range(len(vectors))
        )
        columns = ["langchain_id", "content", "embedding", "langchain_metadata"]
        await copy_rows(self.dsn, table, columns, rows)
        await (await self._store(None)).aapply_vector_index(self._index())

    def _index(self) -> HNSWIndex:
        return HNSWIndex(
            m=int(HNSW["m"]),
            ef_construction=int(HNSW["ef_construction"]),
            distance_strategy=DistanceStrategy.COSINE_DISTANCE,
        )

    async def open(self, table: str, dims: int) -> bool:
        self.table, self.stores = table, {}
        return await table_rows(self.dsn, table) > 0

    async def query(
        self, vector: npt.NDArray[np.float32], k: int, ef_search: int | None, where: Any
    ) -> list[int]:
        store = await self._store(ef_search)
        flt = {key: {"$eq": value} for key, value in where.items()} if where else None
        docs = await store.asimilarity_search_by_vector(vector.tolist(), k=k, filter=flt)
        return [int(d.id.replace("-", ""), 16) for d in docs if d.id]

    async def drop(self, table: str) -> None:
        await drop_table(self.dsn, table)
        self.stores = {}

    async def close(self) -> None:
        await self.engine.close()


def llama_urls(url: URL) -> tuple[str, str]:
    """psycopg2 and asyncpg URLs for the same server: both take the unix socket directory
    as `host` in the query string."""
    sync = url.set(drivername="postgresql+psycopg2")
    return (
        sync.render_as_string(hide_password=False),
        sync.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False),
    )


class LlamaIndex:
    name = "llamaindex"

    def __init__(self, url: URL) -> None:
        self.dsn = libpq_url(url)
        self.sync_url, self.async_url = llama_urls(url)
        self.store: LlamaStore | None = None

    def _make(self, table: str, dims: int) -> LlamaStore:
        hnsw = {
            "hnsw_m": HNSW["m"],
            "hnsw_ef_construction": HNSW["ef_construction"],
            "hnsw_ef_search": PEER_DEFAULT_EF_SEARCH,
            "hnsw_dist_method": HNSW["ops"],
        }
        return LlamaStore.from_params(
            connection_string=self.sync_url,
            async_connection_string=self.async_url,
            table_name=table,
            embed_dim=dims,
            hnsw_kwargs=hnsw,
            use_jsonb=True,
        )

    async def load(self, table: str, vectors: npt.NDArray[np.float32]) -> None:
        self.store = self._make(table, vectors.shape[1])
        for start in range(0, len(vectors), LLAMA_BATCH):
            end = min(start + LLAMA_BATCH, len(vectors))
            self.store.add(
                [
                    TextNode(
                        id_=str(i),
                        text=row_text(i),
                        embedding=vectors[i].tolist(),
                        metadata=row_metadata(i),
                    )
                    for i in range(start, end)
                ]
            )

    async def seed(self, table: str, vectors: npt.NDArray[np.float32]) -> None:
        """The query benchmarks' fast load: llama-index creates its table and HNSW index; we
        drop the index, COPY the rows (metadata as `add` stores it), and let a new store
        object create the index again (CREATE INDEX IF NOT EXISTS) over the loaded rows."""
        dims = vectors.shape[1]
        first = self._make(table, dims)
        first._initialize()
        await first.close()
        name = f"data_{table}"
        async with await connect(self.dsn) as conn:
            await conn.execute(f'DROP INDEX IF EXISTS "{name}_embedding_idx"')
        nodes = (
            TextNode(id_=str(i), text=row_text(i), metadata=row_metadata(i))
            for i in range(len(vectors))
        )
        rows = (
            (
                n.node_id,
                n.text,
                Jsonb(node_to_metadata_dict(n, remove_text=True, flat_metadata=False)),
                vectors[int(n.node_id)],
            )
            for n in nodes
        )
        await copy_rows(self.dsn, name, ["node_id", "text", "metadata_", "embedding"], rows)
        self.store = self._make(table, dims)
        self.store._initialize()

    async def open(self, table: str, dims: int) -> bool:
        # llama-index names its table data_<table_name>
        if not await table_rows(self.dsn, f"data_{table}"):
            return False
        self.store = self._make(table, dims)
        return True

    async def query(
        self, vector: npt.NDArray[np.float32], k: int, ef_search: int | None, where: Any
    ) -> list[int]:
        assert self.store is not None
        filters = (
            MetadataFilters(filters=[MetadataFilter(key=k_, value=v) for k_, v in where.items()])
            if where
            else None
        )
        query = VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=k)
        query.filters = filters
        kwargs = {"hnsw_ef_search": ef_search} if ef_search else {}
        result = self.store.query(query, **kwargs)
        return [int(i) for i in result.ids or []]

    async def drop(self, table: str) -> None:
        await drop_table(self.dsn, f"data_{table}")
        if self.store is not None:
            await self.store.close()
        self.store = None

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()


class CountingLangchainEmbeddings(Embeddings):
    """pgask's local model (same fastembed session) as langchain Embeddings, counted."""

    def __init__(self, services: Services, count: Count) -> None:
        self.services, self.count = services, count

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("PGVectorStore calls aembed_documents")

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("not used by the benchmark")

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        self.count.add(texts)
        return (await self.services.embedder.embed_documents(texts)).tolist()


async def langchain_ingest(
    services: Services, table: str, rows: list[dict[str, Any]], count: Count
) -> None:
    from bench.vs_reingest import stable_id

    store = Langchain(services.db.url, CountingLangchainEmbeddings(services, count))
    try:
        if not await table_rows(store.dsn, table):
            await store.create(table, services.embedder.dimensions)
        store.table = table
        docs = [
            LangchainDocument(
                page_content=r["text"], metadata={"title": r["title"]}, id=stable_id(r["_id"])
            )
            for r in rows
        ]
        await (await store._store(None)).aadd_documents(docs)
    finally:
        await store.close()


class CountingLlamaEmbedding(BaseEmbedding):
    """pgask's local model as a llama-index embedding, counted. llama-index calls it from
    a worker thread; the model runs on the benchmark's event loop."""

    def __init__(self, services: Services, loop: asyncio.AbstractEventLoop, count: Count):
        super().__init__(model_name="all-MiniLM-L6-v2")
        self._services, self._loop, self._count = services, loop, count

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        self._count.add(texts)
        job = self._services.embedder.embed_documents(texts)
        return asyncio.run_coroutine_threadsafe(job, self._loop).result().tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        raise RuntimeError("not used by the benchmark")


def llama_ingest(
    services: Services, loop: asyncio.AbstractEventLoop, rows: list[dict[str, Any]], count: Count
) -> None:
    """Runs in a worker thread (llama-index's from_documents is synchronous)."""
    peer = LlamaIndex(services.db.url)
    store = peer._make("bench7_reingest_llamaindex", services.embedder.dimensions)
    docs = [
        LlamaDocument(id_=r["_id"], text=r["text"], metadata={"title": r["title"]}) for r in rows
    ]
    VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=CountingLlamaEmbedding(services, loop, count),
    )
    asyncio.run_coroutine_threadsafe(store.close(), loop).result()
