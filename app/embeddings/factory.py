"""Build the configured embedding provider (once per process)."""

from __future__ import annotations

from app.config import Settings
from app.embeddings.base import Embedder


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedding_provider == "local":
        from app.embeddings.local import LocalEmbedder

        return LocalEmbedder(
            settings.embedding_model,
            model_path=settings.embedding_model_path,
            cache_dir=settings.data_dir / "models",
            batch_size=settings.embedding_batch_size,
            threads=settings.embedding_threads,
        )
    from app.embeddings.openai import OpenAIEmbedder

    return OpenAIEmbedder(settings)
