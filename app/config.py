"""Settings: the one place that reads the environment (and `.env`).

`Settings` holds frozen groups by meaning (`settings.database.url`, `settings.jobs.max_attempts`,
...). The variables keep their flat names (`DATABASE_URL`, `PGASK_JOB_MAX_ATTEMPTS`, documented
in `.env.example`); `ENVIRONMENT` is the one table from each name to its group and field, used
to read the environment, to accept flat overrides (`load_settings(database_url=...)`) and to
name the variable in a validation error. Build with `get_settings()` once per process (or
`load_settings(...)` in tests) and pass the object, or the group a part needs, along.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Self

import platformdirs
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.auth import ApiKey, parse_api_keys
from app.errors import ConfigError

_DB_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
# user:password@ in a URL (the password may hold anything but '@' and '/')
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(_Group):
    url: str | None = None  # None: the embedded server in `data_dir`
    # where the embedded server and downloaded models live
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("pgask")))
    pool_size: int = Field(default=10, ge=1, le=200)
    log_sql: bool = False
    auto_migrate: bool = True
    # `pgask serve` restarts an embedded PostgreSQL that died (kill -9, OOM): this many
    # failed attempts in a row (with growing waits) before it gives up and /readyz says so.
    embedded_restart_attempts: int = Field(default=5, ge=0, le=100)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        _check_database_url(value)
        return value

    @field_validator("data_dir")
    @classmethod
    def _resolve_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()


class ReplicaSettings(_Group):
    """Streaming-replication standbys that serve reads, see app/db/replicas.py."""

    urls: tuple[str, ...] = ()  # from a comma-separated DATABASE_READ_URLS
    max_lag_seconds: float = Field(default=10.0, gt=0, le=86400)
    read_wait_ms: int = Field(default=500, ge=0, le=60_000)

    @field_validator("urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if value is None or isinstance(value, str):
            return split_urls(value)
        return value

    @field_validator("urls")
    @classmethod
    def _check_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for n, entry in enumerate(value, start=1):
            _check_database_url(entry, f"entry {n} ({redact_url(entry)}) ")
        return value


class EmbeddingSettings(_Group):
    provider: Literal["local", "openai"] = "local"
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    model_path: Path | None = None
    dimensions: int | None = Field(default=None, ge=1, le=16000)
    batch_size: int = Field(default=64, ge=1, le=4096)
    threads: int | None = Field(default=None, ge=1, le=256)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    max_batch_tokens: int = Field(default=100_000, ge=1, le=1_000_000)
    max_retries: int = Field(default=5, ge=0, le=20)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)

    @field_validator("model_path")
    @classmethod
    def _check_model_path(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a folder")
        return value


class LlmSettings(_Group):
    """The chat model that writes answers (`none`: extractive answers)."""

    provider: Literal["none", "openai"] = "none"
    model: str = "gpt-4o-mini"
    temperature: float = Field(default=0.1, ge=0.0, le=2.0)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    max_retries: int = Field(default=2, ge=0, le=10)


class AnswerSettings(_Group):
    """What answering reads: the prompt's token budget and its sources' diversity."""

    context_tokens: int = Field(default=16000, ge=1024, le=2_000_000)
    answer_tokens: int = Field(default=1024, ge=16, le=100_000)  # also sent as max_tokens
    # Most sources one document may give an answer (0: no cap): one long document cannot
    # fill the context (docs/benchmarks/search.md, "Result diversity").
    max_per_document: int = Field(default=2, ge=0, le=100)
    # More passages of the first source's page, beyond the cap (0: none): the page that
    # answers holds the command or definition asked for in passages ranked below other
    # pages' (docs/decisions/0041-answers-read-more-of-the-best-page.md).
    page_passages: int = Field(default=2, ge=0, le=20)


class OpenAISettings(_Group):
    """OpenAI, Azure OpenAI, or any OpenAI-compatible server (embeddings and chat)."""

    api_key: SecretStr | None = None
    base_url: str | None = None
    azure_endpoint: str | None = None
    azure_api_key: SecretStr | None = None
    azure_api_version: str = "2024-10-21"

    @field_validator("base_url", "azure_endpoint")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class AuthSettings(_Group):
    api_keys: SecretStr | None = None  # bootstrap keys as configured; parsed: `keys`
    client_key: SecretStr | None = None  # the key a CLI or MCP (stdio) client acts as
    allow_unauthenticated: bool = False  # a non-loopback host with no keys

    @field_validator("api_keys")
    @classmethod
    def _check_api_keys(cls, value: SecretStr | None) -> SecretStr | None:
        try:
            parse_api_keys(value.get_secret_value() if value else None)
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("PGASK_API_KEYS: ")) from exc
        return value

    @property
    def keys(self) -> list[ApiKey]:
        secret = self.api_keys
        return parse_api_keys(secret.get_secret_value() if secret else None)


class ServerSettings(_Group):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # A request's headers must arrive within this many seconds (slowloris: 408, closed).
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    # The longest wait between two received chunks of a request body (a trickled or
    # stalled upload: 408, closed).
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    max_request_mb: int = Field(default=128, ge=1, le=4096)
    # POST /v1/collections/{c}/import spools its body to a temporary file, not to memory.
    max_import_mb: int = Field(default=4096, ge=1, le=1_048_576)
    log_format: Literal["auto", "text", "json"] = "auto"
    # Set by `pgask serve --workers N` for its workers (prometheus_client reads it too, at
    # import): metrics are written there by each worker and summed by GET /metrics.
    metrics_dir: Path | None = None


class SearchSettings(_Group):
    # Most hits one document may have per query (0: no cap): uncapped by default, since a
    # cap left hybrid hit@3 unchanged (docs/benchmarks/search.md, "Result diversity").
    max_per_document: int = Field(default=0, ge=0, le=100)


class IngestionSettings(_Group):
    max_file_mb: int = Field(default=100, ge=1, le=1024)
    # Each file is parsed and chunked in a worker process (ingest/parsing.py) that is killed
    # after this many seconds, and may grow by this much memory (MemoryError past it).
    file_timeout_seconds: float = Field(default=120.0, gt=0, le=86400)
    file_max_memory_mb: int = Field(default=768, ge=64, le=65536)
    parse_workers: int = Field(default=2, ge=1, le=64)
    max_upload_files: int = Field(default=1000, ge=1, le=100_000)
    max_batch_documents: int = Field(default=1000, ge=1, le=100_000)
    bulk_threshold: int = Field(default=2000, ge=1)  # documents that make a first load bulk
    maintenance_work_mem_mb: int = Field(default=512, ge=64, le=65536)  # for HNSW builds


class JobSettings(_Group):
    """Ingest jobs (uploads) queued in PostgreSQL and the worker that runs them."""

    worker: bool = True  # run a job worker inside `pgask serve`
    max_queued: int = Field(default=100, ge=1, le=100_000)
    heartbeat_seconds: float = Field(default=5.0, gt=0, le=600)
    stale_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=100)


# Every environment variable -> (group, field). Names never change: they are the interface.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("database", "url"),
    "PGASK_DATA_DIR": ("database", "data_dir"),
    "PGASK_DB_POOL_SIZE": ("database", "pool_size"),
    "PGASK_LOG_SQL": ("database", "log_sql"),
    "PGASK_AUTO_MIGRATE": ("database", "auto_migrate"),
    "PGASK_EMBEDDED_RESTART_ATTEMPTS": ("database", "embedded_restart_attempts"),
    "DATABASE_READ_URLS": ("replicas", "urls"),
    "PGASK_REPLICA_MAX_LAG_SECONDS": ("replicas", "max_lag_seconds"),
    "PGASK_READ_WAIT_MS": ("replicas", "read_wait_ms"),
    "EMBEDDING_PROVIDER": ("embeddings", "provider"),
    "EMBEDDING_MODEL": ("embeddings", "model"),
    "EMBEDDING_MODEL_PATH": ("embeddings", "model_path"),
    "EMBEDDING_DIMENSIONS": ("embeddings", "dimensions"),
    "EMBEDDING_BATCH_SIZE": ("embeddings", "batch_size"),
    "EMBEDDING_THREADS": ("embeddings", "threads"),
    "EMBEDDING_MAX_CONCURRENCY": ("embeddings", "max_concurrency"),
    "EMBEDDING_MAX_BATCH_TOKENS": ("embeddings", "max_batch_tokens"),
    "EMBEDDING_MAX_RETRIES": ("embeddings", "max_retries"),
    "EMBEDDING_TIMEOUT": ("embeddings", "timeout_seconds"),
    "LLM_PROVIDER": ("llm", "provider"),
    "LLM_MODEL": ("llm", "model"),
    "LLM_TEMPERATURE": ("llm", "temperature"),
    "LLM_TIMEOUT_SECONDS": ("llm", "timeout_seconds"),
    "LLM_MAX_RETRIES": ("llm", "max_retries"),
    "LLM_CONTEXT_TOKENS": ("answers", "context_tokens"),
    "LLM_ANSWER_TOKENS": ("answers", "answer_tokens"),
    "PGASK_ASK_MAX_PER_DOCUMENT": ("answers", "max_per_document"),
    "PGASK_ASK_PAGE_PASSAGES": ("answers", "page_passages"),
    "OPENAI_API_KEY": ("openai", "api_key"),
    "OPENAI_BASE_URL": ("openai", "base_url"),
    "AZURE_OPENAI_ENDPOINT": ("openai", "azure_endpoint"),
    "AZURE_OPENAI_API_KEY": ("openai", "azure_api_key"),
    "AZURE_OPENAI_API_VERSION": ("openai", "azure_api_version"),
    "PGASK_API_KEYS": ("auth", "api_keys"),
    "PGASK_API_KEY": ("auth", "client_key"),
    "PGASK_ALLOW_UNAUTHENTICATED": ("auth", "allow_unauthenticated"),
    "PGASK_HOST": ("server", "host"),
    "PGASK_PORT": ("server", "port"),
    "PGASK_HEADER_TIMEOUT_SECONDS": ("server", "header_timeout_seconds"),
    "PGASK_BODY_TIMEOUT_SECONDS": ("server", "body_timeout_seconds"),
    "PGASK_MAX_REQUEST_MB": ("server", "max_request_mb"),
    "PGASK_MAX_IMPORT_MB": ("server", "max_import_mb"),
    "PGASK_LOG_FORMAT": ("server", "log_format"),
    "PROMETHEUS_MULTIPROC_DIR": ("server", "metrics_dir"),
    "PGASK_SEARCH_MAX_PER_DOCUMENT": ("search", "max_per_document"),
    "PGASK_INGEST_MAX_FILE_MB": ("ingestion", "max_file_mb"),
    "PGASK_INGEST_FILE_TIMEOUT_SECONDS": ("ingestion", "file_timeout_seconds"),
    "PGASK_INGEST_FILE_MAX_MEMORY_MB": ("ingestion", "file_max_memory_mb"),
    "PGASK_INGEST_PARSE_WORKERS": ("ingestion", "parse_workers"),
    "PGASK_INGEST_MAX_UPLOAD_FILES": ("ingestion", "max_upload_files"),
    "PGASK_INGEST_MAX_BATCH_DOCUMENTS": ("ingestion", "max_batch_documents"),
    "PGASK_INGEST_BULK_THRESHOLD": ("ingestion", "bulk_threshold"),
    "PGASK_INGEST_MAINTENANCE_WORK_MEM_MB": ("ingestion", "maintenance_work_mem_mb"),
    "PGASK_INGEST_WORKER": ("jobs", "worker"),
    "PGASK_INGEST_MAX_QUEUED_JOBS": ("jobs", "max_queued"),
    "PGASK_JOB_HEARTBEAT_SECONDS": ("jobs", "heartbeat_seconds"),
    "PGASK_JOB_STALE_SECONDS": ("jobs", "stale_seconds"),
    "PGASK_JOB_MAX_ATTEMPTS": ("jobs", "max_attempts"),
}
_VARIABLE: dict[tuple[str, ...], str] = {place: name for name, place in ENVIRONMENT.items()}


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Flat settings by variable name (any case) to {group: {field: value}}. A group name
    passes through (a dict of its fields, or the group itself); anything else is refused."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if key in Settings.model_fields:
            if isinstance(value, Mapping):
                nested.setdefault(key, {}).update(value)
            else:
                nested[key] = value
            continue
        place = ENVIRONMENT.get(key.upper())
        if place is None:
            raise ConfigError(f"{key}: not a pgask setting (see .env.example)")
        group, field = place
        if isinstance(nested.get(group), BaseModel):
            nested[group] = nested[group].model_dump()
        nested.setdefault(group, {})[field] = value
    return nested


class EnvironmentSource(PydanticBaseSettingsSource):
    """The variables of `ENVIRONMENT` from the environment, over those of the `.env` file(s)
    (names in any case), as raw strings for the groups to validate. An empty variable means
    its default, as `.env.example` (whose copy is a valid `.env`) says."""

    def __init__(self, settings_cls: type[BaseSettings], dotenv: DotEnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self.env_file = dotenv.env_file
        self.encoding = dotenv.env_file_encoding

    def get_field_value(
        self,
        field: FieldInfo,  # noqa: ARG002 (the base class's signature)
        field_name: str,
    ) -> tuple[Any, str, bool]:
        """One group's variables (a dict, `True`: complex), as `__call__` finds them."""
        return self().get(field_name), field_name, True

    def _dotenv(self) -> dict[str, str]:
        files = self.env_file
        paths = [files] if isinstance(files, (str, os.PathLike)) else list(files or ())
        values: dict[str, str] = {}
        for path in paths:
            if Path(path).expanduser().is_file():
                read = dotenv_values(Path(path).expanduser(), encoding=self.encoding)
                values.update({k: v for k, v in read.items() if v is not None})
        return values

    def __call__(self) -> dict[str, Any]:
        found = {**self._dotenv(), **os.environ}
        return nest({k: v for k, v in found.items() if k.upper() in ENVIRONMENT and v != ""})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="forbid", frozen=True
    )

    database: DatabaseSettings = DatabaseSettings()
    replicas: ReplicaSettings = ReplicaSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    llm: LlmSettings = LlmSettings()
    answers: AnswerSettings = AnswerSettings()
    openai: OpenAISettings = OpenAISettings()
    auth: AuthSettings = AuthSettings()
    server: ServerSettings = ServerSettings()
    search: SearchSettings = SearchSettings()
    ingestion: IngestionSettings = IngestionSettings()
    jobs: JobSettings = JobSettings()

    def __init__(self, **values: Any) -> None:
        """Takes the variables' flat names (`database_url=...`) or groups (`database=...`);
        `_env_file` and the other underscored pydantic-settings options pass through."""
        options = {k: v for k, v in values.items() if k.startswith("_")}
        super().__init__(**options, **nest({k: v for k, v in values.items() if k not in options}))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003 (named by the hook's caller)
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The call's arguments, then `EnvironmentSource` (which replaces the per-field
        environment, `.env` and secrets-folder sources), then the defaults."""
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        return init_settings, EnvironmentSource(settings_cls, dotenv_settings)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied by the same names `load_settings` takes, validated;
        every field comes from this copy, none from the environment."""
        if not update:
            return super().model_copy(deep=deep)
        merged = {name: getattr(self, name).model_dump() for name in type(self).model_fields}
        for group, value in nest(update).items():
            merged[group] = {**merged[group], **value} if isinstance(value, dict) else value
        return type(self)(_env_file=None, **merged)


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
    """Build Settings (overrides by the variables' flat lower-case names, or by group), turning
    a validation error into one line that names the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise config_error(exc) from exc


def config_error(exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    place = tuple(str(part) for part in first["loc"][:2])
    name = _VARIABLE.get(place) or ".".join(place) or "settings"
    message = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(f"{name}: {message}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
