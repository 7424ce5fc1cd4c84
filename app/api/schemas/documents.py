"""Schemas for /v1/collections/{c}/documents and /v1/collections/{c}/files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.api.schemas.attributes import renamed
from app.db.models import Chunk, Document
from app.errors import InvalidInput
from app.keys import check_groups
from app.validation import (
    MAX_ACCESS_GROUPS,
    MAX_DIMENSIONS,
    MAX_ID_CHARS,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_SOURCE_CHARS,
    MAX_TITLE_CHARS,
    check_document_id,
    check_metadata,
    text_problem,
)
from ingest.loaders import Block, LoadedDocument
from ingest.report import Report
from ingest.sent import SentDocument


def groups_or_value_error(groups: list[str]) -> list[str]:
    """`check_groups` for a pydantic validator (which turns ValueError into a 422)."""
    try:
        return check_groups(groups)
    except InvalidInput as exc:
        raise ValueError(exc.detail) from exc


def _value_error(check: Callable[[], object]) -> None:
    """Run one of app/validation.py's checks for a pydantic validator (a ValueError is
    its 422, the field named by its location)."""
    try:
        check()
    except InvalidInput as exc:
        raise ValueError(exc.detail) from exc


class DocumentIn(BaseModel):
    id: str = Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="Your id for the document; sending it again replaces (or skips) it",
        examples=["guides/install.md"],
    )
    text: str = Field(min_length=1, description="The document's text (plain text)")
    title: str = Field(default="", max_length=MAX_TITLE_CHARS)
    source: str = Field(
        default="", max_length=MAX_SOURCE_CHARS, description="e.g. a URL or file path"
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Copied to every chunk; search filters use it. At most"
        f" {MAX_METADATA_DEPTH} levels deep and {MAX_METADATA_BYTES // 1024} KiB as JSON",
    )
    vector: list[Annotated[float, Field(allow_inf_nan=False)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_DIMENSIONS,
        description="Your own embedding of `text`, in the collection's dimensions: the document"
        " is stored as exactly one chunk with this vector, neither chunked nor embedded",
    )
    access: list[str] = Field(
        default_factory=list,
        max_length=MAX_ACCESS_GROUPS,
        description="Groups that may read it; empty: every key that may read the collection",
    )

    @field_validator("access")
    @classmethod
    def _check_access(cls, value: list[str]) -> list[str]:
        return groups_or_value_error(value)

    def sent(self) -> SentDocument:
        """The document as ingestion takes it."""
        loaded = LoadedDocument(
            self.id,
            [Block(self.text.strip())],
            title=self.title,
            source=self.source,
            metadata=self.metadata,
            format="api",
            access=tuple(self.access),
        )
        return SentDocument(loaded, self.vector)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        _value_error(lambda: check_document_id(value, "id"))
        return value

    @field_validator("text", "title", "source")
    @classmethod
    def _check_text(cls, value: str) -> str:
        if problem := text_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("metadata")
    @classmethod
    def _check_metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        _value_error(lambda: check_metadata(value))
        return value

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class DocumentBatch(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1)


class ErrorItem(BaseModel):
    path: str
    error: str


class IngestResult(BaseModel):
    added: int
    updated: int
    unchanged: int
    deleted: int
    failed: int
    chunks: int
    embedded: int
    seconds: float
    errors: list[ErrorItem]

    @classmethod
    def from_report(cls, report: Report) -> IngestResult:
        return cls.model_validate(report.as_dict())


class ChunkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ordinal: int
    text: str
    section: str
    page: int | None
    token_count: int


class DocumentOut(BaseModel):  # validated from a `Document` row: `id` is its external id
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(validation_alias=renamed("external_id", "id"))
    title: str
    source: str
    metadata: dict[str, Any] = Field(validation_alias=renamed("metadata_", "metadata"))
    content_hash: str
    chunk_count: int
    access: list[str]
    created_at: datetime
    updated_at: datetime
    chunks: list[ChunkOut] | None = Field(
        default=None, description="Only with ?chunks=true, in order"
    )

    @classmethod
    def of(cls, document: Document, chunks: Sequence[Chunk] | None) -> DocumentOut:
        """The document, with its chunks when they were asked for."""
        out = cls.model_validate(document)
        if chunks is not None:
            out.chunks = [ChunkOut.model_validate(c) for c in chunks]
        return out
