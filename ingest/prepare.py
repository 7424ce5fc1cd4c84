"""A document made ready for the pipeline: checked, hashed and chunked. Parse workers
(`ingest.parsing`) run this, so it imports no database, settings or HTTP module: a spawned
worker starts in a fraction of the time the whole application takes to import.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.errors import InvalidInput
from ingest.chunker import Chunk, ModelLimit, chunk_blocks
from ingest.loaders import LoadedDocument

if TYPE_CHECKING:  # numpy costs a spawned worker 0.6 s of start-up, and it needs none
    from app.embeddings.base import Vectors


@dataclass(frozen=True)
class Failure:
    """A file, line or document that could not be ingested, and why."""

    path: str
    error: str


@dataclass(frozen=True)
class Chunking:
    size: int
    overlap: int
    model_limit: ModelLimit | None = None  # the embedder's own token count and limit


@dataclass(frozen=True)
class Prepared:
    """A document checked, hashed and chunked (by a parse worker, `ingest.parsing`); its
    blocks are dropped, so only the chunks travel back to the pipeline."""

    doc: LoadedDocument
    hash: str
    chunks: list[Chunk]
    vectors: Vectors | None = None  # one per chunk when given (never embedded), else None


def content_hash(doc: LoadedDocument) -> str:
    """What decides 'unchanged': text and structure, title, source and metadata."""
    payload = {
        "title": doc.title,
        "source": doc.source,
        "metadata": doc.metadata,
        "blocks": [[b.text, b.section, b.page] for b in doc.blocks],
    }
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


# C0/C1 controls (a newline forges log lines) and the bidi marks, embeddings, overrides and
# isolates (U+202E shows "\u202egnp.md" as "dm.png").
_UNSAFE_ID = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def check_document(doc: LoadedDocument) -> None:
    """Reject what PostgreSQL would reject for the whole batch: NUL characters anywhere
    (text columns and jsonb both refuse them)."""
    if not doc.external_id:
        raise InvalidInput("empty document id")
    fields = [doc.external_id, doc.title, doc.source, *_strings(dict(doc.metadata))]
    fields += [b.text for b in doc.blocks] + [b.section for b in doc.blocks]
    if any("\x00" in f for f in fields):
        raise InvalidInput("contains NUL characters, which PostgreSQL text rejects")
    if _UNSAFE_ID.search(doc.external_id):
        raise InvalidInput(
            f"document id {doc.external_id!r} contains control or bidirectional-override"
            " characters (they make an id display as another)"
        )


def prepare(doc: LoadedDocument, chunking: Chunking) -> Prepared:
    """Check, hash and chunk one document (InvalidInput when PostgreSQL would refuse it)."""
    check_document(doc)
    return Prepared(replace(doc, blocks=[]), content_hash(doc), chunk(doc, chunking))


def chunk(doc: LoadedDocument, chunking: Chunking) -> list[Chunk]:
    return chunk_blocks(doc.blocks, chunking.size, chunking.overlap, chunking.model_limit)
