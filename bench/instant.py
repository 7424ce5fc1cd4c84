"""An embedder that answers at once with random unit vectors: what the pipeline does when
embedding costs nothing (a GPU server, precomputed vectors). Benchmarks only: it lives in
bench/, so `EMBEDDING_PROVIDER` can never select it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.embeddings.base import Embedder, EmbedProgress, Vectors


class InstantEmbedder(Embedder):
    provider = "bench"

    def __init__(self, dimensions: int = 384, seed: int = 42) -> None:
        self.model = f"instant-{dimensions}"
        self.dimensions = dimensions
        self._rng = np.random.default_rng(seed)

    async def embed_documents(
        self, texts: Sequence[str], on_progress: EmbedProgress | None = None
    ) -> Vectors:
        vectors = self.random(len(texts))
        if on_progress is not None:
            on_progress(len(texts))
        return vectors

    def random(self, count: int) -> Vectors:
        """`count` random unit vectors."""
        rows = self._rng.standard_normal((count, self.dimensions), dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return rows
