"""Retrying calls to an OpenAI-compatible API: exponential backoff with jitter, honouring the
server's Retry-After (or OpenAI's retry-after-ms), giving up with one of our errors."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import openai

from app.errors import UpstreamError
from app.openai_client import Endpoint, convert_error, is_retryable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay: float = 0.5  # seconds before the first retry, doubled each time
    max_delay: float = 30.0  # cap on our own backoff
    max_retry_after: float = 120.0  # a server asking for a longer wait gets an error instead

    def backoff(self, attempt: int) -> float:
        """Delay before retry number `attempt` (0-based): "equal jitter", so delays still grow
        but concurrent callers that failed together do not retry together."""
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))


def retry_after_seconds(exc: openai.OpenAIError) -> float | None:
    """The wait the server asked for, from retry-after-ms or Retry-After (seconds or date)."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - time.time()
        return max(0.0, seconds) if math.isfinite(seconds) else None
    return None


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    endpoint: Endpoint,
    model: str,
    model_variable: str,
) -> T:
    """Await `call()`, retrying what is worth retrying; any failure leaves as a PgaskError."""
    attempt = 0
    while True:
        try:
            return await call()
        except openai.OpenAIError as exc:
            error = convert_error(exc, endpoint, model, model_variable)
            if not is_retryable(exc) or attempt >= policy.max_retries:
                raise error from exc
            asked = retry_after_seconds(exc)
            if asked is not None and asked > policy.max_retry_after:
                raise UpstreamError(f"{error.detail}; it asks to retry after {asked:.0f}s") from exc
            # Honour the server's wait; jitter on top so parallel requests spread out.
            delay = policy.backoff(attempt) if asked is None else asked + random.uniform(0, 0.1)
            attempt += 1
            log.warning(
                "%s; retry %d/%d in %.2fs", error.detail, attempt, policy.max_retries, delay
            )
            await asyncio.sleep(delay)
