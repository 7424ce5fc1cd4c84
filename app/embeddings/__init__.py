"""Embedding providers behind one interface (`Embedder`), chosen by EMBEDDING_PROVIDER."""

from app.embeddings.base import Embedder
from app.embeddings.factory import build_embedder

__all__ = ["Embedder", "build_embedder"]
