"""What ingestion and jobs need from the process that runs them: the `Database`, the few
settings they read, and a callback counting finished runs (metrics). The HTTP app and the
CLI build one; ingest knows nothing of either."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from app.config import Settings
from app.db.database import Database
from app.observability import IngestCounts


@dataclass(frozen=True)
class IngestSettings:
    """The settings ingestion reads, named as in `Settings` (and the environment)."""

    pgask_ingest_bulk_threshold: int  # documents in a first load that make it a bulk load
    pgask_ingest_maintenance_work_mem_mb: int  # for HNSW builds
    pgask_ingest_max_file_mb: int
    pgask_ingest_max_batch_documents: int  # documents in one synchronous API request
    pgask_ingest_max_queued_jobs: int
    pgask_ingest_file_timeout_seconds: float
    pgask_ingest_file_max_memory_mb: int
    pgask_ingest_parse_workers: int
    pgask_job_heartbeat_seconds: float
    pgask_job_stale_seconds: float
    pgask_job_max_attempts: int

    @classmethod
    def of(cls, settings: Settings) -> IngestSettings:
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})


def _uncounted(_counts: IngestCounts) -> None:
    """Runs outside a server (CLI, tests) export no metrics."""


@dataclass(frozen=True)
class Ingestion:
    db: Database
    settings: IngestSettings
    count: Callable[[IngestCounts], None] = _uncounted  # told about every finished run
    data_dir: Path | None = None  # where sources keep their working copies (git clones)

    @classmethod
    def of(
        cls, db: Database, settings: Settings, count: Callable[[IngestCounts], None] = _uncounted
    ) -> Ingestion:
        return cls(db, IngestSettings.of(settings), count, settings.data_dir)
