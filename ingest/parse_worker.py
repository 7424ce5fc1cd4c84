"""What runs inside a parse worker process (`ingest.parsing` starts them): load one file,
or one part of a JSON Lines file, and prepare its documents.

Workers fork from a forkserver that imported this module and loaded what every file needs
(`warm`, run by `ingest.parse_preload`): it imports only the parsers, the chunker and
`ingest.prepare`, never the database, settings or HTTP layers (0.26 s of imports instead of
3.0 s for `ingest.parsing`, 2-core test machine at load 9).
"""

from __future__ import annotations

import os
from multiprocessing.queues import SimpleQueue
from pathlib import Path

import psutil

from app.errors import InvalidInput
from ingest.chunker import encoding
from ingest.files import Part, load_named, load_part
from ingest.loaders import LoadedDocument
from ingest.prepare import Chunking, Failure, Prepared, prepare

FileInput = bytes | Path  # a file's bytes (uploads, from the database) or its path (the CLI)

_chunking = Chunking(1, 0)  # set in each worker by start
_memory_mb = 0


_PROC_STATUS = Path("/proc/self/status").exists()


def private_memory(pid: int) -> int:
    """A process's resident anonymous memory (its heap and the objects in it), in bytes: what
    a file's parse can grow. Not its RSS: a forked worker faults the shared libraries' and
    mapped files' pages back in as it first touches them (fork copies no page table entries
    of file-backed mappings), which counted several MB of a small budget differently from
    one machine state to the next. Without /proc (macOS), the RSS."""
    if not _PROC_STATUS:
        return int(psutil.Process(pid).memory_info().rss)
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"RssAnon:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError) as exc:
        raise psutil.NoSuchProcess(pid) from exc
    return int(psutil.Process(pid).memory_info().rss)  # a kernel without RssAnon


def warm() -> None:
    """Load the tokenizer and the parsers (a no-op in a worker forked from a warm server)."""
    encoding()
    import bs4  # noqa: F401
    import markdown_it  # noqa: F401
    import pypdf  # noqa: F401

    import ingest.html_text
    import ingest.markdown_text  # noqa: F401


def start(chunking: Chunking, memory_mb: int, started: SimpleQueue[tuple[int, int]]) -> None:
    """Worker initializer: what every file needs is loaded, then the worker tells its pool
    its pid and resident size, from which the pool's memory watch counts its budget
    (`ingest.parsing.MemoryWatch`: a thread in here would be starved by any C parser that
    holds the GIL)."""
    global _chunking, _memory_mb
    _chunking, _memory_mb = chunking, memory_mb
    warm()
    started.put((os.getpid(), private_memory(os.getpid())))


def parse(name: str, source: FileInput, part: Part | None = None) -> list[Prepared | Failure]:
    """One file's (or part's) documents, prepared, or its failure, whatever the parser
    raised. A part of a file given by path is read from there; given as bytes, the bytes
    are the part's."""
    try:
        documents, errors = _load(name, source, part)
        return [*(_prepared(document) for document in documents), *errors]
    except InvalidInput as exc:
        return [Failure(name, exc.detail)]
    except OSError as exc:
        return [Failure(name, f"cannot read: {exc.strerror or exc}")]
    except MemoryError:
        return [over_memory(name, _memory_mb)]
    except RecursionError:
        return [Failure(name, "nested too deeply to parse")]
    except Exception as exc:  # pypdf's LimitReachedError, a parser bug: this file only
        return [Failure(name, f"cannot parse: {type(exc).__name__}: {exc}")]


def _load(
    name: str, source: FileInput, part: Part | None
) -> tuple[list[LoadedDocument], list[Failure]]:
    if part is None:
        return load_named(name, source.read_bytes() if isinstance(source, Path) else source)
    if isinstance(source, bytes):
        return load_part(name, source, part)
    with source.open("rb") as handle:
        handle.seek(part.start)
        return load_part(name, handle.read(part.end - part.start), part)


def _prepared(document: LoadedDocument) -> Prepared | Failure:
    try:
        return prepare(document, _chunking)
    except InvalidInput as exc:
        return Failure(document.source or document.external_id, exc.detail)


def over_memory(name: str, memory_mb: int) -> Failure:
    return Failure(name, f"needs more than PGASK_INGEST_FILE_MAX_MEMORY_MB ({memory_mb})")
