"""Schemas for /v1/collections."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field, field_validator

from app.api.schemas.attributes import read_through, renamed
from app.catalog import COLLECTION_NAME_PATTERN
from app.db.schema import VectorType
from app.validation import MAX_DESCRIPTION_CHARS, text_problem


class CollectionCreate(BaseModel):
    name: str = Field(
        pattern=COLLECTION_NAME_PATTERN,
        description="1-63 letters, digits, '_', '.' or '-', starting with a letter or digit",
        examples=["docs"],
    )
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
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

    @field_validator("description")
    @classmethod
    def _check_text(cls, value: str) -> str:
        if problem := text_problem(value):
            raise ValueError(problem)
        return value


class EmbeddingInfo(BaseModel):  # validated from a collection's `embedding_*` columns
    model_config = ConfigDict(
        from_attributes=True,
        alias_generator=AliasGenerator(
            validation_alias=lambda name: renamed(f"embedding_{name}", name)
        ),
    )

    provider: str
    model: str
    dimensions: int


class DiskOut(BaseModel):  # validated from `DiskUsage`
    model_config = ConfigDict(from_attributes=True)

    heap_bytes: int = Field(description="Document and chunk rows, TOAST included")
    vector_index_bytes: int = Field(description="The collection's HNSW index")
    text_index_bytes: int = Field(description="Its share of the shared full-text index")


class CollectionOut(BaseModel):  # validated from `CollectionStats`
    model_config = read_through("collection")

    name: str
    description: str
    embedding: EmbeddingInfo = Field(validation_alias=renamed("collection", "embedding"))
    chunk_size: int
    chunk_overlap: int
    text_config: str
    vector_type: VectorType
    document_count: int
    chunk_count: int
    disk: DiskOut | None = Field(
        description="Bytes on disk; null for a key that cannot see every row (sizes grow with"
        " rows it cannot see)"
    )
    created_at: datetime


class CollectionList(BaseModel):
    collections: list[CollectionOut]
