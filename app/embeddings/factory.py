"""Build the configured embedding provider (once per process)."""

from __future__ import annotations

from app.config import Settings
from app.embeddings.base import Embedder


def build_embedder(settings: Settings) -> Embedder:
    if settings.embeddings.provider == "local":
        from app.embeddings.local import LocalEmbedder

        return LocalEmbedder(
            settings.embeddings.model,
            model_path=settings.embeddings.model_path,
            cache_dir=settings.database.data_dir / "models",
            batch_size=settings.embeddings.batch_size,
            threads=settings.embeddings.threads,
        )
    from app.embeddings.openai import OpenAIEmbedder

    return OpenAIEmbedder(settings.embeddings, settings.openai)
