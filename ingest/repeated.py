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

A site's own header (a logo's name, a tagline, a menu: SQLite's pages, any hand-made site
whose markup no generator rule knows) is not a chunk of its own: it opens each page's first
chunk, before the page's title and first lines. So the paragraphs that open a document are
counted too, and the run of them that opens `KEEP` earlier documents of the run is cut
from the document's first chunk (never into a code block); the chunk keeps the rest.

What one run sees is what it drops: a document ingested alone keeps its copy, so a
collection holds at most `KEEP` copies per run that brings the block.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace

from ingest.chunker import TextChunk, count_tokens

KEEP = 3  # copies of one chunk text a run stores
# The opening paragraphs of a document that are counted (a menu is one paragraph an item)
# and the longest counted: a header's parts are short.
LEAD_PARAGRAPHS = 40
LEAD_CHARS = 200
# Opening paragraphs the run remembers at most; beyond it, those seen once are forgotten
# (a page's own first lines, which are most of them): memory stays bounded on any run.
LEAD_REMEMBERED = 100_000
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n\s*")
_FENCE = ("```", "~~~")


def _key(text: str) -> bytes:
    """The chunk's text as a reader compares it: case and spacing aside (16 bytes)."""
    return hashlib.blake2b(" ".join(text.casefold().split()).encode(), digest_size=16).digest()


class RepeatedChunks:
    """One run's count of the short chunk texts it has stored, by document."""

    def __init__(self, chunk_size: int, keep: int = KEEP) -> None:
        self.most_tokens = chunk_size // 2
        self.keep = keep
        self.seen: Counter[bytes] = Counter()
        self.leads: Counter[bytes] = Counter()
        self.dropped = 0

    def kept(self, chunks: Sequence[TextChunk]) -> Sequence[TextChunk]:
        """The chunks of the next document to store: those whose text `keep` earlier
        documents of the run already hold are left out, unless none would be left; the
        first chunk without the opening paragraphs `keep` earlier documents open with. The
        same sequence comes back when nothing was left out."""
        given = chunks
        chunks = self._without_header(chunks)
        keys = [_key(c.text) if c.token_count <= self.most_tokens else None for c in chunks]
        kept = [
            c for c, k in zip(chunks, keys, strict=True) if k is None or self.seen[k] < self.keep
        ]
        self.seen.update({k for k in keys if k is not None})
        if not kept:
            kept = list(chunks)
        if kept == list(given):
            return given
        self.dropped += len(given) - len(kept)
        return kept

    def _without_header(self, chunks: Sequence[TextChunk]) -> Sequence[TextChunk]:
        if not chunks:
            return chunks
        first = chunks[0]
        spans = list(_paragraphs(first.text))[:LEAD_PARAGRAPHS]
        keys = [
            _key(first.text[start:end]) if end - start <= LEAD_CHARS else None
            for start, end in spans
        ]
        cut = 0
        for (start, _), key, following in zip(spans, keys, [*spans[1:], None], strict=True):
            if key is None or self.leads[key] < self.keep or first.text.startswith(_FENCE, start):
                break
            cut = following[0] if following else len(first.text)
        self._remember({k for k in keys if k is not None})
        if not cut:
            return chunks
        rest = first.text[cut:]
        if not rest.strip():
            return chunks[1:] or chunks
        shorter = replace(first, text=rest, start=first.start + cut, token_count=count_tokens(rest))
        return [shorter, *chunks[1:]]

    def _remember(self, keys: set[bytes]) -> None:
        self.leads.update(keys)
        if len(self.leads) > LEAD_REMEMBERED:
            self.leads = Counter({k: n for k, n in self.leads.items() if n > 1})


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each paragraph of `text` (blank lines between), in order."""
    start = 0
    for gap in _PARAGRAPH_END.finditer(text):
        if gap.start() > start:
            yield start, gap.start()
        start = gap.end()
    if start < len(text):
        yield start, len(text)
