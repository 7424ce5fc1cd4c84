"""The chat model: the `openai` async client against OpenAI, Azure OpenAI, or any
OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio).

Retries on 408/409/429/5xx and connection errors, with exponential backoff, jitter and
`Retry-After`, are the openai client's own (LLM_MAX_RETRIES). Every failure leaves here as
an UpstreamError (502) or UpstreamTimeout (504) that names the model and what went wrong.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import cast

import openai
from openai.types.chat import ChatCompletionMessageParam

from app.config import Settings
from app.errors import ConfigError, UpstreamError, UpstreamTimeout
from app.observability import Metrics

log = logging.getLogger(__name__)


def build_openai_client(
    settings: Settings, *, timeout: float, max_retries: int
) -> openai.AsyncOpenAI:
    """An AsyncAzureOpenAI when AZURE_OPENAI_ENDPOINT is set, else an AsyncOpenAI (with
    OPENAI_BASE_URL for compatible servers)."""
    if settings.azure_openai_endpoint:
        if settings.azure_openai_api_key is None:
            raise ConfigError("AZURE_OPENAI_API_KEY: required with AZURE_OPENAI_ENDPOINT")
        return openai.AsyncAzureOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            api_key=settings.azure_openai_api_key.get_secret_value(),
            api_version=settings.azure_openai_api_version,
            timeout=timeout,
            max_retries=max_retries,
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    if key is None and settings.openai_base_url is None:
        raise ConfigError("OPENAI_API_KEY: required to use OpenAI (or set OPENAI_BASE_URL)")
    return openai.AsyncOpenAI(
        api_key=key or "unused",  # local servers (Ollama, llama.cpp) accept any key
        base_url=settings.openai_base_url,
        timeout=timeout,
        max_retries=max_retries,
    )


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)


def _messages(messages: Sequence[dict[str, str]]) -> list[ChatCompletionMessageParam]:
    return cast("list[ChatCompletionMessageParam]", list(messages))


def _usage(raw: object | None) -> Usage:
    if raw is None:
        return Usage()
    return Usage(
        getattr(raw, "prompt_tokens", 0) or 0,
        getattr(raw, "completion_tokens", 0) or 0,
        getattr(raw, "total_tokens", 0) or 0,
    )


class ChatModel:
    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        *,
        max_tokens: int,
        temperature: float,
        metrics: Metrics | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.metrics = metrics or Metrics()

    @classmethod
    def from_settings(cls, settings: Settings, metrics: Metrics | None = None) -> ChatModel:
        client = build_openai_client(
            settings, timeout=settings.llm_timeout_seconds, max_retries=settings.llm_max_retries
        )
        return cls(
            client,
            settings.llm_model,
            max_tokens=settings.llm_answer_tokens,
            temperature=settings.llm_temperature,
            metrics=metrics,
        )

    def _error(self, exc: Exception) -> UpstreamError:
        where = f"chat model {self.model!r} at {self.client.base_url}"
        if isinstance(exc, openai.APITimeoutError):
            return UpstreamTimeout(f"{where} did not answer in time")
        if isinstance(exc, openai.AuthenticationError):
            return UpstreamError(f"{where} rejected the API key (401): check OPENAI_API_KEY")
        if isinstance(exc, openai.NotFoundError):
            return UpstreamError(f"{where}: model not found (404): check LLM_MODEL")
        if isinstance(exc, openai.APIStatusError):
            return UpstreamError(f"{where} answered HTTP {exc.status_code}")
        if isinstance(exc, openai.APIConnectionError):
            return UpstreamError(f"{where} cannot be reached: {exc}")
        return UpstreamError(f"{where} sent an unusable response: {type(exc).__name__}")

    def _failed(self, exc: Exception) -> UpstreamError:
        self.metrics.llm_errors.labels("openai").inc()
        error = self._error(exc)
        log.error("%s", error.detail)
        return error

    async def complete(self, messages: Sequence[dict[str, str]]) -> Completion:
        start = time.perf_counter()
        try:
            response = await self.client.chat.completions.create(
                model=self.model,
                messages=_messages(messages),
                max_tokens=self.max_tokens,
                temperature=self.temperature,
            )
            text = response.choices[0].message.content or ""
        except (openai.OpenAIError, IndexError, AttributeError, ValueError) as exc:
            raise self._failed(exc) from exc
        finally:
            self.metrics.llm_seconds.labels("openai").observe(time.perf_counter() - start)
        return Completion(text, _usage(response.usage))

    async def stream(self, messages: Sequence[dict[str, str]]) -> AsyncIterator[str | Usage]:
        """Text deltas as they arrive, then one Usage (zeros if the server sends none).
        Closing the iterator early (a client disconnect) closes the HTTP stream too."""
        start = time.perf_counter()
        usage = Usage()
        try:
            stream = await self.client.chat.completions.create(
                model=self.model,
                messages=_messages(messages),
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        usage = _usage(chunk.usage)
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
        except (openai.OpenAIError, AttributeError, ValueError) as exc:
            raise self._failed(exc) from exc
        finally:
            self.metrics.llm_seconds.labels("openai").observe(time.perf_counter() - start)
        yield usage

    async def aclose(self) -> None:
        await self.client.close()
