"""The interface every embedding provider implements, used by ingestion, search and ask."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


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

    @abstractmethod
    async def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """One row per text, in order."""

    async def embed_query(self, text: str) -> Vectors:
        """A single vector (1-D) for a search query."""
        return (await self.embed_documents([text]))[0]

    async def aclose(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release clients or sessions; the default has nothing to release."""
