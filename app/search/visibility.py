"""How many rows of a collection a scoped key sees, estimated from the collection's own
statistics, and what search does with the estimate.

Row-level security decides which rows a key reads; this only chooses how to look for them.
A key that sees few rows is served best through the access index: its full-text candidates
from the text and access indexes together (`narrow`, app/search/sql.py GROUPS_TEST), its
vector search by an exact scan of its rows. A key that sees most rows is served best by the
indexes alone, row-level security filtering what they find. Counting the visible rows for
every search (a count capped at 2,000 rows) read 2,000 heap rows per search: 12 ms for a
key seeing 1% of 1,000,000 chunks, on top of a search of 10-30 ms. The estimate costs a
dict lookup: ANALYZE lists the `access` groups of a chunks partition with the share of its
rows holding each (`pgask_access_statistics`, migration 0012_access_statistics), and a key
sees the rows holding one of its groups or `*` (documents without groups).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.access import EVERYONE
from app.search.terms import LexemeStatistics

# A key that sees a small share of a collection is served through the access index: its
# full-text candidates from the text and access indexes together (`narrow`: with the text
# index alone, 1% of its candidates survive the groups filter), and its vector search by
# an exact scan of its rows while they are few enough (an HNSW scan passes about 1/share
# rows for each of its own). On 1,000,000 chunks (bench/textscale.py) a key seeing 1%
# (10,000 rows) took p50 278 ms for a vector search through the HNSW index and 39 ms
# exactly; text 108 ms with the text index alone, 28 ms with both. A key that sees most rows
# is served by the indexes alone: on 10,000 chunks a key seeing 99% took p50 15 ms to scan
# its 9,900 rows exactly against 5 ms for the admin's HNSW search, and building the access
# index's bitmap of most rows costs more than it saves (198,000 rows: 45 ms,
# migrations/versions/0010_text_index.py). Below EXACT_MAX_ROWS rows any key is "few".
EXACT_MAX_ROWS = 2000  # a filter (or key) leaving fewer rows is searched exactly (~ms)
NARROW_MAX_SHARE = 0.10
EXACT_MAX_SHARE = 0.05
EXACT_MAX_VISIBLE_ROWS = 20_000


@dataclass(frozen=True)
class Visible:
    """A scoped key's view of a collection, estimated: the collection's rows, and at most how
    many of them the key sees."""

    rows: float
    visible: float

    @property
    def share(self) -> float:
        return self.visible / self.rows if self.rows > 0 else 0.0

    @property
    def narrow(self) -> bool:
        """Full-text candidates through the access index too (`sql.GROUPS_TEST`)."""
        return self.visible < EXACT_MAX_ROWS or self.share <= NARROW_MAX_SHARE

    @property
    def exact(self) -> bool:
        """The vector side scans the key's rows instead of walking the HNSW graph."""
        if self.visible < EXACT_MAX_ROWS:
            return True
        return self.share <= EXACT_MAX_SHARE and self.visible < EXACT_MAX_VISIBLE_ROWS


# ANALYZE lists every element of an array column above a small share (with the default
# statistics target, 9 in about 144,000 sampled elements: under 0.01%), up to 10 x the
# target of them. A list shorter than this was not cut, so a group missing from it is
# rarer than UNLISTED_SHARE; a longer one may have been cut at its smallest share.
UNCUT_LIST = 100
UNLISTED_SHARE = 1e-4


def visible_share(statistics: LexemeStatistics, groups: Sequence[str]) -> float | None:
    """The share of the collection's chunks holding one of `groups` or `*`, at most: each
    group's share summed (a chunk of two of them is counted twice), a group the statistics
    do not list at the most it can hold, capped at 1. None when the collection was never
    analysed."""
    if statistics.floor is None:
        return None
    listed = statistics.frequencies
    unlisted = statistics.floor
    if len(listed) < UNCUT_LIST:
        unlisted = min(unlisted, UNLISTED_SHARE)
    share = sum(listed.get(group, unlisted) for group in {*groups, EVERYONE})
    return min(1.0, share)
