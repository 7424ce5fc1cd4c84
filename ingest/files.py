"""Files and folders to ingest: discovery (recursive, `--glob`, size cap; hidden files and
non-prose ones (images, fonts, archives, binaries: `ingest.filetypes`) skipped and
reported) and loading (`load_named`, run in a parse worker: `ingest.parsing`).

A file's document id is its path relative to the folder it was found under, prefixed with
that folder's name (`docs/guide/install.md`), so ids do not depend on the working directory.
A JSON Lines file gives one document per line, keyed by its `_id`; its path is their
`source`. `--prune` deletes documents whose `source` lies under the given roots but whose
file is gone.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from app.errors import InvalidInput
from ingest.filetypes import is_pdf, looks_binary, skip_reason
from ingest.loaders import (
    LoadedDocument,
    decode_text,
    file_format,
    jsonl_documents,
    load_file,
    load_jsonl,
)
from ingest.prepare import Failure

_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class FileEntry:
    path: Path
    name: str  # document id / source: root folder name + relative path, POSIX separators


@dataclass
class Discovery:
    files: list[FileEntry] = field(default_factory=list)
    skipped: list[Failure] = field(default_factory=list)  # hidden, binary: reported only
    failures: list[Failure] = field(default_factory=list)  # missing paths, too large
    scopes: list[str] = field(default_factory=list)  # source prefixes --prune may delete under


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_SNIFF_BYTES)


def _check_size(entry: FileEntry, max_bytes: int) -> Failure | None:
    size = entry.path.stat().st_size
    if size > max_bytes:
        return Failure(
            entry.name,
            f"file is {size / 2**20:.1f} MiB, above PGASK_INGEST_MAX_FILE_MB"
            f" ({max_bytes // 2**20} MiB)",
        )
    return None


def discover(roots: Sequence[Path], *, glob: str | None, max_bytes: int) -> Discovery:
    found = Discovery()
    for root in roots:
        if not root.exists():
            found.failures.append(Failure(str(root), "no such file or folder"))
            continue
        base = root.resolve()
        if base.is_file():
            found.scopes.append(base.name)
            _consider(found, FileEntry(base, base.name), glob, max_bytes, explicit=True)
            continue
        found.scopes.append(base.name + "/")
        for folder, dirs, names in os.walk(base):
            here = Path(folder)
            prefix = f"{base.name}/{here.relative_to(base).as_posix()}/".replace("/./", "/")
            for hidden in sorted(d for d in dirs if d.startswith(".")):
                found.skipped.append(Failure(prefix + hidden + "/", "hidden folder"))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                entry = FileEntry(here / name, prefix + name)
                _consider(found, entry, glob, max_bytes, explicit=False)
    return found


def _consider(
    found: Discovery, entry: FileEntry, glob: str | None, max_bytes: int, *, explicit: bool
) -> None:
    if glob and not (fnmatch.fnmatch(entry.path.name, glob) or fnmatch.fnmatch(entry.name, glob)):
        return
    if not entry.path.is_file():
        return  # sockets, fifos, broken links
    if not explicit and entry.path.name.startswith("."):
        found.skipped.append(Failure(entry.name, "hidden file"))
        return
    if (too_large := _check_size(entry, max_bytes)) is not None:
        found.failures.append(too_large)
        return
    head = _head(entry.path)
    if (reason := skip_reason(entry.name, head)) is not None:
        found.skipped.append(Failure(entry.name, reason))
        return
    if file_format(entry.name) is None and looks_binary(head):
        found.skipped.append(Failure(entry.name, "binary file"))
        return
    found.files.append(entry)


def load_named(name: str, data: bytes) -> tuple[list[LoadedDocument], list[Failure]]:
    """Documents in one file's bytes (any format; unknown extensions read as plain text).
    Images, fonts, archives and other non-prose files are an InvalidInput naming the kind."""
    head = data[:_SNIFF_BYTES]
    if (reason := skip_reason(name, head)) is not None:
        raise InvalidInput(reason)
    if is_pdf(head):
        return [load_file(name, data, "pdf")], []
    if file_format(name) == "beir":
        documents, line_errors = load_jsonl(name, data)
        return documents, _line_failures(name, line_errors)
    document = load_file(name, data, file_format(name) or "text")
    return [document], []


def _line_failures(name: str, errors: list[str]) -> list[Failure]:
    return [Failure(f"{name}: {e.split(':', 1)[0]}", e) for e in errors]


@dataclass(frozen=True)
class Part:
    """Some lines of a JSON Lines file, parsed as one task: bytes [start, end) of the file,
    the first of them being line `first_line`."""

    start: int
    end: int
    first_line: int


# A JSON Lines file is cut reading at most this much of a line at once: a 100 MB line of one
# record is never held whole (the server cuts uploads: it held the line twice, with the file).
_LINE_PIECE = 2**20


def jsonl_parts(handle: BinaryIO, lines_per_part: int) -> list[Part]:
    """Cut a JSON Lines file into parts of `lines_per_part` non-blank lines, at line ends
    (blank lines at the end go with the last part)."""
    parts: list[Part] = []
    start = offset = count = number = 0
    first, filled = 1, False  # filled: the line being read has more than whitespace
    while piece := handle.readline(_LINE_PIECE):
        offset += len(piece)
        filled = filled or not piece.isspace()
        if not piece.endswith(b"\n"):
            continue  # the line goes on, or the file ends without a newline
        number, count, filled = number + 1, count + filled, False
        if count == lines_per_part:
            parts.append(Part(start, offset, first))
            start, first, count = offset, number + 1, 0
    count += filled
    if count or not parts:
        parts.append(Part(start, offset, first))
    elif offset > start:
        parts[-1] = Part(parts[-1].start, offset, parts[-1].first_line)
    return parts


def load_part(name: str, data: bytes, part: Part) -> tuple[list[LoadedDocument], list[Failure]]:
    """The documents of one part (its bytes: `data`) of the JSON Lines file `name`."""
    try:
        text = decode_text(data)
    except InvalidInput as exc:
        last = part.first_line + data.count(b"\n", 0, len(data) - 1)
        raise InvalidInput(f"lines {part.first_line}-{last}: {exc.detail}") from exc
    documents, line_errors = jsonl_documents(name, text, part.first_line)
    return documents, _line_failures(name, line_errors)


def estimate_documents(entries: Sequence[FileEntry]) -> int:
    """Documents the files will give: one per file, one per non-blank line of JSON Lines
    (the last line too when the file does not end with a newline)."""
    total = 0
    for entry in entries:
        if file_format(entry.name) == "beir":
            with entry.path.open("rb") as handle:
                total += sum(1 for line in handle if line.strip())
        else:
            total += 1
    return total
