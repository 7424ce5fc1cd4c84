"""ORM models. The schema itself changes only through Alembic (`migrations/`); a test checks
that these models and the migrations agree.

Documents and chunks are LIST-partitioned by `collection_id`
(docs/decisions/0004-vector-column-and-per-collection-indexes.md): each
collection gets its own partitions and expression HNSW index, made at run time with the
collection (`app/db/schema.py`), which is why those are not declared here. One column type
serves every collection whatever its dimensions: `embedding` is an untyped `vector`, and
`embedding_half` an untyped `halfvec` for the collections that store 16-bit floats. Every
key of both tables includes `collection_id`, as partitioning (and Citus) require.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import HALFVEC, Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REGCONFIG, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import conv

from app.db.schema import VectorType


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str] = mapped_column(Text, server_default="")
    embedding_provider: Mapped[str] = mapped_column(Text)
    embedding_model: Mapped[str] = mapped_column(Text)
    embedding_dimensions: Mapped[int] = mapped_column(Integer)
    chunk_size: Mapped[int] = mapped_column(Integer)
    chunk_overlap: Mapped[int] = mapped_column(Integer)
    text_config: Mapped[str] = mapped_column(REGCONFIG, server_default=sql_text("'english'"))
    # How the HNSW index stores vectors: `halfvec` (16-bit floats) halves the index.
    vector_type: Mapped[VectorType] = mapped_column(Text, server_default="vector")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    documents: Mapped[list[Document]] = relationship(
        back_populates="collection", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint("embedding_dimensions BETWEEN 1 AND 16000", name="dimensions_range"),
        CheckConstraint("chunk_overlap >= 0 AND chunk_overlap < chunk_size", name="overlap"),
        CheckConstraint("vector_type IN ('vector', 'halfvec')", name="vector_type"),
    )


_PARTITIONED = {"postgresql_partition_by": "LIST (collection_id)"}


class Document(Base):
    __tablename__ = "documents"

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # The idempotency key: an id given by the caller, or the file path relative to the
    # ingest root. (collection_id, external_id) is unique.
    external_id: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, server_default="")
    source: Mapped[str] = mapped_column(Text, server_default="")
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=sql_text("'{}'::jsonb")
    )
    content_hash: Mapped[str] = mapped_column(Text)
    chunk_count: Mapped[int] = mapped_column(Integer, server_default="0")
    # Groups that may read it (empty: everyone who may read the collection); enforced by
    # row-level security (migrations/versions/0004_access.py).
    access: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=sql_text("'{}'::text[]"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    collection: Mapped[Collection] = relationship(back_populates="documents")

    __table_args__ = (UniqueConstraint("collection_id", "external_id"), _PARTITIONED)


class Chunk(Base):
    __tablename__ = "chunks"

    # The partition key, denormalised from the document.
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(BigInteger)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    section: Mapped[str] = mapped_column(Text, server_default="")
    page: Mapped[int | None] = mapped_column(Integer)
    token_count: Mapped[int] = mapped_column(Integer)
    # The document's metadata, copied per chunk so filters need no join on the hot path.
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=sql_text("'{}'::jsonb")
    )
    # A chunk's vector is in the column of its collection's vector type
    # (`app/db/schema.py` embedding_column), the other one is NULL (no bytes but a bit).
    embedding: Mapped[Any | None] = mapped_column(Vector())
    embedding_half: Mapped[Any | None] = mapped_column(HALFVEC())
    text_config: Mapped[str] = mapped_column(REGCONFIG, server_default=sql_text("'english'"))
    # The document's title, copied so the generated `tsv` can weigh it (a generated column
    # reads only its own row); written with the chunk, which is rewritten whenever it changes.
    title: Mapped[str] = mapped_column(Text, server_default="")
    # Title (A) and heading path (B) above the body (D), for search's weights (a title word
    # counts 2.5 body words: app/search/sql.py RANK_WEIGHTS,
    # migrations/versions/0010_text_index.py, docs/decisions/0015-text-ranking.md).
    tsv: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            "setweight(to_tsvector(text_config, title), 'A')"
            " || setweight(to_tsvector(text_config, section), 'B')"
            " || to_tsvector(text_config, text)",
            persisted=True,
        ),
    )
    # The document's access, copied so the chunks policy needs no join (an HNSW iterative
    # scan filters chunk rows only); '{*}' for a document without groups (ingest/writer.py
    # chunk_access).
    access: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=sql_text("'{*}'::text[]"))

    __table_args__ = (
        ForeignKeyConstraint(
            ["collection_id", "document_id"],
            ["documents.collection_id", "documents.id"],
            name=conv("fk_chunks_document_id"),
            ondelete="CASCADE",
        ),
        UniqueConstraint("collection_id", "document_id", "ordinal"),
        Index("chunks_tsv", "tsv", postgresql_using="gin"),
        Index(
            "chunks_metadata",
            "metadata",
            postgresql_using="gin",
            postgresql_ops={"metadata": "jsonb_path_ops"},
        ),
        Index("chunks_access", "access", postgresql_using="gin"),
        CheckConstraint("num_nulls(embedding, embedding_half) = 1", name="one_embedding"),
        _PARTITIONED,
    )


class IngestJob(Base):
    __tablename__ = "ingest_jobs"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=sql_text("gen_random_uuid()")
    )
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(Text, server_default="queued")
    # What to ingest and how (e.g. uploaded file names, prune flag); shape owned by ingest/.
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql_text("'{}'::jsonb"))
    total: Mapped[int] = mapped_column(Integer, server_default="0")
    done: Mapped[int] = mapped_column(Integer, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, server_default="0")
    errors: Mapped[list[Any]] = mapped_column(JSONB, server_default=sql_text("'[]'::jsonb"))
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql_text("'{}'::jsonb"))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    worker: Mapped[str | None] = mapped_column(Text)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name="job_status",
        ),
        Index("ingest_jobs_queue", "created_at", postgresql_where=sql_text("status = 'queued'")),
        Index(
            "ingest_jobs_running", "heartbeat_at", postgresql_where=sql_text("status = 'running'")
        ),
    )


class IngestJobFile(Base):
    """A piece of an uploaded file waiting for its job, kept in PostgreSQL so that a
    `pgask worker` on another machine can process it; deleted when the job finishes. A file
    is stored in pieces of at most `ingest.uploads.PIECE_BYTES` (`part` 0, 1, ...), written as
    the upload is read and fetched one at a time, so no process holds a whole upload."""

    __tablename__ = "ingest_job_files"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ingest_jobs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    part: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (UniqueConstraint("job_id", "name", "part"),)


class ApiKeyRow(Base):
    """An API key: only a SHA-256 digest of its secret is kept, and the secret's first
    characters (`prefix`) to find the row (`app/keys.py`)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    prefix: Mapped[str] = mapped_column(Text, unique=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    role: Mapped[str] = mapped_column(Text)
    collections: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # None: every one
    groups: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=sql_text("'{}'::text[]"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("role IN ('read', 'write', 'admin')", name="role"),)


class AuditEvent(Base):
    """An administrative action (key created/revoked, collection created/deleted, document
    deleted), by which key (None: no keys configured, or the CLI without one)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    key_name: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql_text("'{}'::jsonb"))

    # Inserted by write keys' role, which may not read it back: no RETURNING (app/audit.py).
    __table_args__ = ({"implicit_returning": False},)


class Source(Base):
    """A folder, repository, site or bucket a collection is kept in sync with (shape and
    rules: ingest/sources/, migration 0011_sources)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB)
    access: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=sql_text("'{}'::text[]"))
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    next_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ingest_jobs.id", ondelete="SET NULL")
    )
    cursor: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql_text("'{}'::jsonb"))
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sync: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql_text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("interval_seconds > 0", name="interval"),
        Index("sources_due", "next_sync_at", postgresql_where=sql_text("next_sync_at IS NOT NULL")),
    )


class SourceItem(Base):
    """The version of a source's item its last sync stored."""

    __tablename__ = "source_items"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[str] = mapped_column(Text)
    skipped: Mapped[bool] = mapped_column(Boolean, server_default=sql_text("false"))
