"""Split a document's blocks into chunks that fit the embedding model (DESIGN.md decision 5).

Tokens are counted with tiktoken `cl100k_base`. A block is cut on structure first
(paragraphs, then sentences, then words, then token windows for a word longer than a chunk)
into pieces; consecutive pieces are packed into chunks of at most `size` tokens. A new chunk
starts with the last pieces of the previous one, up to `overlap` tokens, so a passage cut in
two is still whole in one of them. Chunks never span two blocks (another heading or page).

Every chunk records where it sits in its block (`start`, `end`): `block.text[start:end]` is
its text, which is how tests prove nothing is lost and nothing is repeated beyond the overlap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

from ingest.loaders import Block

ENCODING = "cl100k_base"
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
# After . ! ? and whitespace, or right after a CJK full stop, exclamation or question mark.
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])\s*")
_WORD = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    text: str
    token_count: int
    section: str
    page: int | None
    block: int  # index of the block it came from
    start: int  # text == blocks[block].text[start:end]
    end: int


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    return len(encoding().encode_ordinary(text))


class _Tokens:
    """Token counts of spans of one text, each span encoded once: chunking asks for the same
    span up to four times (the whole block, its trimmed piece, the packed chunk, the chunk's
    count), which was 3.4 encodes per MS MARCO passage."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._known: dict[tuple[int, int], int] = {}

    def __call__(self, start: int, end: int) -> int:
        count = self._known.get((start, end))
        if count is None:
            count = self._known[start, end] = count_tokens(self.text[start:end])
        return count


def _split(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Spans of text[start:end] cut after each separator (the separator stays with the piece
    before it, so the spans tile the range exactly)."""
    spans, last = [], start
    for match in pattern.finditer(text, start, end):
        if match.end() < end and match.end() > last:
            spans.append((last, match.end()))
            last = match.end()
    spans.append((last, end))
    return spans


def _token_windows(text: str, start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """Cut a span with no usable break into runs of at most `size` tokens, on characters.
    Each step encodes a bounded window, so a huge unbroken string costs linear time."""
    while start < end:
        stop = min(end, start + size * 32)
        tokens = encoding().encode_ordinary(text[start:stop])
        if len(tokens) <= size:
            yield start, stop
            start = stop
            continue
        # Characters the first `size` tokens cover (UTF-8 lead bytes); a character split
        # between tokens is counted in, and the check below steps back over it.
        head = b"".join(encoding().decode_tokens_bytes(tokens[:size]))
        cut = start + max(sum(1 for b in head if not 0x80 <= b < 0xC0), 1)
        while cut > start + 1 and count_tokens(text[start:cut]) > size:
            cut -= 1
        yield start, cut
        start = cut


_LEVELS = (_PARAGRAPH, _SENTENCE, _WORD)


def _pieces(
    tokens: _Tokens, start: int, end: int, size: int, level: int = 0
) -> Iterator[tuple[int, int]]:
    """Spans of at most `size` tokens, cut at the coarsest structure that gets them there."""
    text = tokens.text
    if tokens(start, end) <= size:
        yield start, end
        return
    if level == len(_LEVELS):
        yield from _token_windows(text, start, end, size)
        return
    spans = _split(text, start, end, _LEVELS[level])
    if len(spans) == 1:
        yield from _pieces(tokens, start, end, size, level + 1)
        return
    for s, e in spans:
        yield from _pieces(tokens, s, e, size, level + 1)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _pack(
    counted: _Tokens, pieces: list[tuple[int, int, int]], size: int, overlap: int
) -> Iterator[tuple[int, int]]:
    """Group consecutive pieces (start, end, tokens) into chunk spans of at most `size`
    tokens, each after the first starting with up to `overlap` tokens of its predecessor."""

    def tokens(first: int, last: int) -> int:
        return counted(pieces[first][0], pieces[last][1])

    first = new = 0  # `new`: the first piece no earlier chunk holds
    while pieces:
        last, total = new, sum(p[2] for p in pieces[first : new + 1])
        while last + 1 < len(pieces) and total + pieces[last + 1][2] <= size:
            last += 1
            total += pieces[last][2]
        # Piece counts only estimate the joined text (BPE may merge across a boundary, and
        # the gaps have tokens too): check the real count, giving back new pieces first,
        # then overlap, so every chunk fits and holds at least one new piece.
        while last > new and tokens(first, last) > size:
            last -= 1
        while first < new and tokens(first, last) > size:
            first += 1
        yield pieces[first][0], pieces[last][1]
        if last + 1 >= len(pieces):
            return
        previous_first, new = first, last + 1
        first = new
        while first - 1 > previous_first and tokens(first - 1, last) <= overlap:
            first -= 1


def _chunk_text(tokens: _Tokens, size: int, overlap: int) -> Iterator[tuple[int, int]]:
    text, pieces = tokens.text, []
    for s, e in _pieces(tokens, 0, len(text), size):
        s, e = _trim(text, s, e)
        if s < e:
            pieces.append((s, e, tokens(s, e)))
    yield from _pack(tokens, pieces, size, overlap)


def _fitted(
    text: str, start: int, end: int, size: int, overlap: int, limit: ModelLimit | None
) -> Iterator[tuple[int, int]]:
    """Re-cut a span the embedding model counts as too long (its tokens are not cl100k's:
    Cyrillic or URLs take up to 1.7 word pieces per cl100k token) with a smaller size."""
    if limit is None:
        yield start, end
        return
    count, most = limit
    used = count(text[start:end])
    if used <= most:
        yield start, end
        return
    if size <= 1:  # one cl100k token the model still counts as too long: cut characters
        yield from _character_cuts(text, start, end, limit)
        return
    smaller = max(1, min(size - 1, size * most // used))
    span = _Tokens(text[start:end])
    for s, e in _chunk_text(span, smaller, min(overlap, smaller - 1)):
        yield from _fitted(text, start + s, start + e, smaller, overlap, limit)


def _character_cuts(
    text: str, start: int, end: int, limit: ModelLimit
) -> Iterator[tuple[int, int]]:
    count, most = limit
    while start < end:
        cut = end
        while cut > start + 1 and count(text[start:cut]) > most:
            cut -= 1
        s, e = _trim(text, start, cut)
        if s < e:
            yield s, e
        start = cut


#: The embedding model's own token counter and its input limit in those tokens.
ModelLimit = tuple[Callable[[str], int], int]


def chunk_blocks(
    blocks: Sequence[Block], size: int, overlap: int, model_limit: ModelLimit | None = None
) -> list[Chunk]:
    """Chunks of at most `size` cl100k tokens (and, given `model_limit`, at most that many of
    the model's own tokens) over all blocks, in order."""
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need 0 <= overlap ({overlap}) < size ({size})")
    chunks: list[Chunk] = []
    for index, block in enumerate(blocks):
        text, covered, tokens = block.text, 0, _Tokens(block.text)
        for start, end in _chunk_text(tokens, size, overlap):
            for s, e in _fitted(text, start, end, size, overlap, model_limit):
                if e <= covered:
                    continue  # a re-cut piece of the overlap, already in the previous chunk
                covered = e
                chunk_text = text[s:e]
                chunks.append(
                    Chunk(
                        chunk_text,
                        tokens(s, e),
                        block.section,
                        block.page,
                        index,
                        s,
                        e,
                    )
                )
    return chunks
