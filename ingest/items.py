"""What the pipeline takes in: documents as loaded, documents a parse worker already
checked, hashed and chunked (or whose sender gave the vector), and the failures met on the
way, which the pipeline only counts."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import replace

from app.embeddings.base import Vectors
from app.validation import check_vector
from ingest.chunker import TextChunk, count_tokens
from ingest.loaders import LoadedDocument
from ingest.prepare import Failure, Prepared, check_document, content_hash

Item = LoadedDocument | Prepared | Failure


async def with_access(items: AsyncIterable[Item], access: Sequence[str]) -> AsyncIterator[Item]:
    """The items, each document readable by the groups `access` (files and uploads share
    one access list)."""
    groups = tuple(sorted(set(access)))
    async for item in items:
        if isinstance(item, Prepared):
            yield replace(item, doc=replace(item.doc, access=groups))
        elif isinstance(item, LoadedDocument):
            yield replace(item, access=groups)
        else:
            yield item


def with_vector(doc: LoadedDocument, vector: Vectors) -> Prepared:
    """A document whose embedding its sender computed: stored as exactly one chunk, its
    whole text, with that vector (no chunking, no embedding). The vector is part of the
    hash, so sending the same text with a new vector replaces it."""
    check_document(doc)
    check_vector(vector)
    text = "\n\n".join(b.text for b in doc.blocks)
    single = TextChunk(text, count_tokens(text), "", None, 0, 0, len(text))
    digest = hashlib.sha256((content_hash(doc) + vector.tobytes().hex()).encode()).hexdigest()
    return Prepared(replace(doc, blocks=[]), digest, [single], vector.reshape(1, -1))
