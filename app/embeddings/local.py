"""The default `local` provider: fastembed (ONNX Runtime) on the CPU, fully offline when
EMBEDDING_MODEL_PATH points at a model folder."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.embeddings.base import Embedder, Vectors
from app.errors import ConfigError

# Models fastembed knows, with their dimensions and input limit (word pieces).
_KNOWN: dict[str, tuple[int, int]] = {
    "sentence-transformers/all-MiniLM-L6-v2": (384, 256),
}


class LocalEmbedder(Embedder):
    provider = "local"

    def __init__(
        self,
        model: str,
        *,
        model_path: Path | None = None,
        cache_dir: Path | None = None,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        from fastembed import TextEmbedding

        self.model = model
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        try:
            self._model = TextEmbedding(
                model,
                threads=self.threads,
                cache_dir=str(cache_dir) if cache_dir else None,
                specific_model_path=str(model_path) if model_path else None,
            )
        except Exception as exc:  # fastembed raises ValueError/OSError/hub errors alike
            where = f" from {model_path}" if model_path else ""
            raise ConfigError(f"EMBEDDING_MODEL: cannot load {model!r}{where}: {exc}") from exc
        known = _KNOWN.get(model)
        self.dimensions = known[0] if known else len(self._embed_sync(["dimension probe"])[0])
        self.max_input_tokens = known[1] if known else None
        # One inference at a time: ONNX Runtime already uses every core for a batch, and
        # overlapping batches would only oversubscribe them.
        self._lock = threading.Lock()

    def _embed_sync(self, texts: Sequence[str]) -> Vectors:
        rows = list(self._model.embed(list(texts), batch_size=self.batch_size))
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)

    def _embed_locked(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            return self._embed_sync(texts)

    async def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.empty((0, self.dimensions), dtype=np.float32)
        return await asyncio.to_thread(self._embed_locked, texts)
