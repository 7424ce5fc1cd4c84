"""The unit the pipeline's stages pass on: a batch of whole documents, or (alone) one part
of a document too large for one batch, and the records it becomes once embedded."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from app.embeddings.base import Vectors
from ingest.chunker import TextChunk
from ingest.loaders import LoadedDocument
from ingest.writer import ChunkRecord, DocumentRecord

# Chunks per embed call and per write transaction. The local model embeds a call's texts
# shortest first, so a larger call pads less: 1,024 made a first ingest of 2,000 MS MARCO
# passages 16% faster than 256 (bench/vs_reingest.py --systems pgask --docs 2000).
BATCH_CHUNKS = 1024


@dataclass(frozen=True)
class Part:
    """Where a pending item's chunks sit in their document: all of it, or one part of a
    document too large for one batch."""

    ordinal: int = 0  # of its first chunk
    last: bool = True

    @property
    def whole(self) -> bool:
        return self.ordinal == 0 and self.last


@dataclass
class Pending:
    doc: LoadedDocument
    hash: str
    chunks: list[TextChunk]
    vectors: Vectors | None = None  # precomputed: not embedded
    part: Part = Part()


@dataclass
class Batch:
    """Whole documents, or (alone) one part of a document."""

    pending: list[Pending] = field(default_factory=list)
    records: list[DocumentRecord] = field(default_factory=list)
    chunk_count: int = 0
    failure: str | None = None  # a part that could not be embedded: its document fails

    @property
    def part(self) -> Part:
        return self.pending[0].part if self.pending else Part()


def parts(chunks: Iterable[TextChunk]) -> Iterator[tuple[list[TextChunk], Part]]:
    """A document's chunks in parts of BATCH_CHUNKS (one part, maybe empty, when it has no
    more), cut one part ahead to know which is the last."""
    stream = iter(chunks)
    part, ordinal = list(islice(stream, BATCH_CHUNKS)), 0
    while True:
        following = list(islice(stream, BATCH_CHUNKS))
        yield part, Part(ordinal, last=not following)
        if not following:
            return
        part, ordinal = following, ordinal + len(part)


def records(pending: list[Pending], embedded: Iterator[Vectors]) -> Iterator[DocumentRecord]:
    """The pending documents as the writer takes them, each chunk with its vector: the
    precomputed ones, else the next of `embedded`."""
    for p in pending:
        vectors = p.vectors if p.vectors is not None else [next(embedded) for _ in p.chunks]
        yield DocumentRecord(
            external_id=p.doc.external_id,
            content_hash=p.hash,
            title=p.doc.title,
            source=p.doc.source,
            metadata=p.doc.metadata,
            access=p.doc.access,
            chunks=[
                ChunkRecord(
                    ordinal=p.part.ordinal + i,
                    text=c.text,
                    token_count=c.token_count,
                    embedding=vector,
                    section=c.section,
                    page=c.page,
                )
                for i, (c, vector) in enumerate(zip(p.chunks, vectors, strict=True))
            ],
        )
