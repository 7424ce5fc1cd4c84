"""The default `local` provider: fastembed (ONNX Runtime) on the CPU, fully offline when
EMBEDDING_MODEL_PATH points at a model folder.

Input length is measured with the model's own tokenizer (the one fastembed feeds the model).
The model reads at most `max_input_tokens` word pieces, special tokens included; longer
inputs are cut by the tokenizer exactly as sentence-transformers cuts them, and never
silently: a long query is logged as a warning, a long document too (ingestion's chunker
should have split it; `count_tokens` lets it check).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from tokenizers import Tokenizer

from app.embeddings.base import (
    Embedder,
    EmbedProgress,
    Vectors,
    first_row,
    from_thread,
    unit_rows,
)
from app.embeddings.quantize import variant_of
from app.errors import ConfigError
from app.tokens import WordPieces

log = logging.getLogger(__name__)

# Input limits (word pieces) where the tokenizer's own configuration is not the model's:
# MiniLM's tokenizer_config.json says 512, but sentence-transformers' max_seq_length is 256,
# the length the model was trained with.
_MAX_INPUT_TOKENS: dict[str, int] = {
    "sentence-transformers/all-MiniLM-L6-v2": 256,
}


# Cells (texts x padded word pieces) in one run of the model. ONNX Runtime's working memory
# follows the run's input shape (the attention scores alone are texts x 12 heads x length^2
# floats) and its arena keeps the most it ever took: embedding 1,000 chunks in runs of 64 texts
# grew the process by 1.2 GB, in runs of at most 2,048 cells by 200 MB
# (docs/decisions/0038-embedding-runs-bounded-by-cells.md).
MAX_CELLS = 2048


def runs(lengths: Sequence[int], batch_size: int, max_cells: int) -> list[int]:
    """Where each run of the model ends, for texts of these padded lengths in ascending
    order: at most `batch_size` texts and `max_cells` cells a run (a text longer than
    `max_cells` runs alone)."""
    ends: list[int] = []
    start = 0
    for i, length in enumerate(lengths):
        if i > start and ((i - start + 1) * length > max_cells or i - start == batch_size):
            ends.append(i)
            start = i
    if lengths:
        ends.append(len(lengths))
    return ends


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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
        max_cells: int = MAX_CELLS,
    ) -> None:
        from fastembed import TextEmbedding

        # An int8 copy (app/embeddings/quantize.py) is pinned under its own name.
        variant = variant_of(model_path)
        self.model = f"{model}@{variant}" if variant else model
        self.batch_size = batch_size
        self.max_cells = max_cells
        self.threads = threads or available_cores()
        # Without a model folder fastembed downloads the model unless it is cached, retrying
        # an unreachable hub with sleeps of 3, 9 and 27 s; with the hub unreachable, only the
        # cache is tried, and a model not in it is one clear error at once
        # (docs/decisions/0025-model-hub-probe.md).
        unreachable = None if model_path is not None else _hub_unreachable()
        try:
            with _quiet_fastembed(unreachable is not None):
                self._model = TextEmbedding(
                    model,
                    threads=self.threads,
                    cache_dir=str(cache_dir) if cache_dir else None,
                    specific_model_path=str(model_path) if model_path else None,
                    local_files_only=unreachable is not None,
                )
        except Exception as exc:  # fastembed raises ValueError/OSError/hub errors alike
            raise ConfigError(_load_error(model, model_path, exc, unreachable)) from exc
        self.dimensions = self._model.embedding_size
        tokenizer = _tokenizer_of(self._model)
        truncation = tokenizer.truncation or {}
        self.max_input_tokens = _MAX_INPUT_TOKENS.get(model, truncation.get("max_length"))
        # The model's tokenizer now cuts at our limit; a copy that neither cuts nor pads
        # measures the real length.
        self._counter = WordPieces(Tokenizer.from_str(tokenizer.to_str()))
        self._counter.tokenizer.no_truncation()
        self._counter.tokenizer.no_padding()
        if self.max_input_tokens is not None:
            tokenizer.enable_truncation(
                self.max_input_tokens, direction=truncation.get("direction", "right")
            )
        # One inference at a time: ONNX Runtime already uses every core for a batch, and
        # overlapping batches would only oversubscribe them.
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return self._counter(text)

    def token_counter(self) -> WordPieces:
        return self._counter

    async def embed_documents(
        self, texts: Sequence[str], on_progress: EmbedProgress | None = None
    ) -> Vectors:
        if not texts:
            return np.empty((0, self.dimensions), dtype=np.float32)
        stop = threading.Event()
        try:
            return await asyncio.to_thread(
                self._embed, list(texts), "document", from_thread(on_progress), stop
            )
        finally:
            # Cancelled (a signal, a deleted collection): the thread ends after the model's
            # batch in progress, not the whole call; the process exits only once it ends.
            stop.set()

    async def embed_query(self, text: str) -> Vectors:
        return first_row(await asyncio.to_thread(self._embed, [text], "query", None))

    def _embed(
        self,
        texts: list[str],
        kind: str,
        on_progress: EmbedProgress | None,
        stop: threading.Event | None = None,
    ) -> Vectors:
        lengths = np.array([len(e.ids) for e in self._counter.tokenizer.encode_batch(texts)])
        self._warn_if_cut(lengths, kind)
        # Batches are padded to their longest text: embedding texts in length order wastes
        # far less work on padding. The rows are put back in input order.
        order = np.argsort(lengths, kind="stable")
        padded = np.minimum(lengths[order], self.max_input_tokens or lengths.max()).tolist()
        ends = runs(padded, self.batch_size, self.max_cells)
        with self._lock:
            rows = self._rows([texts[i] for i in order], ends, on_progress, stop)
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        vectors[order] = unit_rows(rows)
        return vectors

    def _rows(
        self,
        texts: list[str],
        ends: list[int],
        on_progress: EmbedProgress | None,
        stop: threading.Event | None,
    ) -> list[Any]:
        """The model's rows, one run of the model per `texts[previous end:end]`, telling
        `on_progress` after each run; raises CancelledError between two runs once `stop` is
        set."""
        rows: list[Any] = []
        for end in ends:
            run = texts[len(rows) : end]
            rows.extend(self._model.embed(run, batch_size=len(run)))
            if stop is not None and stop.is_set():
                raise asyncio.CancelledError  # nobody waits for these rows any more
            if on_progress is not None:
                on_progress(len(run))
        return rows

    def _warn_if_cut(self, lengths: np.ndarray, kind: str) -> None:
        limit = self.max_input_tokens
        longest = int(lengths.max())
        if limit is None or longest <= limit:
            return
        if kind == "query":
            log.warning(
                "query is %d word pieces, longer than %s's limit of %d: the model reads only "
                "its first %d",
                longest,
                self.model,
                limit,
                limit,
            )
            return
        log.warning(
            "%d of %d documents are longer than %s's limit of %d word pieces (longest %d): "
            "the model reads only their first %d; split them into smaller chunks",
            int((lengths > limit).sum()),
            len(lengths),
            self.model,
            limit,
            longest,
            limit,
        )


HUB_TIMEOUT_SECONDS = 3.0  # a connection to the model hub; a DNS failure answers at once


def _hub_unreachable() -> str | None:
    """None when the model hub (huggingface_hub's endpoint, `HF_ENDPOINT`) accepts a
    connection, else why not. Offline by setting (`HF_HUB_OFFLINE`) counts as unreachable."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    endpoint = urlsplit(constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "", port), HUB_TIMEOUT_SECONDS):
            return None
    except OSError as exc:
        return f"{constants.ENDPOINT} cannot be reached ({exc.strerror or exc})"


@contextmanager
def _quiet_fastembed(quiet: bool) -> Iterator[None]:
    """fastembed's own log lines (loguru) silenced while it only looks in its cache: a miss
    there is reported once, by the caller's error."""
    if not quiet:
        yield
        return
    from loguru import logger

    logger.disable("fastembed")
    try:
        yield
    finally:
        logger.enable("fastembed")


def _load_error(
    model: str, model_path: Path | None, exc: Exception, unreachable: str | None = None
) -> str:
    """Names the setting to change: offline, fastembed's own message ("Could not load model
    ... from any source") does not say that EMBEDDING_MODEL_PATH is the way out."""
    if model_path is not None:
        return f"EMBEDDING_MODEL_PATH={model_path}: cannot load {model!r} from it: {exc}"
    if unreachable is not None:
        return (
            f"EMBEDDING_MODEL: {model!r} is not in the model cache and {unreachable}: set "
            "EMBEDDING_MODEL_PATH to a folder holding the model's ONNX files"
        )
    return (
        f"EMBEDDING_MODEL: cannot load {model!r}: {exc}. Without network access, set "
        "EMBEDDING_MODEL_PATH to a folder holding the model's ONNX files"
    )


def _tokenizer_of(embedding: Any) -> Tokenizer:
    """The `tokenizers.Tokenizer` fastembed feeds the model (fastembed keeps it on the model
    object it wraps)."""
    tokenizer = getattr(getattr(embedding, "model", None), "tokenizer", None)
    if not isinstance(tokenizer, Tokenizer):
        raise ConfigError("this fastembed version does not expose the model's tokenizer")
    return tokenizer
