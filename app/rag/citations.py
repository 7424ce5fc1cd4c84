"""Citations: `[n]` markers in an answer, mapped back to the sources they name."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.rag.sources import Numbered, Source
from app.search.passage import Passage

log = logging.getLogger(__name__)

# [1], [2, 3], [1][4] and [1-3] (a range) all cite.
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,-]\s*\d{1,3})*)\]")
# Code quoted in an answer (`sys.argv[1]`, a fenced block) holds brackets that cite nothing.
_CODE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?(?:^[ \t]*\1|\Z)|`[^`\n]*`", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class Citation(Passage, Numbered):  # `n` first, as in `Source`
    quote: str  # the cited source's text


def cited_numbers(answer: str) -> list[int]:
    """Every number cited outside code, in order of first appearance."""
    seen: list[int] = []
    for match in _MARKER.finditer(_CODE.sub(" ", answer)):
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
        citations.append(Citation(n=n, quote=source.text, **source.passage_fields()))
    return citations
