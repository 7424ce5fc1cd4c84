"""A folder on the file system of the process that syncs it (`pgask worker`, the server's
worker): every file under it, hidden files and folders left out, as `pgask ingest` does.

An item's key is its path relative to the folder (POSIX separators); its version is its
size and modification time in nanoseconds, so a scan reads only the files that changed
(an editor that rewrites a file with the same bytes makes it read again: its content hash
then finds it unchanged, and nothing is embedded).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from app.errors import InvalidInput
from ingest.sources.base import (
    Failed,
    Fetched,
    Item,
    ReaderContext,
    SourceUnavailable,
    Unchanged,
    too_large,
)


class FolderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str  # made absolute (relative to the process that adds the source)
    glob: str | None = None  # only files whose name or relative path matches

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.strip() or "\x00" in value:
            raise ValueError("a folder path is required")
        return str(Path(value).expanduser().resolve())


def check(options: FolderOptions) -> None:
    if not Path(options.path).is_dir():
        raise InvalidInput(f"options.path: {options.path} is not a folder")


class FolderReader:
    def __init__(self, options: FolderOptions, context: ReaderContext) -> None:
        self.root = Path(options.path)
        self.glob = options.glob
        self.max_bytes = context.max_file_bytes

    def scan(self, known: Mapping[str, str], cursor: Mapping[str, Any]) -> Iterator[Item]:
        del cursor  # a file's size and mtime are its version: nothing else to start from
        if not self.root.is_dir():
            raise SourceUnavailable(f"{self.root} is not a folder (moved, unmounted?)")
        for path, key in self._files():
            try:
                stat = path.stat()
                version = f"{stat.st_size}:{stat.st_mtime_ns}"
                if known.get(key) == version:
                    yield Unchanged(key)
                elif stat.st_size > self.max_bytes:
                    yield Failed(key, too_large(stat.st_size, self.max_bytes))
                else:
                    yield Fetched(key, version, path.read_bytes(), key)
            except OSError as exc:  # removed or unreadable since it was listed: this one only
                yield Failed(key, f"cannot read: {exc.strerror or exc}")

    def cursor(self) -> dict[str, Any]:
        return {}  # the versions say it all

    def _files(self) -> Iterator[tuple[Path, str]]:
        def fail(exc: OSError) -> None:  # a listing cut short must not delete what it missed
            raise SourceUnavailable(f"cannot list {exc.filename}: {exc.strerror or exc}")

        for folder, dirs, names in os.walk(self.root, onerror=fail):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            here = Path(folder)
            for name in sorted(n for n in names if not n.startswith(".")):
                path = here / name
                key = path.relative_to(self.root).as_posix()
                if self.glob and not (
                    fnmatch.fnmatch(name, self.glob) or fnmatch.fnmatch(key, self.glob)
                ):
                    continue
                if path.is_file():  # not sockets, fifos, broken links
                    yield path, key
