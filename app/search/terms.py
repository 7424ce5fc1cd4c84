"""Which words of a full-text question find the candidates, and which only rank them.

A question of plain words is OR'ed, so a passage sharing only some of its words still
matches; but then a word that is in a fifth of the collection ("use", "time") makes the
search fetch and rank a fifth of the collection, and the cost grows with it. Here the
question's lexemes are sorted by how many chunks hold them (the collection's own statistics,
from ANALYZE: `pgask_lexeme_statistics`, migrations/versions/0010_text_index.py), and the
rarest are OR'ed into the *match* query until the rows they are expected to match reach a
budget; every lexeme still counts in the *rank* query (`ts_rank`) of the rows matched. A
chunk holding only the common words of a question is not a candidate, which costs little
quality (measured: docs/decisions/0015-text-ranking.md) and bounds the rows ranked by the
budget plus the lexemes too rare for the statistics to list, whatever the collection's size.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Self

# Rows the match query is expected to reach (`plan_terms`): a text search's p50 was 15 ms on
# 200,000 chunks on the shared 2-core machine, against 105 ms when every word matched
# (bench/textscale.py, docs/decisions/0015-text-ranking.md).
MATCH_BUDGET = 2000


@dataclass(frozen=True)
class TermStats:
    """What the statistics say of one lexeme of the question: the fraction of the
    collection's chunks that hold it, None when it is rarer than every lexeme they list."""

    lexeme: str
    frequency: float | None


@dataclass(frozen=True)
class Collected:
    """A collection's statistics for a question: its lexemes, the smallest frequency the
    statistics list (`floor`, None when the collection was never analysed) and its rows."""

    terms: Sequence[TermStats]
    floor: float | None
    rows: float


@dataclass(frozen=True)
class LexemeStatistics:
    """A collection's most common lexemes with their frequencies, and `floor`, the smallest
    frequency listed (None: the collection was never analysed)."""

    frequencies: Mapping[str, float]
    floor: float | None

    @classmethod
    def of(cls, lexemes: Sequence[str] | None, frequencies: Sequence[float] | None) -> Self:
        """From pg_stats' most_common_elems and most_common_elem_freqs (the frequencies of
        the elements, then their min and max)."""
        if not lexemes or not frequencies or len(frequencies) <= len(lexemes):
            return cls({}, None)
        n = len(lexemes)
        return cls(dict(zip(lexemes, frequencies[:n], strict=True)), frequencies[n])

    def collected(self, lexemes: Sequence[str], rows: float) -> Collected:
        terms = [TermStats(lexeme, self.frequencies.get(lexeme)) for lexeme in lexemes]
        return Collected(terms, self.floor, rows)


class StatisticsCache:
    """The statistics of the collections searched lately, per process: reading them costs
    10-20 ms (pg_stats turns 10,000 lexemes into text), the lookup a dict. A key names the
    collection's partition and when it was last analysed, so new statistics are read as
    soon as ANALYZE (or autovacuum's) has made them; on a replica, which does not know that
    time, an entry is read again after `ttl` seconds."""

    def __init__(self, size: int = 64, ttl: float = 600.0) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, LexemeStatistics]] = OrderedDict()
        self._size, self._ttl = size, ttl

    def get(self, key: Hashable) -> LexemeStatistics | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self._ttl:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, statistics: LexemeStatistics) -> None:
        self._entries[key] = (time.monotonic(), statistics)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


@dataclass(frozen=True)
class TermPlan:
    """tsquery texts: `match` finds the candidates, `rank` scores them (all lexemes)."""

    match: str
    rank: str

    @property
    def pruned(self) -> bool:
        return self.match != self.rank


def quoted(lexeme: str) -> str:
    """A lexeme as a tsquery operand: quoted, with quotes doubled and backslashes escaped,
    so it is taken as it is (already normalised by the collection's parser)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def any_of(lexemes: Sequence[str]) -> str:
    return " | ".join(quoted(lexeme) for lexeme in lexemes)


def plan_terms(collected: Collected, budget: int = MATCH_BUDGET) -> TermPlan:
    """The match and rank queries of a question's lexemes (none: nothing matches).

    Without statistics (a collection never analysed) every lexeme matches. Otherwise the
    lexemes are taken rarest first while the rows they are expected to match stay within
    `budget` (always the rarest one); a lexeme the statistics do not list is counted at
    their floor, the most it can hold. Then pairs of the lexemes left out, both words in
    one chunk (`a & b`, expected at the product of their frequencies), fewest first while
    the budget lasts: a chunk holding several common words of the question stays a
    candidate (msmarco-5k text nDCG@10 at a budget of 2% of the chunks: 0.704 without
    the pairs, 0.722 with them; docs/decisions/0015-text-ranking.md)."""
    unique = {t.lexeme: t for t in collected.terms}
    everything = any_of(sorted(unique))
    if collected.floor is None or collected.rows <= 0:
        return TermPlan(everything, everything)
    floor, rows = collected.floor, collected.rows

    def share(term: TermStats) -> float:
        return floor if term.frequency is None else term.frequency

    chosen: list[str] = []
    reached = 0.0
    left_out: list[TermStats] = []
    for term in sorted(unique.values(), key=share):
        if chosen and reached + share(term) * rows > budget:
            left_out.append(term)
            continue
        reached += share(term) * rows
        chosen.append(quoted(term.lexeme))
    pairs = sorted(
        (share(a) * share(b) * rows, f"({quoted(a.lexeme)} & {quoted(b.lexeme)})")
        for i, a in enumerate(left_out)
        for b in left_out[i + 1 :]
    )
    for expected, pair in pairs:
        if reached + expected > budget:
            break
        reached += expected
        chosen.append(pair)
    return TermPlan(" | ".join(sorted(chosen)), everything)
