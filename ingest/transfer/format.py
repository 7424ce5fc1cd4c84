"""The pgask export format, version 1: one Parquet file, one row per chunk.

File-level key/value metadata names the format and its version and carries the collection's
settings and model pin; a reader refuses a file without them, or of a newer version. The
columns are described in docs/export-format.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import pyarrow as pa

from app.db.schema import VECTOR_TYPES, VectorType
from app.errors import InvalidInput

FORMAT_NAME = "pgask-collection"
FORMAT_VERSION = 1
ROW_GROUP_ROWS = 4096  # chunks per row group: bounds memory on both sides

KEY_FORMAT = b"pgask.format"
KEY_VERSION = b"pgask.format_version"
KEY_COLLECTION = b"pgask.collection"
KEY_COUNTS = b"pgask.counts"


@dataclass(frozen=True)
class CollectionHeader:
    """A collection's settings and model pin, as the file carries them."""

    name: str
    description: str
    embedding_provider: str
    embedding_model: str
    embedding_dimensions: int
    chunk_size: int
    chunk_overlap: int
    text_config: str
    vector_type: VectorType = "vector"  # files written before halfvec lack it


@dataclass(frozen=True)
class Counts:
    documents: int
    chunks: int


def arrow_schema(header: CollectionHeader, counts: Counts) -> pa.Schema:
    dims = header.embedding_dimensions
    fields = [
        pa.field("external_id", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("metadata", pa.string(), nullable=False),  # JSON object
        pa.field("content_hash", pa.string(), nullable=False),
        # The chunk columns are null on the one row of a document that has no chunks.
        pa.field("ordinal", pa.int32()),
        pa.field("text", pa.string()),
        pa.field("section", pa.string()),
        pa.field("page", pa.int32()),
        pa.field("token_count", pa.int32()),
        pa.field("embedding", pa.list_(pa.float32(), dims)),
    ]
    metadata = {
        KEY_FORMAT: FORMAT_NAME.encode(),
        KEY_VERSION: str(FORMAT_VERSION).encode(),
        KEY_COLLECTION: json.dumps(asdict(header)).encode(),
        KEY_COUNTS: json.dumps(asdict(counts)).encode(),
    }
    return pa.schema(fields, metadata=metadata)


def read_header(schema: pa.Schema) -> tuple[CollectionHeader, Counts]:
    """The header of a pgask export, or InvalidInput naming what is wrong with the file."""
    meta = schema.metadata or {}
    if meta.get(KEY_FORMAT) != FORMAT_NAME.encode():
        raise InvalidInput("not a pgask export (no pgask.format key in the Parquet metadata)")
    try:
        version = int(meta[KEY_VERSION])
        header = CollectionHeader(**json.loads(meta[KEY_COLLECTION]))
        counts = Counts(**json.loads(meta[KEY_COUNTS]))
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"damaged pgask export header: {exc}") from exc
    if header.vector_type not in VECTOR_TYPES:
        raise InvalidInput(f"damaged pgask export header: vector_type {header.vector_type!r}")
    if version > FORMAT_VERSION:
        raise InvalidInput(
            f"export format version {version} is newer than this pgask reads "
            f"({FORMAT_VERSION}); upgrade pgask"
        )
    expected = arrow_schema(header, counts).remove_metadata()
    if not schema.remove_metadata().equals(expected):
        raise InvalidInput("pgask export has unexpected columns for format version 1")
    return header, counts
