"""Blocks repeated across the pages of one ingest: a page's footer or closing section that
every page of a manual repeats ("Part of the git(1) suite" ends all 195 of git's man pages)
becomes one small chunk per page, whose vector is mostly its context line ("git-rerere(1) >
GIT"). Such chunks match any question naming their page and take an answer's sources.

A run keeps `KEEP` copies of a chunk text and drops the others: the first documents of the
run that hold it keep it (still found, as any text), the rest are stored without it. Only
short chunks are counted (at most half the collection's chunk size: footers and notes;
memory stays bounded by them), and a document all of whose chunks are repeated keeps them
all (a page is never stored empty). Documents are whole either way: a document's chunks are
chosen before it is embedded and written, in one transaction as always.

What one run sees is what it drops: a document ingested alone keeps its copy, so a
collection holds at most `KEEP` copies per run that brings the block.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

from ingest.chunker import TextChunk

KEEP = 3  # copies of one chunk text a run stores


def _key(text: str) -> bytes:
    """The chunk's text as a reader compares it: case and spacing aside (16 bytes)."""
    return hashlib.blake2b(" ".join(text.casefold().split()).encode(), digest_size=16).digest()


class RepeatedChunks:
    """One run's count of the short chunk texts it has stored, by document."""

    def __init__(self, chunk_size: int, keep: int = KEEP) -> None:
        self.most_tokens = chunk_size // 2
        self.keep = keep
        self.seen: Counter[bytes] = Counter()
        self.dropped = 0

    def kept(self, chunks: Sequence[TextChunk]) -> Sequence[TextChunk]:
        """The chunks of the next document to store: those whose text `keep` earlier
        documents of the run already hold are left out, unless none would be left."""
        keys = [_key(c.text) if c.token_count <= self.most_tokens else None for c in chunks]
        kept = [
            c for c, k in zip(chunks, keys, strict=True) if k is None or self.seen[k] < self.keep
        ]
        self.seen.update({k for k in keys if k is not None})
        if not kept:
            return chunks
        self.dropped += len(chunks) - len(kept)
        return kept
