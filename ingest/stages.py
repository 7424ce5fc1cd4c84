"""Where an ingest run's time goes: for each pipeline stage, the seconds it worked and the
seconds it waited (for its input, or for room in the next stage's queue). perf_counter
accumulators around the awaits, cheap enough to be always on; `bench/ceiling.py` reports them.

The stages share one event loop, so a stage's `busy` time also holds the moments the loop
ran another stage's Python between two of its awaits: busy times overlap, waits do not lie.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Stage:
    busy: float = 0.0
    waiting: float = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        """The stage's whole life: what it did not spend waiting, it spent busy."""
        started, waited = time.perf_counter(), self.waiting
        try:
            yield
        finally:
            self.busy += time.perf_counter() - started - (self.waiting - waited)

    @contextmanager
    def waits(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.waiting += time.perf_counter() - started


@dataclass
class Stages:
    """prepare: hash lookups and batching (waiting: for the parse workers' documents, or for
    the embedder to take a batch); embed; write (upsert + COPY); index (drop, build, ANALYZE)."""

    prepare: Stage = field(default_factory=Stage)
    embed: Stage = field(default_factory=Stage)
    write: Stage = field(default_factory=Stage)
    index: Stage = field(default_factory=Stage)


async def timed(items: AsyncIterable[T], stage: Stage) -> AsyncIterator[T]:
    """`items`, the time spent waiting for each counted as the stage's waiting."""
    iterator = aiter(items)
    while True:
        with stage.waits():
            try:
                item = await anext(iterator)
            except StopAsyncIteration:
                return
        yield item


async def get(queue: asyncio.Queue[T], stage: Stage) -> T:
    """The next of `queue`, the wait counted as the stage's waiting."""
    with stage.waits():
        return await queue.get()
