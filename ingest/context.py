"""What ingestion and jobs need from the process that runs them: the `Database`, their
settings groups, and a callback counting finished runs (metrics). The HTTP app and the CLI
build one; ingest knows nothing of either."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.config import IngestionSettings, JobSettings, Settings
from app.db.database import Database
from app.observability import IngestCounts


def _uncounted(_counts: IngestCounts) -> None:
    """Runs outside a server (CLI, tests) export no metrics."""


@dataclass(frozen=True)
class Ingestion:
    db: Database
    settings: IngestionSettings
    jobs: JobSettings
    count: Callable[[IngestCounts], None] = _uncounted  # told about every finished run
    data_dir: Path | None = None  # where sources keep their working copies (git clones)

    @classmethod
    def of(
        cls, db: Database, settings: Settings, count: Callable[[IngestCounts], None] = _uncounted
    ) -> Ingestion:
        return cls(db, settings.ingestion, settings.jobs, count, settings.database.data_dir)
