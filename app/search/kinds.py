"""Document kinds that default search leaves out (docs/decisions/0019-document-kinds.md).

Ingestion marks a page that is mostly links (an index, a table of contents, a site map) with
the metadata `doc_kind: links`: its words match every query ("partial index" is on the
back-of-book index page too) and it answers none. Default search and answers leave such
pages out; a filter that names `doc_kind` itself (`{"doc_kind": "links"}`) decides for itself.
"""

from __future__ import annotations

from typing import Any

KIND = "doc_kind"  # the metadata key ingestion writes (ingest.loaders.load_file)
LEFT_OUT = ("links",)


def _names_kind(condition: Any) -> bool:
    if isinstance(condition, dict):
        return any(
            key in (KIND, f"metadata.{KIND}") or _names_kind(value)
            for key, value in condition.items()
        )
    if isinstance(condition, list):
        return any(_names_kind(c) for c in condition)
    return False


def default_kinds(filter_: dict[str, Any] | None) -> dict[str, Any] | None:
    """`filter_` with link pages left out, unless it says which kinds it wants. The
    condition joins the filter's top-level keys (which are ANDed), so a bad filter's error
    still names its own path; a filter that is not an object is left to validation."""
    if filter_ is None:
        return {KIND: {"$nin": list(LEFT_OUT)}}
    if not isinstance(filter_, dict) or _names_kind(filter_):
        return filter_
    return {**filter_, KIND: {"$nin": list(LEFT_OUT)}}
