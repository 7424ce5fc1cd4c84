"""Files are loaded, parsed and chunked in worker processes, never on the event loop.

A hostile file (a PDF page tree nested 5,000 levels, a content stream inflating to 1 GiB,
20 MB of one JSON line) costs CPU and memory in a parser no timeout inside Python can stop.
So each file goes to a `pebble` process pool with a time budget (the worker is killed when
it is over PGASK_INGEST_FILE_TIMEOUT_SECONDS) and a memory budget: a thread of the pool's
process watches each worker's resident size and kills the worker when it grew by more than
PGASK_INGEST_FILE_MAX_MEMORY_MB since start-up (`MemoryWatch`). Not RLIMIT_AS (tiktoken's
Rust code panics on a failed allocation and hangs), nor a thread inside the worker (C code
holding the GIL, as `json.loads` does, starves it): docs/decisions/0023-parse-workers.md.
Whatever happens to a file (any exception, a killed or dead worker) is that file's
`Failure`, and the run goes on with the next one. Workers are never forked from the pgask
process (a fork of a process holding ONNX Runtime's threads may deadlock) but from a
forkserver: one plain interpreter per pgask process, started with the first pool, that
imports the parsers and loads the tokenizer once (`ingest.parse_preload`). A worker then
starts in milliseconds instead of paying a fresh interpreter, the imports and the tokenizer
in every pool: a job, an upload, a `pgask ingest` run. (forkserver is POSIX only: pgask does
not run on Windows.)

Chunks come back, not blocks: the pipeline only looks the hashes up, embeds and writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import multiprocessing
import sys
import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from multiprocessing import forkserver
from multiprocessing.queues import SimpleQueue
from pathlib import Path
from types import TracebackType
from typing import Literal

import psutil
from pebble import ProcessExpired, ProcessPool

from app.config import IngestionSettings
from ingest.files import Part, jsonl_parts
from ingest.items import Item
from ingest.loaders import file_format
from ingest.parse_worker import FileInput, over_memory, parse, private_memory, start
from ingest.prepare import Chunking, Failure, Prepared

# JSON Lines per parse task: a corpus file is cut into parts, so every worker parses and
# chunks some of it and the pipeline gets its first documents early.
PART_LINES = 500


@dataclass(frozen=True)
class FileBudget:
    """What one file may cost its parse worker, and how many workers run."""

    seconds: float
    memory_mb: int
    workers: int

    @classmethod
    def of(cls, settings: IngestionSettings) -> FileBudget:
        return cls(
            settings.file_timeout_seconds,
            settings.file_max_memory_mb,
            settings.parse_workers,
        )


class MemoryWatch:
    """Kills a parse worker whose private memory (`private_memory`) grew by more than
    `memory_mb` since it started, from a thread of the pool's own process (a C parser
    holding the worker's GIL cannot stop it).
    Workers announce themselves on `started` once warm; `killed` holds the pids it killed,
    so the pool tells their files' failure from any other death."""

    INTERVAL = 0.02  # seconds between looks: /proc reads, a few microseconds per worker

    def __init__(self, context: multiprocessing.context.BaseContext, memory_mb: int) -> None:
        self.started: SimpleQueue[tuple[int, int]] = context.SimpleQueue()
        self.killed: set[int] = set()
        self._budget = memory_mb * 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="parse-memory", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        workers: dict[int, tuple[psutil.Process, int]] = {}  # pid: process, memory limit
        while not self._stop.wait(self.INTERVAL):
            while not self.started.empty():
                pid, rss = self.started.get()
                with contextlib.suppress(psutil.NoSuchProcess):
                    workers[pid] = (psutil.Process(pid), rss + self._budget)
            for pid, (process, limit) in list(workers.items()):
                try:
                    if private_memory(process.pid) <= limit:
                        continue
                    self.killed.add(pid)  # before the kill: the pool may see it die at once
                    process.kill()
                except psutil.NoSuchProcess:
                    pass
                del workers[pid]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.started.close()


class ParsePool:
    """`async with ParsePool(budget, chunking) as pool: async for item in pool.parse(files)`.
    Leaving the block (or cancelling the task) kills the workers and what they parse."""

    def __init__(
        self,
        budget: FileBudget,
        chunking: Chunking,
        *,
        start_method: Literal["forkserver", "spawn"] = "forkserver",
    ) -> None:
        """`start_method` "spawn": each worker a fresh interpreter (what the forkserver
        replaced; `bench/parse_start.py` compares them)."""
        self.budget = budget
        self._chunking = chunking
        self._context = _forkserver() if start_method == "forkserver" else _spawn()
        self._pool: ProcessPool | None = None
        self._memory: MemoryWatch | None = None

    async def __aenter__(self) -> ParsePool:
        if isinstance(self._context, multiprocessing.context.ForkServerContext):
            # The forkserver (imports, tokenizer: seconds) starts while the caller gets
            # ready; workers fork from it in milliseconds once the first tasks are known.
            forkserver.ensure_running()
        return self

    def _started(self, tasks: int) -> ProcessPool:
        """The workers, started for the first tasks: as many as run at once, at most
        `budget.workers` (one file of one part needs one worker, not an idle second:
        68 MB of RSS, most of it shared with the forkserver)."""
        if self._pool is None:
            self._memory = MemoryWatch(self._context, self.budget.memory_mb)
            self._pool = ProcessPool(
                max_workers=max(1, min(self.budget.workers, tasks)),
                initializer=start,
                initargs=(self._chunking, self.budget.memory_mb, self._memory.started),
                context=self._context,
            )
        return self._pool

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._pool is None:
            return  # nothing was parsed
        if exc is None:
            # Nothing is left to parse: let the workers end on their own. stop() here could
            # kill a worker pebble is still starting (to replace one that went over its
            # budget), which then prints a traceback about the pool's missing semaphore.
            self._pool.close()  # type: ignore[no-untyped-call]
        else:
            self._pool.stop()  # type: ignore[no-untyped-call]  # kills them, busy or not
        await asyncio.to_thread(self._pool.join)
        if self._memory is not None:
            self._memory.close()

    async def parse(self, files: AsyncIterable[tuple[str, FileInput]]) -> AsyncIterator[Item]:
        """Each file's prepared documents and failures, in file order; as many files (or
        parts of a JSON Lines file) are parsed at once as there are workers (one more
        waits, so none sits idle)."""
        running: deque[tuple[str, asyncio.Future[list[Prepared | Failure]]]] = deque()
        tasks, first = aiter(_tasks(files)), []
        async for named in tasks:  # the workers start once there is a task for each, or none
            first.append(named)
            if len(first) == self.budget.workers:
                break
        try:
            async for name, task in _chain(first, tasks):
                pool = self._started(len(first))
                future = pool.schedule(parse, task, timeout=self.budget.seconds)
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
            if self._memory is not None and exc.pid in self._memory.killed:
                return [over_memory(name, self.budget.memory_mb)]
            return [Failure(name, f"its parse worker died (exit code {exc.exitcode})")]


Task = tuple[str, FileInput, Part | None]


async def _tasks(files: AsyncIterable[tuple[str, FileInput]]) -> AsyncIterator[tuple[str, Task]]:
    """Each file's parse tasks: the whole file, or its parts. An upload's part travels
    alone; a path's part is read by the worker."""
    async for name, source in files:
        for part in await _parts(name, source):
            data = source[part.start : part.end] if part and isinstance(source, bytes) else source
            yield name, (name, data, part)


async def _chain(
    first: list[tuple[str, Task]], rest: AsyncIterator[tuple[str, Task]]
) -> AsyncIterator[tuple[str, Task]]:
    for item in first:
        yield item
    async for item in rest:
        yield item


def _forkserver() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    # Read when the forkserver starts (the first pool of this process); later calls are no-ops.
    context.set_forkserver_preload(["ingest.parse_preload"])
    return context


def _spawn() -> multiprocessing.context.SpawnContext:
    return multiprocessing.get_context("spawn")


async def _parts(name: str, source: FileInput) -> list[Part | None]:
    """The parts a file is parsed in: a JSON Lines file of more than PART_LINES lines is cut
    at line ends (in a thread: it is read once, not parsed); any other file is one task."""
    if file_format(name) != "beir":
        return [None]
    try:
        parts = await asyncio.to_thread(_cut, source)
    except OSError:
        return [None]  # the worker reports what went wrong reading it
    return [None] if len(parts) == 1 else list(parts)


def _cut(source: FileInput) -> list[Part]:
    with source.open("rb") if isinstance(source, Path) else io.BytesIO(source) as handle:
        return jsonl_parts(handle, PART_LINES)


def workers_skip_main() -> None:
    """Spawned workers re-import the parent's `__main__` (to unpickle what it defines),
    unless its spec names it `__main__` (`multiprocessing.spawn._fixup_main_from_name`).
    Parse workers run only `ingest.parse_worker`, so an entry point whose main module
    imports the whole application (the `pgask` script) calls this first, so a worker imports
    only the parsers (docs/decisions/0023-parse-workers.md)."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None:
        main.__spec__ = ModuleSpec("__main__", None)
