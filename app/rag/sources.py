"""A retrieved passage as the answer pipeline sees it: numbered from 1 in rank order."""

from __future__ import annotations

from dataclasses import dataclass

from app.search.passage import Passage


@dataclass(frozen=True, kw_only=True)
class Numbered:
    n: int  # the number the prompt gives the passage and the answer cites: [n]


# Bases in this order put `n` first: dataclass fields follow the reverse MRO (Numbered,
# Passage, own fields), which keeps the JSON of sources and citations as clients know it.
@dataclass(frozen=True, kw_only=True)
class Source(Passage, Numbered):
    text: str
    score: float
