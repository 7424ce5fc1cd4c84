"""Files are loaded, parsed and chunked in worker processes, never on the event loop.

A hostile file (a PDF page tree nested 5,000 levels, a content stream inflating to 1 GiB,
20 MB of one JSON line) costs CPU and memory in a parser no timeout inside Python can stop.
So each file goes to a `pebble` process pool with a time budget (the worker is killed when
it is over PGASK_INGEST_FILE_TIMEOUT_SECONDS) and a memory budget: a thread in each worker
watches its resident size and ends the worker when it grew by more than
PGASK_INGEST_FILE_MAX_MEMORY_MB since start-up. (RLIMIT_AS was tried first: tiktoken's Rust
code then panicked on a failed allocation and hung until the time budget ran out.)
Whatever happens to a file (any exception, a killed or dead worker) is that file's
`Failure`, and the run goes on with the next one. Workers are spawned, not forked: a fork
of a process holding ONNX Runtime's threads may deadlock.

Chunks come back, not blocks: the pipeline only looks the hashes up, embeds and writes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psutil
from pebble import ProcessExpired, ProcessPool

from app.errors import InvalidInput
from ingest.chunker import encoding
from ingest.context import IngestSettings
from ingest.files import load_named
from ingest.loaders import LoadedDocument
from ingest.pipeline import Chunking, Failure, Item, Prepared, prepare


@dataclass(frozen=True)
class FileBudget:
    """What one file may cost its parse worker, and how many workers run."""

    seconds: float
    memory_mb: int
    workers: int

    @classmethod
    def of(cls, settings: IngestSettings) -> FileBudget:
        return cls(
            settings.pgask_ingest_file_timeout_seconds,
            settings.pgask_ingest_file_max_memory_mb,
            settings.pgask_ingest_parse_workers,
        )


Source = bytes | Path  # a file's bytes (uploads, from the database) or its path (the CLI)

_OVER_MEMORY = 75  # a worker's exit code when its file went over the memory budget
_WATCH_SECONDS = 0.05
_chunking = Chunking(1, 0)  # set in each worker by _start
_memory_mb = 0


def _start(chunking: Chunking, memory_mb: int) -> None:
    """Worker initializer: what every file needs is loaded before the limit is set."""
    global _chunking, _memory_mb
    _chunking, _memory_mb = chunking, memory_mb
    encoding()
    import bs4  # noqa: F401
    import markdown_it  # noqa: F401
    import pypdf  # noqa: F401

    threading.Thread(target=_watch_memory, args=(memory_mb,), daemon=True).start()


def _watch_memory(memory_mb: int) -> None:
    me = psutil.Process()
    limit = me.memory_info().rss + memory_mb * 2**20
    while me.memory_info().rss <= limit:
        time.sleep(_WATCH_SECONDS)
    os._exit(_OVER_MEMORY)  # the parent sees the exit code: this file's memory failure


def _parse(name: str, source: Source) -> list[Prepared | Failure]:
    """One file's documents, prepared, or its failure, whatever the parser raised."""
    try:
        data = source.read_bytes() if isinstance(source, Path) else source
        documents, errors = load_named(name, data)
        del data
        return [*(_prepared(document) for document in documents), *errors]
    except InvalidInput as exc:
        return [Failure(name, exc.detail)]
    except OSError as exc:
        return [Failure(name, f"cannot read: {exc.strerror or exc}")]
    except MemoryError:
        return [_over_memory(name, _memory_mb)]
    except RecursionError:
        return [Failure(name, "nested too deeply to parse")]
    except Exception as exc:  # pypdf's LimitReachedError, a parser bug: this file only
        return [Failure(name, f"cannot parse: {type(exc).__name__}: {exc}")]


def _prepared(document: LoadedDocument) -> Prepared | Failure:
    try:
        return prepare(document, _chunking)
    except InvalidInput as exc:
        return Failure(document.source or document.external_id, exc.detail)


class ParsePool:
    """`async with ParsePool(budget, chunking) as pool: async for item in pool.parse(files)`.
    Leaving the block (or cancelling the task) kills the workers and what they parse."""

    def __init__(self, budget: FileBudget, chunking: Chunking) -> None:
        self.budget = budget
        self._pool = ProcessPool(
            max_workers=budget.workers,
            initializer=_start,
            initargs=(chunking, budget.memory_mb),
            context=multiprocessing.get_context("spawn"),
        )

    async def __aenter__(self) -> ParsePool:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            # Nothing is left to parse: let the workers end on their own. stop() here could
            # kill a worker pebble is still starting (to replace one that went over its
            # budget), which then prints a traceback about the pool's missing semaphore.
            self._pool.close()  # type: ignore[no-untyped-call]
        else:
            self._pool.stop()  # type: ignore[no-untyped-call]  # kills them, busy or not
        await asyncio.to_thread(self._pool.join)

    async def parse(self, files: AsyncIterable[tuple[str, Source]]) -> AsyncIterator[Item]:
        """Each file's prepared documents and failures, in file order; as many files are
        parsed at once as there are workers (one more waits, so none sits idle)."""
        running: deque[tuple[str, asyncio.Future[list[Prepared | Failure]]]] = deque()
        try:
            async for name, source in files:
                future = self._pool.schedule(_parse, (name, source), timeout=self.budget.seconds)
                running.append((name, asyncio.wrap_future(future)))
                if len(running) > self.budget.workers:
                    for item in await self._result(*running.popleft()):
                        yield item
            while running:
                for item in await self._result(*running.popleft()):
                    yield item
        finally:
            for _, waiting in running:
                waiting.cancel()  # pebble kills a worker whose task is cancelled

    async def _result(
        self, name: str, future: asyncio.Future[list[Prepared | Failure]]
    ) -> list[Prepared | Failure]:
        try:
            return await future
        except FutureTimeout:
            seconds = f"{self.budget.seconds:g}"
            return [
                Failure(name, f"took longer than PGASK_INGEST_FILE_TIMEOUT_SECONDS ({seconds})")
            ]
        except ProcessExpired as exc:  # over the memory budget, OOM-killed, a crash in C
            if exc.exitcode == _OVER_MEMORY:
                return [_over_memory(name, self.budget.memory_mb)]
            return [Failure(name, f"its parse worker died (exit code {exc.exitcode})")]


def _over_memory(name: str, memory_mb: int) -> Failure:
    return Failure(name, f"needs more than PGASK_INGEST_FILE_MAX_MEMORY_MB ({memory_mb})")
