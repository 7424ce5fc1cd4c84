"""Citations: `[n]` markers in an answer, mapped back to the sources they name."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.rag.sources import Source

log = logging.getLogger(__name__)

# [1], [2, 3], [1][4] and [1-3] (a range) all cite.
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,-]\s*\d{1,3})*)\]")


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: int
    document_id: int
    title: str
    source: str
    section: str
    page: int | None
    quote: str


def cited_numbers(answer: str) -> list[int]:
    """Every number cited, in order of first appearance."""
    seen: list[int] = []
    for match in _MARKER.finditer(answer):
        for part in match.group(1).split(","):
            first, _, last = part.partition("-")
            lo, hi = int(first), int(last or first)
            for n in range(lo, min(hi, lo + 50) + 1):
                if n not in seen:
                    seen.append(n)
    return seen


def parse_citations(answer: str, sources: Sequence[Source]) -> list[Citation]:
    """Citations for the markers that point at a source; others are dropped and logged."""
    by_number = {s.n: s for s in sources}
    citations = []
    for n in cited_numbers(answer):
        source = by_number.get(n)
        if source is None:
            log.warning("answer cites [%d], which is not one of the %d sources", n, len(sources))
            continue
        citations.append(
            Citation(
                n,
                source.chunk_id,
                source.document_id,
                source.title,
                source.source,
                source.section,
                source.page,
                source.text,
            )
        )
    return citations
