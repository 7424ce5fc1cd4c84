"""What ingestion and jobs need from the process that runs them: the `Database`, the few
settings they read, and a callback counting finished runs (metrics). The HTTP app and the
CLI build one; ingest knows nothing of either."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.config import Settings
from app.db.database import Database
from app.observability import IngestCounts


@dataclass(frozen=True)
class IngestSettings:
    bulk_threshold: int  # documents in a first load that make it a bulk load
    maintenance_work_mem_mb: int  # for HNSW builds
    max_file_mb: int
    max_queued_jobs: int
    job_heartbeat_seconds: float
    job_stale_seconds: float
    job_max_attempts: int

    @classmethod
    def of(cls, settings: Settings) -> IngestSettings:
        return cls(
            bulk_threshold=settings.pgask_ingest_bulk_threshold,
            maintenance_work_mem_mb=settings.pgask_ingest_maintenance_work_mem_mb,
            max_file_mb=settings.pgask_ingest_max_file_mb,
            max_queued_jobs=settings.pgask_ingest_max_queued_jobs,
            job_heartbeat_seconds=settings.pgask_job_heartbeat_seconds,
            job_stale_seconds=settings.pgask_job_stale_seconds,
            job_max_attempts=settings.pgask_job_max_attempts,
        )


def _uncounted(_counts: IngestCounts) -> None:
    """Runs outside a server (CLI, tests) export no metrics."""


@dataclass(frozen=True)
class Ingestion:
    db: Database
    settings: IngestSettings
    count: Callable[[IngestCounts], None] = _uncounted  # told about every finished run

    @classmethod
    def of(
        cls, db: Database, settings: Settings, count: Callable[[IngestCounts], None] = _uncounted
    ) -> Ingestion:
        return cls(db, IngestSettings.of(settings), count)
