"""Schemas for POST /v1/search and GET /v1/collections/{c}/documents/{id}/similar."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.catalog import COLLECTION_NAME_PATTERN
from app.search.service import EF_SEARCH_MAX, MAX_K, Hit, HybridOptions
from app.search.similar import SimilarDocument

Mode = Literal["vector", "text", "hybrid"]
DEFAULT_HYBRID = HybridOptions()


class HybridIn(BaseModel):
    fusion: Literal["rrf", "score"] = DEFAULT_HYBRID.fusion
    depth: int = Field(
        default=DEFAULT_HYBRID.depth, ge=1, le=1000, description="Candidates per side"
    )
    vector_weight: float = Field(default=DEFAULT_HYBRID.vector_weight, ge=0, le=100)
    text_weight: float = Field(default=DEFAULT_HYBRID.text_weight, ge=0, le=100)
    rrf_k: int = Field(default=DEFAULT_HYBRID.rrf_k, ge=1, le=1000)
    document_weight: float = Field(
        default=DEFAULT_HYBRID.document_weight,
        ge=0,
        le=10,
        description="Weight of a hit's document evidence: how many of its page's chunks match",
    )

    def options(self) -> HybridOptions:
        return HybridOptions(**self.model_dump())


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
    max_per_document: int | None = Field(
        default=None,
        ge=0,
        le=MAX_K,
        description="Most hits from one document (0: no cap; default: "
        "PGASK_SEARCH_MAX_PER_DOCUMENT)",
    )
    hybrid: HybridIn | None = Field(
        default=None, description="How hybrid mode fuses its sides (defaults: docs/search.md)"
    )
    ef_search: int | None = Field(
        default=None,
        ge=1,
        le=EF_SEARCH_MAX,
        description="HNSW candidate list: higher finds more of the true nearest chunks, more"
        " slowly (default max(100, 4k); at least k). Large collections need more: "
        "docs/sizing.md",
    )

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


class Timings(BaseModel):
    embed_ms: float
    search_ms: float


class SearchOut(BaseModel):
    collection: str
    mode: Mode
    k: int
    hits: list[Hit]  # the service's dataclass, validated and documented by pydantic
    timings: Timings


class SimilarList(BaseModel):
    collection: str
    external_id: str
    documents: list[SimilarDocument]
