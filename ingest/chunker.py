"""Split a document's blocks into chunks that fit the embedding model
(docs/decisions/0005-chunking.md).

Tokens are counted with tiktoken `cl100k_base`. A block is cut on structure first
(paragraphs, then table rows, then sentences, then words, then token windows for a word
longer than a chunk) into pieces; consecutive pieces are packed into chunks of at most
`size` tokens. A new chunk starts with the last pieces of the previous one, up to `overlap`
tokens, so a passage cut in two is still whole in one of them. Chunks never span two
blocks (another heading or page).

Given the document's title, each block's context line ("title — summary > heading path",
`ingest.embedded`) is embedded before its chunks' text: the line is cut to a share of the
budget, and a chunk plus its line still fits the model's input limit, so the model never
truncates what it is given.

Every chunk records where it sits in its block (`start`, `end`): `block.text[start:end]` is
its text, which is how tests prove nothing is lost and nothing is repeated beyond the overlap,
with one kind of addition (`_Mender`): a chunk that starts or ends inside a fenced code
block gets the fence back, and one that starts among a Markdown table's rows gets the
table's header again, so each part still reads (and renders) as code or as a table.

Memory stays bounded by the chunks, not the block: spans are cut and packed as a stream (a
20 MB line of words is never held as millions of pieces), and no span is encoded whole when
its length alone proves it too long (a cl100k token covers at most `_max_token_chars()`
characters), so tiktoken never sees more than `size` times that at once.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import tiktoken

from ingest.embedded import CONTEXT_SHARE, SEPARATOR, context_line, embedded_text
from ingest.loaders import Block

ENCODING = "cl100k_base"
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
# Between the rows of a Markdown table: a table too long for a chunk is cut by rows, never
# between its header and the rule under it (a part's header is given back by `_Mender`).
_TABLE_ROW = re.compile(r"\n(?=[ \t]*\|)(?![ \t]*\|(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*(?:\n|$))")
# After . ! ? and whitespace, or right after a CJK full stop, exclamation or question mark.
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])\s*")
_WORD = re.compile(r"\s+")


@dataclass(frozen=True)
class TextChunk:
    text: str
    token_count: int
    section: str
    page: int | None
    block: int  # index of the block it came from
    start: int  # text == blocks[block].text[start:end]
    end: int
    context: str = ""  # "title > heading path", embedded before the text, never shown

    @property
    def embedded(self) -> str:
        """The text the embedding model is given for this chunk."""
        return embedded_text(self.context, self.text)


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    return len(encoding().encode_ordinary(text))


@lru_cache(maxsize=1)
def _max_token_chars() -> int:
    """The most characters one token covers (its bytes: 128 for cl100k)."""
    return max(len(token) for token in encoding().token_byte_values())


class _Tokens:
    """Token counts of spans of one text, each span encoded once: chunking asks for the same
    span up to four times (the whole block, its trimmed piece, the packed chunk, the chunk's
    count), which was 3.4 encodes per MS MARCO passage."""

    _KEEP = 4096  # spans remembered: packing only asks about the last few chunks' spans

    def __init__(self, text: str) -> None:
        self.text = text
        self._known: dict[tuple[int, int], int] = {}

    def __call__(self, start: int, end: int) -> int:
        count = self._known.get((start, end))
        if count is None:
            if len(self._known) >= self._KEEP:
                self._known.clear()
            count = self._known[start, end] = count_tokens(self.text[start:end])
        return count

    def over(self, start: int, end: int, most: int) -> bool:
        """Whether text[start:end] has more than `most` tokens; a span too long to fit is
        never encoded (a 20 MB block would be a 5-million-token list)."""
        return end - start > most * _max_token_chars() or self(start, end) > most


def _split(text: str, start: int, end: int, pattern: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """Spans of text[start:end] cut after each separator (the separator stays with the piece
    before it, so the spans tile the range exactly), one at a time."""
    last = start
    for match in pattern.finditer(text, start, end):
        if match.end() < end and match.end() > last:
            yield last, match.end()
            last = match.end()
    yield last, end


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


# Words are first tried in runs of up to this many characters (with the whitespace after
# them), each one piece: a sentence longer than a chunk (code, a 20 MB line of words) costs
# one encode per run, not per word. A word longer than that is a run of its own.
_WORD_RUN_CHARS = 64
_WORD_RUN = re.compile(rf".{{1,{_WORD_RUN_CHARS}}}(?:\s+|$)|\S+\s*", re.DOTALL)


def _splitter(pattern: re.Pattern[str]) -> Callable[[str, int, int], Iterator[tuple[int, int]]]:
    return lambda text, start, end: _split(text, start, end, pattern)


# Structure from coarse to fine; a run of words too long for a chunk is cut into words.
_LEVELS = tuple(_splitter(p) for p in (_PARAGRAPH, _TABLE_ROW, _SENTENCE, _WORD_RUN, _WORD))


def _pieces(
    tokens: _Tokens, start: int, end: int, size: int, level: int = 0
) -> Iterator[tuple[int, int, int]]:
    """Spans (start, end, tokens) of at most `size` tokens, without whitespace at either
    end, cut at the coarsest structure that gets them there."""
    text = tokens.text
    start, end = _trim(text, start, end)
    if start == end:
        return
    if not tokens.over(start, end, size):
        yield start, end, tokens(start, end)  # counted by `over`
        return
    if level == len(_LEVELS):
        for s, e in _token_windows(text, start, end, size):
            s, e = _trim(text, s, e)
            if s < e:
                yield s, e, tokens(s, e)
        return
    spans = _LEVELS[level](text, start, end)
    first = next(spans)
    if first == (start, end):  # no separator of this level: try the next one
        yield from _pieces(tokens, start, end, size, level + 1)
        return
    for s, e in itertools.chain([first], spans):
        yield from _pieces(tokens, s, e, size, level + 1)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class _Window:
    """The pieces packing still needs (the current chunk's and what follows), read from a
    stream one at a time: `items[0]` is the first piece an unfinished chunk may hold."""

    def __init__(self, pieces: Iterable[tuple[int, int, int]]) -> None:
        self._stream = iter(pieces)
        self.items: list[tuple[int, int, int]] = []

    def has(self, index: int) -> bool:
        while len(self.items) <= index:
            piece = next(self._stream, None)
            if piece is None:
                return False
            self.items.append(piece)
        return True

    def forget(self, count: int) -> None:
        del self.items[:count]


def _pack(
    counted: _Tokens, stream: Iterable[tuple[int, int, int]], size: int, overlap: int
) -> Iterator[tuple[int, int]]:
    """Group consecutive pieces (start, end, tokens) into chunk spans of at most `size`
    tokens, each after the first starting with up to `overlap` tokens of its predecessor."""
    window = _Window(stream)
    pieces = window.items

    def over(first: int, last: int, most: int) -> bool:
        return counted.over(pieces[first][0], pieces[last][1], most)

    first = new = 0  # `new`: the first piece no earlier chunk holds
    if not window.has(0):
        return
    while True:
        last, total = new, sum(p[2] for p in pieces[first : new + 1])
        while window.has(last + 1) and total + pieces[last + 1][2] <= size:
            last += 1
            total += pieces[last][2]
        # Piece counts only estimate the joined text (BPE may merge across a boundary, and
        # the gaps have tokens too): check the real count, giving back new pieces first,
        # then overlap, so every chunk fits and holds at least one new piece.
        while last > new and over(first, last, size):
            last -= 1
        while first < new and over(first, last, size):
            first += 1
        yield pieces[first][0], pieces[last][1]
        if not window.has(last + 1):
            return
        previous_first, new = first, last + 1
        first = new
        while first - 1 > previous_first and not over(first - 1, last, overlap):
            first -= 1
        window.forget(first)  # no later chunk starts before `first`
        new -= first
        first = 0


def _chunk_text(tokens: _Tokens, size: int, overlap: int) -> Iterator[tuple[int, int]]:
    yield from _pack(tokens, _pieces(tokens, 0, len(tokens.text), size), size, overlap)


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
    blocks: Sequence[Block],
    size: int,
    overlap: int,
    model_limit: ModelLimit | None = None,
    title: str | None = None,
) -> list[TextChunk]:
    """Chunks of at most `size` cl100k tokens (and, given `model_limit`, at most that many of
    the model's own tokens with their context line) over all blocks, in order. Given a
    `title`, each chunk carries its context line; without one, none."""
    return list(iter_chunks(blocks, size, overlap, model_limit, title))


def iter_chunks(
    blocks: Iterable[Block],
    size: int,
    overlap: int,
    model_limit: ModelLimit | None = None,
    title: str | None = None,
    *,
    summary: str = "",
) -> Iterator[TextChunk]:
    """`chunk_blocks` one chunk at a time, for a caller that need not hold them all."""
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need 0 <= overlap ({overlap}) < size ({size})")
    for index, block in enumerate(blocks):
        context = (
            "" if title is None else _context(title, block.section, summary, size, model_limit)
        )
        limit = _less(model_limit, context)
        text, covered, tokens = block.text, 0, _Tokens(block.text)
        mender = _Mender(text)
        for start, end in _chunk_text(tokens, size, overlap):
            for s, e in _fitted(text, start, end, size, overlap, limit):
                if e <= covered:
                    continue  # a re-cut piece of the overlap, already in the previous chunk
                covered = e
                mended = mender.mend(s, e, limit)
                count = tokens(s, e) if mended is None else count_tokens(mended)
                yield TextChunk(
                    text[s:e] if mended is None else mended,
                    count,
                    block.section,
                    block.page,
                    index,
                    s,
                    e,
                    context,
                )


_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})")
_LINE = re.compile(r"[^\n]*\n?")


class _Mender:
    """Reads a block's lines in order, knowing at each chunk start whether a fenced code
    block is open (and its opening line) and which Markdown table's rows it is among (and
    that table's header), so the chunk can be given them back."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0  # lines starting before it are read
        self.fence: str | None = None  # the opening line of the open code block
        self.header: list[str] = []  # the current table's header and separator lines
        self.in_table = False  # the last line read is a table row

    def _advance(self, to: int) -> None:
        while self.pos < to:
            match = _LINE.match(self.text, self.pos)
            if match is None or not match.group():
                self.pos = to
                return
            self._read(match.group().rstrip("\n"))
            self.pos = match.end()

    def _read(self, line: str) -> None:
        if self.fence is not None:
            if _closes(line, self.fence):
                self.fence = None
            return
        if _FENCE.match(line):
            self.fence, self.in_table = line, False
            return
        row = line.lstrip().startswith("|")
        if row and not self.in_table:
            self.header = [line]
        elif row and len(self.header) == 1 and set(line.strip()) <= set("|-: "):
            self.header.append(line)
        self.in_table = row

    def mend(self, start: int, end: int, limit: ModelLimit | None) -> str | None:
        """The chunk text[start:end] with its fence or table header given back, or None when
        it needs nothing (or the additions would not fit the model's limit)."""
        self._advance(start)
        piece = self.text[start:end]
        fence = self.fence
        header = []
        at_line_start = start == 0 or self.text[start - 1] == "\n"
        in_rows = fence is None and self.in_table and at_line_start and len(self.header) == 2
        if in_rows and piece.lstrip().startswith("|") and not piece.startswith(self.header[0]):
            header = self.header
        opened = _open_fence(piece, fence)
        for head in ([*header], []) if header else ([],):
            lines = head + ([fence] if fence is not None else [])
            mended = "\n".join([*lines, piece]) if lines else piece
            if opened is not None and self.text[end:].strip():
                # Closed only when the block goes on in the next chunk: a fence the text
                # itself never closes stays as it is.
                mended += "\n" + _fence_run(opened)
            if mended == piece:
                return None
            if limit is None or limit[0](mended) <= limit[1]:
                return mended
        return None


def _open_fence(piece: str, fence: str | None) -> str | None:
    """The opening line of a code block still open at the end of `piece`, which starts
    inside the block `fence` opened (None: outside any)."""
    for line in piece.split("\n"):
        if fence is None:
            fence = line if _FENCE.match(line) else None
        elif _closes(line, fence):
            fence = None
    return fence


def _fence_run(line: str) -> str:
    """The backticks or tildes that open a fenced block (`line` is a fence line)."""
    match = _FENCE.match(line)
    return match[1] if match else "```"


def _closes(line: str, opening: str) -> bool:
    """Whether `line` closes the code block `opening` opened: a run of the same character,
    at least as long, and nothing else (CommonMark)."""
    run = _fence_run(opening)
    stripped = line.strip()
    return len(stripped) >= len(run) and set(stripped) == {run[0]}


def _context(title: str, section: str, summary: str, size: int, limit: ModelLimit | None) -> str:
    """The block's context line, cut to 1/CONTEXT_SHARE of the chunk size (cl100k) and of
    the model's limit (its own tokens)."""
    line = context_line(title, section, summary)
    if not line:
        return ""
    most = max(1, size // CONTEXT_SHARE)
    if _Tokens(line).over(0, len(line), most):
        line = line[: next(_token_windows(line, 0, len(line), most))[1]].rstrip()
    if limit is not None:
        count, model_most = limit
        while line and count(line) > max(1, model_most // CONTEXT_SHARE):
            line = line[: max(0, len(line) * 3 // 4)].rstrip()
    return line


def _less(limit: ModelLimit | None, context: str) -> ModelLimit | None:
    """The model limit left for a chunk's text once its context line is counted."""
    if limit is None or not context:
        return limit
    count, most = limit
    return count, max(1, most - count(context + SEPARATOR))
