"""The one family of retrieved-passage types: a search `Hit` (app/search), an answer's
`Source` and `Citation` (app/rag) all extend `Passage`, and are built by name from it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Passage:
    """Where a retrieved chunk comes from."""

    chunk_id: int
    document_id: int
    title: str
    source: str  # the document's origin: a path or URL
    section: str
    page: int | None

    def passage_fields(self) -> dict[str, Any]:
        """The `Passage` fields of this value by name, to build another member of the family
        (`Source(n=1, text=..., score=..., **hit.passage_fields())`)."""
        return {f.name: getattr(self, f.name) for f in fields(Passage)}
