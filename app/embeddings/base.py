"""The interface every embedding provider implements, used by ingestion, search and ask."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.errors import UpstreamError

Vectors = npt.NDArray[np.float32]
#: Told how many more texts of a call are embedded, while the call goes on (on the loop).
EmbedProgress = Callable[[int], None]


class ModelInfo(Protocol):
    """What a collection pins about its embedding model."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def dimensions(self) -> int: ...
    @property
    def max_input_tokens(self) -> int | None: ...


@dataclass(frozen=True)
class ModelSpec:
    """A ModelInfo without a model behind it (precomputed vectors, benchmarks, tests)."""

    provider: str
    model: str
    dimensions: int
    max_input_tokens: int | None = None


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors. Implementations keep CPU-bound work
    off the event loop. `provider`, `model` and `dimensions` are what a collection pins."""

    provider: str
    model: str
    dimensions: int
    #: the longest input, in the model's own tokens, embedded without truncation (None: unknown)
    max_input_tokens: int | None = None
    #: its tokens are tiktoken cl100k_base's, the ones the chunker cuts by
    counts_cl100k: bool = False

    @abstractmethod
    async def embed_documents(
        self, texts: Sequence[str], on_progress: EmbedProgress | None = None
    ) -> Vectors:
        """One row per text, in order. `on_progress` hears of each part of `texts` done (a
        model batch, a request), so a long call shows progress before it returns."""

    async def embed_query(self, text: str) -> Vectors:
        """A single vector (1-D) for a search query. A query longer than `max_input_tokens`
        is cut to fit, with a logged warning (documents never are: see `count_tokens`)."""
        return first_row(await self.embed_documents([text]))

    def call_size(self, step: int) -> int:
        """How many texts one `embed_documents` call of an ingest run should get: `step`
        (what a stopped run waits for at most) unless the provider needs more to work at
        full speed."""
        return step

    def count_tokens(self, text: str) -> int | None:
        """`text`'s length in the model's own tokens, the unit of `max_input_tokens`, so the
        chunker can check that a chunk fits; None when this provider cannot count them."""
        counter = self.token_counter()
        return None if counter is None else counter(text)

    def token_counter(self) -> Callable[[str], int] | None:
        """`count_tokens` as a picklable callable (ingestion chunks in worker processes,
        which get it once), or None when this provider cannot count its tokens."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release clients or sessions; the default has nothing to release."""


def from_thread(on_progress: EmbedProgress | None) -> EmbedProgress | None:
    """`on_progress` for a worker thread to call: the call is made on the running loop."""
    if on_progress is None:
        return None
    loop = asyncio.get_running_loop()

    def on_loop(count: int) -> None:
        loop.call_soon_threadsafe(on_progress, count)

    return on_loop


def unit_rows(rows: npt.ArrayLike) -> Vectors:
    """`rows` as float32, each scaled to unit length (cosine distance = 1 - dot product)."""
    matrix = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if not np.all(norms > 0):
        raise UpstreamError("the embedding model returned an all-zero vector")
    unit: Vectors = matrix / norms
    return unit


def first_row(rows: Vectors) -> Vectors:
    """The first row of a 2-D result, typed (numpy indexing is untyped)."""
    row: Vectors = rows[0]
    return row
