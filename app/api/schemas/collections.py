"""Schemas for /v1/collections."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.collections import COLLECTION_NAME_PATTERN, CollectionStats
from app.db.schema import VectorType


class CollectionCreate(BaseModel):
    name: str = Field(
        pattern=COLLECTION_NAME_PATTERN,
        description="1-63 letters, digits, '_', '.' or '-', starting with a letter or digit",
        examples=["docs"],
    )
    description: str = Field(default="", max_length=2000)
    chunk_size: int | None = Field(
        default=None,
        ge=16,
        le=8191,
        description="Tokens per chunk (cl100k); default fits the model",
    )
    chunk_overlap: int | None = Field(default=None, ge=0, le=2048)
    text_config: str = Field(
        default="english",
        pattern=r"^[a-z_]{1,63}$",
        description="PostgreSQL text search configuration for full-text search",
    )
    vector_type: VectorType = Field(
        default="vector",
        description="How the HNSW index stores vectors: halfvec (16-bit) halves its size",
    )


class EmbeddingInfo(BaseModel):
    provider: str
    model: str
    dimensions: int


class DiskOut(BaseModel):
    heap_bytes: int = Field(description="Document and chunk rows, TOAST included")
    vector_index_bytes: int = Field(description="The collection's HNSW index")
    text_index_bytes: int = Field(description="Its share of the shared full-text index")


class CollectionOut(BaseModel):
    name: str
    description: str
    embedding: EmbeddingInfo
    chunk_size: int
    chunk_overlap: int
    text_config: str
    vector_type: VectorType
    document_count: int
    chunk_count: int
    disk: DiskOut
    created_at: datetime

    @classmethod
    def from_stats(cls, stats: CollectionStats) -> CollectionOut:
        c = stats.collection
        return cls(
            name=c.name,
            description=c.description,
            embedding=EmbeddingInfo(
                provider=c.embedding_provider,
                model=c.embedding_model,
                dimensions=c.embedding_dimensions,
            ),
            chunk_size=c.chunk_size,
            chunk_overlap=c.chunk_overlap,
            text_config=c.text_config,
            vector_type=c.vector_type,
            document_count=stats.document_count,
            chunk_count=stats.chunk_count,
            disk=DiskOut.model_validate(stats.disk, from_attributes=True),
            created_at=c.created_at,
        )


class CollectionList(BaseModel):
    collections: list[CollectionOut]
