"""Schemas for POST /v1/search and GET /v1/collections/{c}/documents/{id}/similar."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.api.schemas.collections import COLLECTION_NAME_PATTERN
from app.search.service import MAX_K, Hit
from app.search.similar import SimilarDocument

Mode = Literal["vector", "text", "hybrid"]


class SearchIn(BaseModel):
    collection: str = Field(pattern=COLLECTION_NAME_PATTERN, examples=["docs"])
    query: str | None = Field(
        default=None, min_length=1, max_length=10_000, examples=["how do I reset my password"]
    )
    vector: list[float] | None = Field(
        default=None,
        min_length=1,
        max_length=16_000,
        description="A query vector in the collection's dimensions, instead of (or with) query",
    )
    k: int = Field(default=10, ge=1, le=MAX_K)
    mode: Mode | None = Field(
        default=None,
        description="Default: hybrid, or vector when only `vector` is given",
    )
    filter: dict[str, Any] | None = Field(
        default=None,
        examples=[{"year": {"$gte": 2020}, "$or": [{"lang": "en"}, {"source": "a.md"}]}],
        description="Operators $eq $ne $in $nin $gt $gte $lt $lte $exists $and $or over "
        "metadata keys and source, external_id, title, created_at",
    )
    include_text: bool = True

    @model_validator(mode="after")
    def _query_or_vector(self) -> SearchIn:
        if self.query is None and self.vector is None:
            raise ValueError("give a query, a vector, or both")
        return self

    @property
    def effective_mode(self) -> Mode:
        if self.mode is not None:
            return self.mode
        return "hybrid" if self.query is not None else "vector"


class HitOut(BaseModel):
    chunk_id: int
    document_id: int
    external_id: str
    title: str
    source: str
    section: str
    page: int | None
    text: str | None
    score: float
    metadata: dict[str, Any]

    @classmethod
    def from_hit(cls, hit: Hit) -> HitOut:
        return cls(**vars(hit))


class Timings(BaseModel):
    embed_ms: float
    search_ms: float


class SearchOut(BaseModel):
    collection: str
    mode: Mode
    k: int
    hits: list[HitOut]
    timings: Timings


class SimilarOut(BaseModel):
    document_id: int
    external_id: str
    title: str
    source: str
    metadata: dict[str, Any]
    score: float

    @classmethod
    def from_document(cls, document: SimilarDocument) -> SimilarOut:
        return cls(**vars(document))


class SimilarList(BaseModel):
    collection: str
    external_id: str
    documents: list[SimilarOut]
