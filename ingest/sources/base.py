"""The contract between a source's reader and the sync that ingests what it reads.

A reader lists what its source holds now and fetches what changed since the versions the
previous sync recorded. It never touches the database: the sync (ingest job) compares,
parses through `ingest.loaders`, writes, and deletes what left the source.

Rules every reader keeps:
- `key` is stable across syncs for the same item (a relative path, or a URL) and names
  its document (`<source name>/<key>`, `ingest.sources.sync`); `version` changes whenever
  the item's content may have changed (a git blob id, an ETag, a Last-Modified date, a size
  and mtime).
- A `scan` yields every item the source holds now, exactly once: `Unchanged` when its
  version equals `known[key]` (its bytes are not read), `Fetched` with the bytes otherwise,
  `Failed` when that one item could not be read (the sync keeps its current document and
  reports the reason). A key that is in `known` and is not yielded has left the source.
- A scan that cannot finish (the source is unreachable, the listing is cut short) raises
  `SourceUnavailable`: the sync then deletes nothing, so a half listing never empties a
  collection.
- `Fetched.name` ends in the extension of the item's format when its key does not (a URL):
  the item is parsed as that format.
- `cursor()` after a completed scan is the JSON-ready state the next scan starts from
  (a commit id, a sitemap's Last-Modified); the sync stores it with the source.
- Per-item and per-scan limits (file size, page count, crawl depth) are the reader's:
  it yields `Failed` or stops listing, and says which in the reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from app.errors import PgaskError


class SourceUnavailable(PgaskError):
    """The source could not be listed completely; nothing is deleted on this sync."""

    status = 502
    type = "source-unavailable"
    title = "Source unavailable"


@dataclass(frozen=True)
class Unchanged:
    key: str


@dataclass(frozen=True)
class Fetched:
    key: str
    version: str
    data: bytes
    name: str  # a file name whose extension names the format (e.g. "guide/intro.html")
    content_type: str | None = None  # as the source reported it, when it did


@dataclass(frozen=True)
class Failed:
    key: str
    reason: str


Item = Unchanged | Fetched | Failed


@dataclass(frozen=True)
class ReaderContext:
    """What a reader is built with besides its options (`ingest.sources.kinds`)."""

    work_dir: Path  # the source's own folder for working copies (a clone); may not exist yet
    max_file_bytes: int  # PGASK_INGEST_MAX_FILE_MB: a larger item is `Failed`


def too_large(size: int, most: int) -> str:
    """The reason an item over PGASK_INGEST_MAX_FILE_MB is `Failed`."""
    return f"{size / 2**20:.1f} MiB, above PGASK_INGEST_MAX_FILE_MB ({most // 2**20} MiB)"


class SourceReader(Protocol):
    def scan(self, known: Mapping[str, str], cursor: Mapping[str, Any]) -> Iterator[Item]:
        """Every item the source holds now (see the module's rules)."""
        ...

    def cursor(self) -> dict[str, Any]:
        """The state to start the next scan from; valid once `scan` has run to its end."""
        ...
