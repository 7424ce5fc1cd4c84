"""An Embedder that times every call into the app's metrics, around any provider.

`Services` wraps the embedder it builds, so ingestion, search and ask are all measured
without knowing about metrics, and providers stay free of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.embeddings.base import Embedder, EmbedProgress, Vectors
from app.observability import Metrics


class MeteredEmbedder(Embedder):
    def __init__(self, inner: Embedder, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.provider = inner.provider
        self.model = inner.model
        self.dimensions = inner.dimensions
        self.max_input_tokens = inner.max_input_tokens

    async def embed_documents(
        self, texts: Sequence[str], on_progress: EmbedProgress | None = None
    ) -> Vectors:
        with self.metrics.time_embedding(self.provider, "documents"):
            return await self.inner.embed_documents(texts, on_progress)

    async def embed_query(self, text: str) -> Vectors:
        with self.metrics.time_embedding(self.provider, "query"):
            return await self.inner.embed_query(text)

    def token_counter(self) -> Callable[[str], int] | None:
        return self.inner.token_counter()

    async def aclose(self) -> None:
        await self.inner.aclose()
