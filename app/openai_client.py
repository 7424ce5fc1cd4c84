"""The `openai` client for OpenAI, Azure OpenAI or any OpenAI-compatible server, built from
the `openai` settings group, and the conversion of its errors into ours (reusable by the
chat/answers code).

Everything is passed explicitly: the `openai` package would otherwise read OPENAI_API_KEY,
OPENAI_BASE_URL, AZURE_OPENAI_* from the environment itself, and only `app/config.py` may.
The client's own retries are switched off (`max_retries=0`) on every client: `app/retry.py`
is the one retry mechanism for this provider, embeddings, the start-up probe and answers
alike (docs/decisions/0032-one-retry-mechanism.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import openai

from app.config import OpenAISettings
from app.errors import ConfigError, PgaskError, UpstreamError, UpstreamTimeout

OPENAI_URL = "https://api.openai.com/v1"
# Local servers (Ollama, llama.cpp, LM Studio) ignore the key but the client needs one.
NO_KEY = "no-key-needed"


@dataclass(frozen=True)
class Endpoint:
    """Where requests go, for building clients and for error messages."""

    kind: str  # "OpenAI", "Azure OpenAI" or "OpenAI-compatible server"
    url: str
    key_variable: str
    api_key: str
    api_version: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} at {self.url}"


def endpoint_from(config: OpenAISettings) -> Endpoint:
    if config.azure_endpoint:
        if config.azure_api_key is None:
            raise ConfigError("AZURE_OPENAI_API_KEY: must be set with AZURE_OPENAI_ENDPOINT")
        return Endpoint(
            "Azure OpenAI",
            config.azure_endpoint,
            "AZURE_OPENAI_API_KEY",
            config.azure_api_key.get_secret_value(),
            config.azure_api_version,
        )
    key = config.api_key.get_secret_value() if config.api_key else None
    if config.base_url:
        url = config.base_url
        return Endpoint("OpenAI-compatible server", url, "OPENAI_API_KEY", key or NO_KEY)
    if not key:
        raise ConfigError(
            "OPENAI_API_KEY: must be set for the OpenAI API (or set OPENAI_BASE_URL for a "
            "compatible server, or AZURE_OPENAI_ENDPOINT for Azure)"
        )
    return Endpoint("OpenAI", OPENAI_URL, "OPENAI_API_KEY", key)


def _arguments(endpoint: Endpoint, timeout: float) -> dict[str, Any]:
    common = {"api_key": endpoint.api_key, "timeout": timeout, "max_retries": 0}
    if endpoint.api_version is not None:
        return common | {"azure_endpoint": endpoint.url, "api_version": endpoint.api_version}
    return common | {"base_url": endpoint.url}


def async_client(endpoint: Endpoint, timeout: float) -> openai.AsyncOpenAI:
    arguments = _arguments(endpoint, timeout)
    if endpoint.api_version is not None:
        return openai.AsyncAzureOpenAI(**arguments)
    return openai.AsyncOpenAI(**arguments)


def is_retryable(exc: openai.OpenAIError) -> bool:
    """Timeouts, dropped connections, 408/409/429 and 5xx are worth another try."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def convert_error(
    exc: openai.OpenAIError, endpoint: Endpoint, model: str, model_variable: str
) -> PgaskError:
    """Our error for an `openai` exception, naming the provider, the model and the setting
    to fix (`model_variable`: EMBEDDING_MODEL or LLM_MODEL)."""
    what = f"{endpoint} (model {model!r})"
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamTimeout(f"{what} did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError(f"cannot reach {what}: {exc}")
    if not isinstance(exc, openai.APIStatusError):
        return UpstreamError(f"{what} failed: {exc}")
    status, message = exc.status_code, _message(exc)
    if status in (401, 403):
        return ConfigError(
            f"{endpoint.key_variable}: {what} rejected the key ({status}): {message}"
        )
    if status == 404:
        hint = "deployment" if endpoint.api_version else "model (and the base URL)"
        return ConfigError(f"{model_variable}: {what} has no such {hint} (404): {message}")
    return UpstreamError(f"{what} answered {status}: {message}")


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message
