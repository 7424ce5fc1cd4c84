"""Document kinds that default search and answers leave out
(docs/decisions/0019-document-kinds.md).

Ingestion marks a page that is mostly links (an index, a table of contents, a site map) with
the metadata `doc_kind: links`: its words match every query ("partial index" is on the
back-of-book index page too) and it answers none. Default search and answers leave such
pages out; a filter that names `doc_kind` itself (`{"doc_kind": "links"}`) decides for itself.

Release notes and changelogs (`doc_kind: changelog`) are left out too when the query is not
about versions: a changelog entry names every feature in passing and crowds the results
(and the sources of answers) for questions about using them. A query about versions
("what changed in 3.11", "deprecated", "release notes") gets them as any page.
"""

from __future__ import annotations

import re
from typing import Any

# A question about versions, releases or changes: changelogs may answer it.
_ABOUT_VERSIONS = re.compile(
    r"\b(?:versions?|releases?|released|changelog|change ?log|changes|changed|what'?s new|"
    r"new in|added in|deprecated|removed|upgrad\w*|migrat\w*|since|history)\b|\bv?\d+\.\d+",
    re.IGNORECASE,
)
KIND = "doc_kind"  # the metadata key ingestion writes (ingest.loaders.load_file)
LEFT_OUT = ("links",)
CHANGELOG = "changelog"


def _names_kind(condition: Any) -> bool:
    if isinstance(condition, dict):
        return any(
            key in (KIND, f"metadata.{KIND}") or _names_kind(value)
            for key, value in condition.items()
        )
    if isinstance(condition, list):
        return any(_names_kind(c) for c in condition)
    return False


def default_kinds(
    filter_: dict[str, Any] | None, query: str | None = None
) -> dict[str, Any] | None:
    """`filter_` with link pages left out, and changelogs too when there is a `query` that
    is not about versions; unless the filter says which kinds it wants. The condition joins
    the filter's top-level keys (which are ANDed), so a bad filter's error still names its
    own path; a filter that is not an object is left to validation."""
    left_out = [*LEFT_OUT]
    if query is not None and not about_versions(query):
        left_out.append(CHANGELOG)
    return leaving_out(filter_, left_out)


def leaving_out(filter_: dict[str, Any] | None, kinds: list[str]) -> dict[str, Any] | None:
    """`filter_` and "`doc_kind` is none of `kinds`", unless it names `doc_kind` itself."""
    if filter_ is not None and (not isinstance(filter_, dict) or _names_kind(filter_)):
        return filter_
    return {**(filter_ or {}), KIND: {"$nin": kinds}}


def about_versions(question: str) -> bool:
    return _ABOUT_VERSIONS.search(question) is not None
