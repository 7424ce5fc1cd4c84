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
counted too, and the run of them that opens `EDGE_KEEP` earlier documents of the run is cut
from the document's first chunk (never into a code block); the chunk keeps the rest. A
footer is cut from the last chunk the same way, its paragraphs compared with their digits
masked: "This page last modified on 2022-06-15 00:04:17 UTC" closes each page with its own
date.

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
# Documents of the run that must open (close) with a paragraph before it is cut from the
# next ones: a site's header and footer are on every page, while the last entry a few
# sibling pages share is content (8 of PostgreSQL's information_schema pages end with
# "`is_grantable` `yes_or_no` YES if the privilege is grantable, NO if not").
EDGE_KEEP = 10
# The opening (closing) paragraphs of a document that are counted (a menu is one paragraph
# an item) and the longest counted: a header's and a footer's parts are short.
EDGE_PARAGRAPHS = 40
EDGE_CHARS = 200
# Opening (closing) paragraphs the run remembers at most; beyond it, those seen once are
# forgotten (a page's own first and last lines, most of them): memory stays bounded.
EDGE_REMEMBERED = 100_000
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n\s*")
_FENCE = ("```", "~~~")
_DIGITS = re.compile(r"\d+")


def _key(text: str) -> bytes:
    """The chunk's text as a reader compares it: case and spacing aside (16 bytes)."""
    return hashlib.blake2b(" ".join(text.casefold().split()).encode(), digest_size=16).digest()


class RepeatedChunks:
    """One run's count of the short chunk texts it has stored, by document."""

    def __init__(self, chunk_size: int, keep: int = KEEP, edge_keep: int = EDGE_KEEP) -> None:
        self.most_tokens = chunk_size // 2
        self.keep = keep
        self.seen: Counter[bytes] = Counter()
        self.heads = _Edge(edge_keep, closing=False)
        self.tails = _Edge(edge_keep, closing=True)
        self.dropped = 0

    def kept(self, chunks: Sequence[TextChunk]) -> Sequence[TextChunk]:
        """The chunks of the next document to store: those whose text `keep` earlier
        documents of the run already hold are left out, unless none would be left; the
        first chunk without the opening paragraphs `edge_keep` earlier documents open with, the
        last without the closing ones. The same sequence comes back when nothing was left
        out."""
        given = chunks
        chunks = self._without_edges(chunks)
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

    def _without_edges(self, chunks: Sequence[TextChunk]) -> Sequence[TextChunk]:
        """The chunks without the opening run of the first and the closing run of the last
        that `edge_keep` earlier documents of the run opened or closed with."""
        if not chunks:
            return chunks
        head = self.heads.cut(chunks[0].text)
        tail = self.tails.cut(chunks[-1].text)
        if not head and tail == len(chunks[-1].text):
            return chunks
        ends = [(0, len(c.text)) for c in chunks]
        ends[0] = (head, ends[0][1])
        ends[-1] = (ends[-1][0], tail)
        out = [_slice(c, a, b) for c, (a, b) in zip(chunks, ends, strict=True)]
        kept = [c for c in out if c is not None]
        return kept or chunks


class _Edge:
    """One run's count of the paragraphs that open (or close) its documents' text, and the
    cut of the run of them that `keep` earlier documents share."""

    def __init__(self, keep: int, *, closing: bool) -> None:
        self.keep = keep
        self.closing = closing
        self.counts: Counter[bytes] = Counter()

    def cut(self, text: str) -> int:
        """Where the text to keep starts (opening) or ends (closing); counts its paragraphs."""
        spans = list(_paragraphs(text))
        spans = (spans[::-1] if self.closing else spans)[:EDGE_PARAGRAPHS]
        keys = [
            self._key(text[start:end]) if end - start <= EDGE_CHARS else None
            for start, end in spans
        ]
        at = len(text) if self.closing else 0
        for (start, end), key in zip(spans, keys, strict=True):
            if (
                key is None
                or self.counts[key] < self.keep
                or any(f in text[start:end] for f in _FENCE)
            ):
                break
            at = start if self.closing else end
        self.remember({k for k in keys if k is not None})
        if at in (0, len(text)):  # nothing cut, or all of it
            return at
        if self.closing:
            return len(text[:at].rstrip())
        return at + len(text[at:]) - len(text[at:].lstrip())

    def _key(self, text: str) -> bytes:
        # a footer's date or version changes from page to page ("This page last modified
        # on 2022-06-15"): closing paragraphs compare with their digits masked
        return _key(_DIGITS.sub("0", text) if self.closing else text)

    def remember(self, keys: set[bytes]) -> None:
        self.counts.update(keys)
        if len(self.counts) > EDGE_REMEMBERED:
            self.counts = Counter({k: n for k, n in self.counts.items() if n > 1})


def _slice(chunk: TextChunk, start: int, end: int) -> TextChunk | None:
    """The chunk cut to text[start:end]; None when nothing is left."""
    if (start, end) == (0, len(chunk.text)):
        return chunk
    text = chunk.text[start:end]
    if not text.strip():
        return None
    return replace(
        chunk,
        text=text,
        start=chunk.start + start,
        end=chunk.start + end,
        token_count=count_tokens(text),
    )


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each paragraph of `text` (blank lines between), in order."""
    start = 0
    for gap in _PARAGRAPH_END.finditer(text):
        if gap.start() > start:
            yield start, gap.start()
        start = gap.end()
    if start < len(text):
        yield start, len(text)
