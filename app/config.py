"""Settings: the one place that reads the environment (and `.env`).

Every variable is documented in `.env.example`. Build with `get_settings()` once per process
(or construct `Settings(...)` explicitly in tests) and pass the object along.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.auth import ApiKey, parse_api_keys
from app.errors import ConfigError

_DB_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
# user:password@ in a URL (the password may hold anything but '@' and '/')
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Database
    database_url: str | None = None
    pgask_data_dir: Path | None = None
    pgask_log_sql: bool = False
    pgask_db_pool_size: int = Field(default=10, ge=1, le=200)
    # Streaming-replication standbys that serve reads (comma separated), see app/db/replicas.py
    database_read_urls: str | None = None
    # `pgask serve` restarts an embedded PostgreSQL that died (kill -9, OOM): this many
    # failed attempts in a row (with growing waits) before it gives up and /readyz says so.
    pgask_embedded_restart_attempts: int = Field(default=5, ge=0, le=100)
    pgask_replica_max_lag_seconds: float = Field(default=10.0, gt=0, le=86400)
    pgask_read_wait_ms: int = Field(default=500, ge=0, le=60_000)

    # Embeddings
    embedding_provider: Literal["local", "openai"] = "local"
    embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    embedding_model_path: Path | None = None
    embedding_dimensions: int | None = Field(default=None, ge=1, le=16000)
    embedding_batch_size: int = Field(default=64, ge=1, le=4096)
    embedding_threads: int | None = Field(default=None, ge=1, le=256)
    embedding_max_concurrency: int = Field(default=4, ge=1, le=64)
    embedding_max_batch_tokens: int = Field(default=100_000, ge=1, le=1_000_000)
    embedding_max_retries: int = Field(default=5, ge=0, le=20)
    embedding_timeout: float = Field(default=60.0, gt=0, le=3600)

    # Answers
    llm_provider: Literal["none", "openai"] = "none"
    llm_model: str = "gpt-4o-mini"
    llm_context_tokens: int = Field(default=16000, ge=1024, le=2_000_000)
    llm_answer_tokens: int = Field(default=1024, ge=16, le=100_000)
    llm_temperature: float = Field(default=0.1, ge=0.0, le=2.0)
    llm_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    llm_max_retries: int = Field(default=2, ge=0, le=10)

    # OpenAI, Azure OpenAI, or any OpenAI-compatible server
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    azure_openai_endpoint: str | None = None
    azure_openai_api_key: SecretStr | None = None
    azure_openai_api_version: str = "2024-10-21"

    # Service
    pgask_api_keys: SecretStr | None = None
    pgask_api_key: SecretStr | None = None  # the key a CLI or MCP (stdio) client acts as
    pgask_host: str = "127.0.0.1"
    pgask_port: int = Field(default=8000, ge=1, le=65535)
    pgask_auto_migrate: bool = True
    pgask_allow_unauthenticated: bool = False
    # A request's headers must arrive within this many seconds (slowloris: 408, closed).
    pgask_header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    # The longest wait between two received chunks of a request body (a trickled or
    # stalled upload: 408, closed).
    pgask_body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    pgask_max_request_mb: int = Field(default=128, ge=1, le=4096)
    # POST /v1/collections/{c}/import spools its body to a temporary file, not to memory.
    pgask_max_import_mb: int = Field(default=4096, ge=1, le=1_048_576)
    pgask_log_format: Literal["auto", "text", "json"] = "auto"
    # Set by `pgask serve --workers N` for its workers (prometheus_client reads it too, at
    # import): metrics are written there by each worker and summed by GET /metrics.
    prometheus_multiproc_dir: Path | None = None

    # Most hits one document may have per query (0: no cap). Measured (docs/benchmarks/search.md,
    # "Result
    # diversity"): search stays uncapped by default (hybrid hit@3 unchanged by a cap); /v1/ask
    # caps its sources at 2 per document, so one long document cannot fill the context.
    pgask_search_max_per_document: int = Field(default=0, ge=0, le=100)
    pgask_ask_max_per_document: int = Field(default=2, ge=0, le=100)

    # Ingestion
    pgask_ingest_max_file_mb: int = Field(default=100, ge=1, le=1024)
    # Each file is parsed and chunked in a worker process (ingest/parsing.py) that is killed
    # after this many seconds, and may grow by this much memory (MemoryError past it).
    pgask_ingest_file_timeout_seconds: float = Field(default=120.0, gt=0, le=86400)
    pgask_ingest_file_max_memory_mb: int = Field(default=768, ge=64, le=65536)
    pgask_ingest_parse_workers: int = Field(default=2, ge=1, le=64)
    pgask_ingest_max_upload_files: int = Field(default=1000, ge=1, le=100_000)
    pgask_ingest_max_batch_documents: int = Field(default=1000, ge=1, le=100_000)
    pgask_ingest_max_queued_jobs: int = Field(default=100, ge=1, le=100_000)
    pgask_ingest_worker: bool = True
    pgask_ingest_bulk_threshold: int = Field(default=2000, ge=1)
    pgask_ingest_maintenance_work_mem_mb: int = Field(default=512, ge=64, le=65536)
    pgask_job_heartbeat_seconds: float = Field(default=5.0, gt=0, le=600)
    pgask_job_stale_seconds: float = Field(default=60.0, gt=0)
    pgask_job_max_attempts: int = Field(default=3, ge=1, le=100)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        _check_database_url(value)
        return value

    @field_validator("database_read_urls")
    @classmethod
    def _check_read_urls(cls, value: str | None) -> str | None:
        for n, entry in enumerate(split_urls(value), start=1):
            _check_database_url(entry, f"entry {n} ({redact_url(entry)}) ")
        return value or None

    @property
    def read_urls(self) -> list[str]:
        return split_urls(self.database_read_urls)

    @field_validator("openai_base_url", "azure_openai_endpoint")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("embedding_model_path")
    @classmethod
    def _check_model_path(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a folder")
        return value

    @field_validator("pgask_api_keys")
    @classmethod
    def _check_api_keys(cls, value: SecretStr | None) -> SecretStr | None:
        try:
            parse_api_keys(value.get_secret_value() if value else None)
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("PGASK_API_KEYS: ")) from exc
        return value

    @property
    def api_keys(self) -> list[ApiKey]:
        secret = self.pgask_api_keys
        return parse_api_keys(secret.get_secret_value() if secret else None)

    @property
    def data_dir(self) -> Path:
        """Where the embedded PostgreSQL keeps its files."""
        if self.pgask_data_dir is not None:
            return self.pgask_data_dir.expanduser().resolve()
        return Path(platformdirs.user_data_dir("pgask")).resolve()


def split_urls(value: str | None) -> list[str]:
    return [entry.strip() for entry in (value or "").split(",") if entry.strip()]


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs."""
    return _PASSWORD.sub(r"\1***@", url)


def _check_database_url(value: str, which: str = "") -> None:
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in _DB_SCHEMES:
        raise ValueError(
            f"{which}must look like postgresql://user:password@host:5432/dbname "
            "(or postgresql+psycopg://...)"
        )
    try:
        make_url(value)
    except (ArgumentError, ValueError) as exc:  # ValueError: e.g. a port that is no number
        raise ValueError(f"{which}is not a database URL") from exc


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning a validation error into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
