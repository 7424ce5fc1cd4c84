"""A document made ready for the pipeline: checked, hashed and chunked. Parse workers
(`ingest.parsing`) run this, so it imports no database, settings or HTTP module: a spawned
worker starts in a fraction of the time the whole application takes to import.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain, islice
from typing import TYPE_CHECKING, Any

from app.errors import InvalidInput
from app.validation import check_document_fields, check_text, shown_id, summary_of
from ingest.chunker import ModelLimit, TextChunk, iter_chunks
from ingest.embedded import RECIPE
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


# A document of more chunks is written to a file as it is cut (`SpilledChunks`).
SPILL_CHUNKS = 1024


class SpilledChunks:
    """A document's chunks in a file, read back a part at a time: a parse worker writes a
    document of more than SPILL_CHUNKS chunks there as it cuts them, so neither it nor the
    pipeline holds them all (a 20 MB line is 29,874 chunks: a 26 MB pickle in one piece,
    then about 30 MB of objects in the server). The process that unpickles it owns the
    file, deleted when the object goes; a worker killed while writing leaves it in the
    temporary folder (`pgask-chunks-*`)."""

    def __init__(self, path: str, count: int) -> None:
        self.path, self.count = path, count

    @classmethod
    def write(cls, chunks: Iterable[TextChunk]) -> SpilledChunks:
        handle, path = tempfile.mkstemp(prefix="pgask-chunks-")
        count, stream = 0, iter(chunks)
        with os.fdopen(handle, "wb") as out:
            while part := list(islice(stream, SPILL_CHUNKS)):
                pickle.dump(part, out, pickle.HIGHEST_PROTOCOL)
                count += len(part)
        return cls(path, count)

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return _received, (self.path, self.count)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[TextChunk]:
        with open(self.path, "rb") as handle:
            for _ in range(0, self.count, SPILL_CHUNKS):
                yield from pickle.load(handle)


def _received(path: str, count: int) -> SpilledChunks:
    spilled = SpilledChunks(path, count)
    weakref.finalize(spilled, _remove, path)
    return spilled


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


@dataclass(frozen=True)
class Prepared:
    """A document checked, hashed and chunked (by a parse worker, `ingest.parsing`); its
    blocks are dropped, so only the chunks travel back to the pipeline."""

    doc: LoadedDocument
    hash: str
    chunks: Sequence[TextChunk] | SpilledChunks
    vectors: Vectors | None = None  # one per chunk when given (never embedded), else None


def content_hash(doc: LoadedDocument) -> str:
    """What decides 'unchanged': text and structure, title, source and metadata, and the
    recipe of what is embedded (a new recipe re-embeds every document once)."""
    payload = {
        "recipe": RECIPE,
        "title": doc.title,
        "source": doc.source,
        "metadata": doc.metadata,
        "blocks": [[b.text, b.section, b.page] for b in doc.blocks],
    }
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def check_document(doc: LoadedDocument) -> None:
    """Reject, before anything is cut or counted, what the API's schemas refuse
    (app/validation.py): a bad id, title or source, metadata too deep or too large, and
    text PostgreSQL or the tokenizers refuse (NUL characters, lone surrogates). A document
    of a file of many (JSON Lines) is named in the error: its failure carries the file's."""
    try:
        check_document_fields(doc.external_id, doc.title, doc.source, doc.metadata)
        for block in doc.blocks:
            check_text(block.text, "text")
            check_text(block.section, "section")
    except InvalidInput as exc:
        if doc.format != "beir":
            raise
        raise InvalidInput(f"document {shown_id(doc.external_id)}: {exc.detail}") from exc


def prepare(doc: LoadedDocument, chunking: Chunking) -> Prepared:
    """Check, hash and chunk one document (InvalidInput when PostgreSQL would refuse it);
    more than SPILL_CHUNKS chunks are spilled to a file as they are cut."""
    check_document(doc)
    chunks = chunk(doc, chunking)
    first = list(islice(chunks, SPILL_CHUNKS + 1))
    kept = first if len(first) <= SPILL_CHUNKS else SpilledChunks.write(chain(first, chunks))
    return Prepared(replace(doc, blocks=[]), content_hash(doc), kept)


def chunk(doc: LoadedDocument, chunking: Chunking) -> Iterator[TextChunk]:
    """A document's chunks, cut one at a time."""
    return iter_chunks(
        doc.blocks,
        chunking.size,
        chunking.overlap,
        chunking.model_limit,
        doc.title,
        summary=summary_of(doc.metadata),
    )
