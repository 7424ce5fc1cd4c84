"""The events of a streamed answer, in order: one `SourcesEvent`, `DeltaEvent`s, then a
`DoneEvent` or an `ErrorEvent`.

Consumers match them by type. Each event's fields are its payload on the wire, in order:
the SSE route sends `event: <name>` and the fields as JSON (app/api/sse.py), so renaming a
field here renames it for the web page and every client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.completion import Usage
from app.errors import PgaskError
from app.rag.citations import Citation
from app.rag.sources import AnswerSource


@dataclass(frozen=True)
class SourcesEvent:
    """What the answer will cite, before its first word."""

    name: ClassVar[str] = "sources"
    sources: list[AnswerSource]
    search_query: str  # the question, or its standalone rewrite
    rewritten: bool
    generated: bool  # False: an extractive answer (no model configured)


@dataclass(frozen=True)
class DeltaEvent:
    """The next piece of the answer's text."""

    name: ClassVar[str] = "delta"
    text: str


@dataclass(frozen=True)
class DoneEvent:
    """The whole answer, with the citations parsed from it."""

    name: ClassVar[str] = "done"
    answer: str
    generated: bool
    citations: list[Citation]
    usage: Usage
    timings: dict[str, float]
    dropped_sources: int  # sources left out to fit the token budget


@dataclass(frozen=True)
class ErrorEvent:
    """The answer failed after it started: it ends here, unfinished."""

    name: ClassVar[str] = "error"
    status: int
    title: str
    detail: str

    @classmethod
    def of(cls, error: PgaskError) -> ErrorEvent:
        return cls(status=error.status, title=error.title, detail=error.detail)


AnswerEvent = SourcesEvent | DeltaEvent | DoneEvent | ErrorEvent
EVENT_NAMES = tuple(e.name for e in (SourcesEvent, DeltaEvent, DoneEvent, ErrorEvent))
