"""The `openai` provider: OpenAI, Azure OpenAI (AZURE_OPENAI_ENDPOINT) or any
OpenAI-compatible server (OPENAI_BASE_URL: Ollama, vLLM, llama.cpp server, LM Studio).

Texts are sent in batches bounded by EMBEDDING_BATCH_SIZE inputs and by
EMBEDDING_MAX_BATCH_TOKENS tokens (tiktoken cl100k_base, the tokenizer of OpenAI's embedding
models), up to EMBEDDING_MAX_CONCURRENCY requests at once, each retried on 429/5xx/timeouts
(`app/retry.py`).

Vectors are L2-normalised here: OpenAI's already have unit length (then this is a no-op),
but compatible servers do not promise it (Ollama returns some models' vectors raw).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import openai
import tiktoken
from pydantic import BaseModel, ValidationError

from app.config import EmbeddingSettings, OpenAISettings
from app.embeddings.base import Embedder, EmbedProgress, Vectors, first_row, unit_rows
from app.errors import ConfigError, InvalidInput, UpstreamError
from app.openai_client import async_client, endpoint_from
from app.retry import RetryPolicy, call_with_retries
from app.tokens import cl100k_tokens

log = logging.getLogger(__name__)

# OpenAI's embedding models: native dimensions, and whether they take `dimensions`.
KNOWN_MODELS: dict[str, tuple[int, bool]] = {
    "text-embedding-3-small": (1536, True),
    "text-embedding-3-large": (3072, True),
    "text-embedding-ada-002": (1536, False),
}
MAX_INPUT_TOKENS = 8191  # per input, every OpenAI embedding model
MAX_INPUTS_PER_REQUEST = 2048  # the API's limit on len(input)


class EmbeddingRow(BaseModel):
    """One vector of an embeddings answer: the fields we read of it."""

    index: int
    embedding: str | list[float]  # base64 float32 (asked for), or floats (some servers)


class EmbeddingAnswer(BaseModel):
    data: list[EmbeddingRow]


class OpenAIEmbedder(Embedder):
    provider = "openai"

    def __init__(
        self,
        embeddings: EmbeddingSettings,
        endpoint: OpenAISettings,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.model = embeddings.model
        self._endpoint = endpoint_from(endpoint)
        self._timeout = embeddings.timeout_seconds
        self._batch_size = min(embeddings.batch_size, MAX_INPUTS_PER_REQUEST)
        self._batch_tokens = embeddings.max_batch_tokens
        self._retry = retry or RetryPolicy(max_retries=embeddings.max_retries)
        self._concurrency = embeddings.max_concurrency
        self._semaphore = asyncio.Semaphore(self._concurrency)
        self._encoding = _cl100k()
        known = KNOWN_MODELS.get(self.model)
        # Other models' tokenizers and limits are unknown: we can neither count nor check.
        self.max_input_tokens = MAX_INPUT_TOKENS if known else None
        self.counts_cl100k = known is not None
        dimensions, self._send_dimensions = resolve_dimensions(
            self.model, known, embeddings.dimensions
        )
        self.dimensions = dimensions or self._probe_dimensions()
        self._client = async_client(self._endpoint, self._timeout)

    def token_counter(self) -> Callable[[str], int] | None:
        return None if self.max_input_tokens is None else cl100k_tokens

    def call_size(self, step: int) -> int:
        """Enough texts for every concurrent request (fewer would leave some of the
        EMBEDDING_MAX_CONCURRENCY requests idle). A stopped run does not wait for the whole
        call: cancelling it cancels its requests."""
        return max(step, self._batch_size * self._concurrency)

    async def embed_query(self, text: str) -> Vectors:
        limit = self.max_input_tokens
        if limit is not None:
            tokens = self._encoding.encode_ordinary(text)
            if len(tokens) > limit:
                log.warning(
                    "query is %d tokens; %s reads at most %d, so its end is ignored",
                    len(tokens),
                    self.model,
                    limit,
                )
                text = self._encoding.decode(tokens[:limit])
        return first_row(await self.embed_documents([text]))

    async def embed_documents(
        self, texts: Sequence[str], on_progress: EmbedProgress | None = None
    ) -> Vectors:
        if not texts:
            return np.empty((0, self.dimensions), dtype=np.float32)
        # Off the event loop: the other requests' answers and the ingest stages run meanwhile.
        counts = await asyncio.to_thread(self._token_bounds, texts)
        self._check_lengths(counts)
        batches = plan_batches(counts, self._batch_size, self._batch_tokens)
        requests = [self._request(list(texts[r.start : r.stop]), on_progress) for r in batches]
        return np.concatenate(await gather_all(requests))

    async def aclose(self) -> None:
        await self._client.close()

    def _token_bounds(self, texts: Sequence[str]) -> list[int]:
        """Each text's token count, or an upper bound where a bound decides as well: a
        cl100k token is at least one UTF-8 byte, so a text of at most `short` bytes can
        neither pass the input limit nor take more than its share of a request's token
        budget. Only longer texts are tokenized (tiktoken took 0.3 s of the event loop per
        5,000 msmarco passages, more than the requests themselves)."""
        share = self._batch_tokens // self._batch_size
        short = min(share, self.max_input_tokens or share)
        bounds = [len(text.encode()) for text in texts]
        return [
            bound if bound <= short else len(self._encoding.encode_ordinary(text))
            for text, bound in zip(texts, bounds, strict=True)
        ]

    def _check_lengths(self, counts: list[int]) -> None:
        limit = self.max_input_tokens
        longest = max(counts)
        if limit is not None and longest > limit:
            raise InvalidInput(
                f"a text of {longest} tokens is longer than {self.model}'s limit of {limit}; "
                "it must be split into smaller chunks, not cut"
            )

    async def _request(self, inputs: list[str], on_progress: EmbedProgress | None) -> Vectors:
        dimensions = self.dimensions if self._send_dimensions else openai.omit

        async def call() -> Any:
            # The raw answer: the SDK's own parsing builds a model object per vector
            # (construct_type: 29% of the client's time in a profile), we need two fields.
            return await self._client.embeddings.with_raw_response.create(
                model=self.model, input=inputs, dimensions=dimensions, encoding_format="base64"
            )

        # The semaphore is held through the retries' waits too: a rate-limited server
        # should not see the other requests pile in meanwhile.
        async with self._semaphore:
            response = await call_with_retries(
                call, self._retry, self._endpoint, self.model, "EMBEDDING_MODEL"
            )
        vectors = self._vectors(self._rows(response.http_response.content), len(inputs))
        if on_progress is not None:
            on_progress(len(inputs))
        return vectors

    def _rows(self, body: bytes) -> list[EmbeddingRow]:
        try:
            return EmbeddingAnswer.model_validate_json(body).data
        except ValidationError as exc:
            raise UpstreamError(
                f"{self._endpoint} answered with no embeddings list: {exc.errors()[0]['msg']}"
            ) from exc

    def _vectors(self, data: Sequence[EmbeddingRow], expected: int) -> Vectors:
        rows = sorted(data, key=lambda row: row.index)
        if len(rows) != expected:
            raise UpstreamError(
                f"{self._endpoint} returned {len(rows)} vectors for {expected} inputs"
            )
        matrix = np.stack([decode_vector(row.embedding) for row in rows])
        if matrix.shape[1] != self.dimensions:
            raise UpstreamError(
                f"{self._endpoint} returned {matrix.shape[1]}-dimensional vectors for model "
                f"{self.model!r}, expected {self.dimensions} (EMBEDDING_DIMENSIONS)"
            )
        return unit_rows(matrix)

    def _probe_dimensions(self) -> int:
        """Ask the server once, retried as every other call is (`app/retry.py`). The
        embedder is built from synchronous code (a worker thread at start-up, or a caller
        with its own event loop), so the probe runs on a loop of its own, in a thread of its
        own."""
        with ThreadPoolExecutor(1, thread_name_prefix="pgask-probe") as pool:
            return pool.submit(asyncio.run, self._probe()).result()

    async def _probe(self) -> int:
        async with async_client(self._endpoint, self._timeout) as client:

            async def call() -> Any:
                return await client.embeddings.create(
                    model=self.model, input=["dimension probe"], encoding_format="float"
                )

            response = await call_with_retries(
                call, self._retry, self._endpoint, self.model, "EMBEDDING_MODEL"
            )
        if not response.data:
            raise UpstreamError(f"{self._endpoint} returned no vector for model {self.model!r}")
        return len(response.data[0].embedding)


def resolve_dimensions(
    model: str, known: tuple[int, bool] | None, requested: int | None
) -> tuple[int | None, bool]:
    """(dimensions or None to probe, whether to send `dimensions` with each request)."""
    if known is None:
        # A compatible server's model: trust the setting, send it, check the answer.
        return requested, requested is not None
    native, flexible = known
    if requested is None or requested == native:
        return native, requested is not None and flexible
    if not flexible:
        raise ConfigError(f"EMBEDDING_DIMENSIONS: {model} only makes {native}-dimensional vectors")
    if requested > native:
        raise ConfigError(f"EMBEDDING_DIMENSIONS: {model} makes at most {native} dimensions")
    return requested, True


def plan_batches(counts: Sequence[int], max_inputs: int, max_tokens: int) -> Iterator[range]:
    """Consecutive index ranges, each within both bounds (a single text over `max_tokens`
    still goes alone: the server, not we, decides whether it is too long)."""
    start, tokens = 0, 0
    for index, count in enumerate(counts):
        full = index - start >= max_inputs or tokens + count > max_tokens
        if full and index > start:
            yield range(start, index)
            start, tokens = index, 0
        tokens += count
    yield range(start, len(counts))


async def gather_all(coroutines: Sequence[Coroutine[Any, Any, Vectors]]) -> list[Vectors]:
    """Run concurrently, in order; on the first failure cancel the rest and raise it as is
    (not wrapped in an ExceptionGroup, so callers see our error class)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(coroutine) for coroutine in coroutines]
    except ExceptionGroup as failed:
        # Re-raised as it was, keeping its own `from` cause (the openai error).
        raise failed.exceptions[0]  # noqa: B904
    return [task.result() for task in tasks]


def decode_vector(embedding: Any) -> np.ndarray:
    """A base64 string of float32 (what we ask for) or a list of floats (what some
    compatible servers send regardless)."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4")
    return np.asarray(embedding, dtype=np.float32)


def _cl100k() -> tiktoken.Encoding:
    try:
        return tiktoken.get_encoding("cl100k_base")
    except Exception as exc:  # offline without TIKTOKEN_CACHE_DIR: a requests error
        raise ConfigError(
            f"tiktoken cannot load cl100k_base (offline? set TIKTOKEN_CACHE_DIR): {exc}"
        ) from exc
