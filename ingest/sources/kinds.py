"""The kinds of source, by name: each one's options (a pydantic model: what `sources add`
and `POST /v1/sources` accept, checked before anything is stored) and its reader.

Adding a kind is one entry in KINDS: an options model that forbids unknown fields, and a
factory building its `SourceReader` from the options and a `ReaderContext`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from app.errors import InvalidInput
from ingest.sources import folder, git, s3, web
from ingest.sources.base import ReaderContext, SourceReader


@dataclass(frozen=True)
class Kind:
    summary: str  # one line, for help texts and docs
    options: type[BaseModel]
    reader: Callable[[Any, ReaderContext], SourceReader]  # (its options model, context)
    # What the options alone cannot say (a folder exists), checked when the source is added
    # only: a sync of a source whose folder went away is SourceUnavailable, not invalid.
    check: Callable[[Any], None] | None = None


KINDS: dict[str, Kind] = {
    "folder": Kind(
        "a folder on the worker's file system",
        folder.FolderOptions,
        folder.FolderReader,
        folder.check,
    ),
    "git": Kind(
        "a git repository (local path or URL) through the git CLI",
        git.GitOptions,
        git.GitReader,
        git.check,
    ),
    "web": Kind(
        "a web site: its sitemap, or a crawl within a URL prefix (robots.txt, ETags)",
        web.WebOptions,
        web.WebReader,
    ),
    "s3": Kind(
        "the objects under a prefix of an S3-compatible bucket (ETags)",
        s3.S3Options,
        s3.S3Reader,
    ),
}


def kind_of(name: str) -> Kind:
    found = KINDS.get(name)
    if found is None:
        raise InvalidInput(f"kind: unknown source kind {name!r}; one of {', '.join(sorted(KINDS))}")
    return found


def parse_options(kind: str, options: Mapping[str, Any]) -> BaseModel:
    """The options, validated by the kind's model; InvalidInput naming the first bad field."""
    try:
        return kind_of(kind).options.model_validate(dict(options))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in ("options", *first["loc"]))
        raise InvalidInput(f"{where}: {str(first['msg']).removeprefix('Value error, ')}") from exc


def checked_options(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options as they are stored (defaults filled in), after the kind's add-time check."""
    parsed = parse_options(kind, options)
    if (check := kind_of(kind).check) is not None:
        check(parsed)
    return parsed.model_dump(mode="json")


def open_reader(kind: str, options: Mapping[str, Any], context: ReaderContext) -> SourceReader:
    return kind_of(kind).reader(parse_options(kind, options), context)
