"""The pgask export format, version 1: one Parquet file, one row per chunk.

File-level key/value metadata names the format and its version and carries the collection's
settings and model pin; a reader refuses a file without them, or of a newer version. The
columns are described in docs/export-format.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import get_type_hints

import pyarrow as pa

from app.catalog import COLLECTION_NAME_PATTERN
from app.db.schema import VECTOR_TYPES, VectorType
from app.errors import InvalidInput
from app.validation import MAX_DESCRIPTION_CHARS, MAX_DIMENSIONS, check_text

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
        # Groups that may read the document (row-level security); empty: everyone.
        pa.field("access", pa.list_(pa.string()), nullable=False),
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
    if version > FORMAT_VERSION:
        raise InvalidInput(
            f"export format version {version} is newer than this pgask reads "
            f"({FORMAT_VERSION}); upgrade pgask"
        )
    if version != FORMAT_VERSION:
        raise InvalidInput(f"damaged pgask export header: no format version {version} exists")
    try:
        _check_header(header, counts)
    except InvalidInput as exc:
        raise InvalidInput(f"damaged pgask export header: {exc.detail}") from exc
    expected = arrow_schema(header, counts).remove_metadata()
    if not schema.remove_metadata().equals(expected):
        raise InvalidInput("pgask export has unexpected columns for format version 1")
    return header, counts


def _check_header(header: CollectionHeader, counts: Counts) -> None:
    """Each value of the type and within the bounds a collection created through the API
    has (app/validation.py, app/catalog.py)."""
    for item in (header, counts):
        for name, kind in get_type_hints(type(item)).items():
            value = getattr(item, name)
            wanted = int if kind is int else str
            if type(value) is not wanted:  # bool is an int; "384" is no number
                raise InvalidInput(
                    f"{name} {value!r} is not {'a number' if wanted is int else 'text'}"
                )
            if isinstance(value, str):
                check_text(value, name, most=MAX_DESCRIPTION_CHARS)
    if not re.match(COLLECTION_NAME_PATTERN, header.name):
        raise InvalidInput(f"name {header.name!r} is not a valid collection name")
    if not 1 <= header.embedding_dimensions <= MAX_DIMENSIONS:
        raise InvalidInput(
            f"embedding_dimensions {header.embedding_dimensions} is not 1-{MAX_DIMENSIONS}"
        )
    if header.vector_type not in VECTOR_TYPES:
        raise InvalidInput(f"vector_type {header.vector_type!r}")
    if header.chunk_size < 1 or header.chunk_overlap < 0:
        raise InvalidInput("chunk_size must be at least 1 and chunk_overlap at least 0")
    if counts.documents < 0 or counts.chunks < 0:
        raise InvalidInput("negative counts")
