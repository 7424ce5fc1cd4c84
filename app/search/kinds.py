"""Document kinds that default search and answers leave out
(docs/decisions/0019-document-kinds.md).

Ingestion marks a page that is mostly links (an index, a table of contents, a site map) with
the metadata `doc_kind: links`: its words match every query ("partial index" is on the
back-of-book index page too) and it answers none. Default search and answers leave such
pages out; a filter that names `doc_kind` itself (`{"doc_kind": "links"}`) decides for itself.

Release notes and changelogs (`doc_kind: changelog`) are searched like any page, but an
answer to a question that is not about versions leaves them out (`for_question`): a
changelog entry names every feature in passing and crowds the sources of answers about
using them.
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


def default_kinds(filter_: dict[str, Any] | None) -> dict[str, Any] | None:
    """`filter_` with link pages left out, unless it says which kinds it wants. The
    condition joins the filter's top-level keys (which are ANDed), so a bad filter's error
    still names its own path; a filter that is not an object is left to validation."""
    if filter_ is None:
        return {KIND: {"$nin": list(LEFT_OUT)}}
    if not isinstance(filter_, dict) or _names_kind(filter_):
        return filter_
    return {**filter_, KIND: {"$nin": list(LEFT_OUT)}}


def about_versions(question: str) -> bool:
    return _ABOUT_VERSIONS.search(question) is not None


def for_question(filter_: dict[str, Any] | None, question: str) -> dict[str, Any] | None:
    """The filter an answer's search uses: changelogs left out too when the question is not
    about versions and the filter does not name `doc_kind`."""
    if about_versions(question) or (filter_ is not None and _names_kind(filter_)):
        return filter_
    if filter_ is not None and not isinstance(filter_, dict):
        return filter_  # left to validation
    return {**(filter_ or {}), KIND: {"$nin": [*LEFT_OUT, CHANGELOG]}}
