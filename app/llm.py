"""The chat model: the `openai` async client against OpenAI, Azure OpenAI, or any
OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio).

Clients, retries (backoff with jitter, Retry-After) and error conversion are shared with the
embedding provider (`app/openai_client.py`, `app/retry.py`). At answer time every failure is
an UpstreamError (502) or UpstreamTimeout (504): a rejected key or a missing model is still
the model's failure from the caller's point of view, and the message says what to fix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import openai
from openai.types.chat import ChatCompletionMessageParam

from app.completion import Completion, Usage
from app.config import Settings
from app.errors import PgaskError, UpstreamError
from app.observability import Metrics
from app.openai_client import Endpoint, async_client, convert_error, endpoint_from
from app.retry import RetryPolicy, call_with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")


def _usage(raw: object | None) -> Usage:
    if raw is None:
        return Usage()
    return Usage(
        getattr(raw, "prompt_tokens", 0) or 0,
        getattr(raw, "completion_tokens", 0) or 0,
        getattr(raw, "total_tokens", 0) or 0,
    )


def _upstream(error: PgaskError) -> UpstreamError:
    return error if isinstance(error, UpstreamError) else UpstreamError(error.detail)


class ChatModel:
    def __init__(
        self,
        endpoint: Endpoint,
        model: str,
        *,
        max_tokens: int,
        temperature: float,
        timeout: float,
        retry: RetryPolicy,
        metrics: Metrics | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.client = async_client(endpoint, timeout)
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.retry = retry
        self.metrics = metrics or Metrics()

    @classmethod
    def from_settings(cls, settings: Settings, metrics: Metrics | None = None) -> ChatModel:
        return cls(
            endpoint_from(settings.openai),
            settings.llm.model,
            max_tokens=settings.answers.answer_tokens,
            temperature=settings.llm.temperature,
            timeout=settings.llm.timeout_seconds,
            retry=RetryPolicy(max_retries=settings.llm.max_retries),
            metrics=metrics,
        )

    def _arguments(self, messages: Sequence[dict[str, str]]) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": cast("list[ChatCompletionMessageParam]", list(messages)),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call_with_retries(call, self.retry, self.endpoint, self.model, "LLM_MODEL")
        except PgaskError as exc:
            self.metrics.llm_errors.labels("openai").inc()
            raise _upstream(exc) from exc
        except ValueError as exc:  # the client could not parse the body (not JSON)
            self.metrics.llm_errors.labels("openai").inc()
            raise UpstreamError(f"{self._who()} sent a response that is not JSON") from exc

    def _who(self) -> str:
        return f"{self.endpoint} (model {self.model!r})"

    async def complete(self, messages: Sequence[dict[str, str]]) -> Completion:
        start = time.perf_counter()
        try:
            response = await self._call(
                lambda: self.client.chat.completions.create(**self._arguments(messages))
            )
        finally:
            self.metrics.llm_seconds.labels("openai").observe(time.perf_counter() - start)
        try:
            # The client does not validate bodies: a server that answers JSON of another
            # shape gives objects of any type here.
            text = response.choices[0].message.content if response.choices else None
            usage = _usage(response.usage)
        except (AttributeError, IndexError, KeyError, TypeError) as exc:
            self.metrics.llm_errors.labels("openai").inc()
            raise UpstreamError(f"{self._who()} sent an answer of the wrong shape") from exc
        if not response.choices or not isinstance(text, str | None):
            self.metrics.llm_errors.labels("openai").inc()
            raise UpstreamError(f"{self._who()} sent no answer")
        return Completion(text or "", usage)

    async def stream(self, messages: Sequence[dict[str, str]]) -> AsyncIterator[str | Usage]:
        """Text deltas as they arrive, then one Usage (zeros if the server sends none).
        Opening the stream is retried; a failure once text has flowed is not (the caller
        has already shown that text). Closing this iterator early, as a client disconnect
        does, closes the HTTP stream to the model too."""
        start = time.perf_counter()
        usage = Usage()
        stream = await self._call(
            lambda: self.client.chat.completions.create(
                **self._arguments(messages), stream=True, stream_options={"include_usage": True}
            )
        )
        try:
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        usage = _usage(chunk.usage)
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
        except openai.OpenAIError as exc:
            self.metrics.llm_errors.labels("openai").inc()
            raise _upstream(convert_error(exc, self.endpoint, self.model, "LLM_MODEL")) from exc
        except Exception as exc:  # the HTTP layer under the stream (a dropped connection)
            self.metrics.llm_errors.labels("openai").inc()
            raise UpstreamError(
                f"{self.endpoint} (model {self.model!r}) broke off the answer: {type(exc).__name__}"
            ) from exc
        finally:
            self.metrics.llm_seconds.labels("openai").observe(time.perf_counter() - start)
        yield usage

    async def aclose(self) -> None:
        await self.client.close()
