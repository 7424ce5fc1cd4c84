"""Which words of a full-text question find the candidates, and which only rank them.

A question of plain words is OR'ed, so a passage sharing only some of its words still
matches; but then a word that is in a fifth of the collection ("use", "time") makes the
search fetch and rank a fifth of the collection, and the cost grows with it. Here the
question's lexemes are sorted by how many chunks hold them (the collection's own statistics,
from ANALYZE: `pgask_lexeme_statistics`, migrations/versions/0010_text_index.py), and the
rarest are OR'ed into the *match* query until the rows they are expected to match reach a
budget; every lexeme still counts in the *rank* query (`ts_rank`) of the rows matched. A
chunk holding only the common words of a question is not a candidate, which costs little
quality (measured: docs/decisions/0015-text-ranking.md) and keeps the rows ranked near the
budget, whatever the collection's size. Estimates can be wrong (words that come together,
questions of common words only), so the rows ranked are also capped (`RANK_CAP`).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Self

# Rows the match query is expected to reach (`plan_terms`): a text search's p50 was 15 ms on
# 200,000 chunks on the shared 2-core machine, against 105 ms when every word matched
# (bench/textscale.py, docs/decisions/0015-text-ranking.md).
MATCH_BUDGET = 2000
# Rows ranked at most, whatever the estimates said (`app/search/sql.py` text_candidates):
# the budget above is an expectation, and words that come together (a pair's rows are
# estimated as if its words were independent) or a question whose every word is common
# matched 4-40x more rows than expected; each costs a heap row read and a `ts_rank`. At
# 200,000 generated chunks 3,000 keeps the text p95 within 2x of 20,000 chunks' and 0.998
# of the every-word ranking's top-10 `ts_rank` (5,000: 3.2x, 0.999; 1,000,000 chunks:
# 0.980, 5,000 0.989): docs/decisions/0042-full-text-rows-ranked-capped.md.
RANK_CAP = 3000


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
    """A plain-word question's tsquery texts. `rank` (every lexeme) scores the candidates;
    `tiers` find them, surest first: the rare words (their counts are ANALYZE's), pairs of
    common words (estimated as if independent, often well below what they match), and,
    when no word fits the budget alone, the rarest word. Each tier adds the rows earlier
    tiers did not find, until the cap on rows ranked (`RANK_CAP`, `app/search/sql.py`).
    There is always a tier: a question of stop words only has the empty one, which matches
    nothing."""

    rank: str
    tiers: tuple[str, ...]
    #: each lexeme of `rank` with its weight in the ranking (`weighted`)
    weights: tuple[tuple[str, float], ...] = ()

    @property
    def match(self) -> str:
        """Every tier at once: the lexemes and pairs that find candidates."""
        return " | ".join(self.tiers)

    @property
    def pruned(self) -> bool:
        """True when some lexeme of the question finds no candidate by itself."""
        return self.match != self.rank

    def widened(self) -> TermPlan:
        """The same, with every lexeme matching last."""
        return TermPlan(self.rank, (*self.tiers, self.rank), self.weights)

    def parameters(self) -> dict[str, str | list[str] | list[float]]:
        """The statement's parameters (`sql.text_candidates`): `tier0`..., the rows each
        tier excludes as `before1`... (the tiers before it), `trank`, and each lexeme as a
        tsquery (`tlex`) with its weight (`tidf`)."""
        found = {f"tier{i}": tier for i, tier in enumerate(self.tiers)}
        before = {
            f"before{i}": " | ".join(f"({t})" for t in self.tiers[:i])
            for i in range(1, len(self.tiers))
        }
        lexemes = [quoted(lexeme) for lexeme, _ in self.weights]
        weights = [weight for _, weight in self.weights]
        return {**found, **before, "trank": self.rank, "tlex": lexemes, "tidf": weights}


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
    `budget`; a lexeme the statistics do not list is counted at their floor, the most it
    can hold. Then pairs of the lexemes left out, both words in one chunk (`a & b`, expected
    at the product of their frequencies), fewest first while the budget lasts: a chunk
    holding several common words of the question stays a candidate (msmarco-5k text
    nDCG@10 at a budget of 2% of the chunks: 0.704 without the pairs, 0.722 with them;
    docs/decisions/0015-text-ranking.md). When no word fits alone (every word of the
    question is common), the pairs match first, at least the one expected to match
    fewest, and the rarest word `then`: its rows fill what the cap on rows ranked leaves."""
    unique = {t.lexeme: t for t in collected.terms}
    everything = any_of(sorted(unique))
    if collected.floor is None or collected.rows <= 0:
        return TermPlan(everything, (everything,), tuple((lex, 1.0) for lex in sorted(unique)))
    floor, rows = collected.floor, collected.rows

    def share(term: TermStats) -> float:
        return floor if term.frequency is None else term.frequency

    weights = tuple((lex, weighted(share(unique[lex]))) for lex in sorted(unique))

    chosen: list[str] = []
    reached = 0.0
    left_out: list[TermStats] = []
    for term in sorted(unique.values(), key=lambda t: (share(t), t.lexeme)):
        if reached + share(term) * rows > budget:
            left_out.append(term)
            continue
        reached += share(term) * rows
        chosen.append(quoted(term.lexeme))
    pairs = sorted(
        (share(a) * share(b) * rows, f"({quoted(a.lexeme)} & {quoted(b.lexeme)})")
        for i, a in enumerate(left_out)
        for b in left_out[i + 1 :]
    )
    matched: list[str] = []
    if not chosen and len(left_out) == 1:  # one word, and a common one
        return TermPlan(everything, (everything,), weights)
    if not chosen and pairs:
        matched.append(pairs[0][1])
        reached += pairs[0][0]
        pairs = pairs[1:]
    for expected, pair in pairs:
        if reached + expected > budget:
            break
        reached += expected
        matched.append(pair)
    then = [quoted(left_out[0].lexeme)] if not chosen and left_out else []
    tiers = (" | ".join(sorted(chosen)), " | ".join(sorted(matched)), *then)
    # No lexeme at all (stop words only): one empty tier, the empty tsquery, matches nothing.
    return TermPlan(everything, tuple(t for t in tiers if t) or ("",), weights)


def weighted(share: float) -> float:
    """A lexeme's weight in the ranking, from the share of chunks that hold it: the square
    root of its inverse document frequency, ln(1 / share). `ts_rank` weighs every word of
    the question alike, so a chunk holding the common words ("query", "run") several times
    outranked one holding the rare one ("kill", "shared_buffers"); the square root keeps a
    rare word from deciding alone (docs/decisions/0045-rare-words-rank-higher.md)."""
    return math.sqrt(math.log(1 / min(max(share, 1e-9), 1.0)))
