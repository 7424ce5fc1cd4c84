"""A retrieved passage as the answer pipeline sees it: numbered from 1 in rank order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    n: int
    chunk_id: int
    document_id: int
    title: str
    source: str
    section: str
    page: int | None
    text: str
    score: float
