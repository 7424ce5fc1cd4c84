"""What the operator's endpoints report: whether this process can do its job (/readyz)
and its metrics (/metrics). The routes only shape these answers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from app.db.database import Database
from app.db.keeper import Keeper
from app.db.migrate import head_revision
from app.db.replicas import ReplicaStatus
from app.embeddings import Embedder
from app.errors import first_line
from app.observability import Metrics
from ingest.job_queue import queue_depth

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 5  # a database that answers slower than this is not ready


@dataclass(frozen=True)
class ReplicaReadiness:
    status: ReplicaStatus
    serving_reads: bool


@dataclass(frozen=True)
class Readiness:
    """`problems` empty: ready; else each says what is wrong, with its reason."""

    problems: list[str]
    migration: str | None = None
    embedding: str = ""  # "provider model (n dims)"
    replicas: list[ReplicaReadiness] = field(default_factory=list)


async def readiness(
    db: Database, keeper: Keeper | None, embedder: Embedder | None, embedder_error: str | None
) -> Readiness:
    """The database answers, within READY_TIMEOUT_SECONDS, at the migrations' head, and the
    embedder loaded. A replica that is down or behind only costs the primary its reads, so
    it never makes the service unready."""
    problems: list[str] = []
    current = None
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            current = await db.revision()
    except Exception as exc:  # any failure here means "not ready", with the reason
        problems.append(f"database: {type(exc).__name__}: {first_line(exc, 200)}")
    if keeper is not None and keeper.gave_up:
        problems.append(f"database: {keeper.gave_up}")
    head = head_revision(db.url)
    if not problems and current != head:
        problems.append(f"migrations: at {current}, head is {head}; run `pgask db upgrade`")
    if embedder_error or embedder is None:
        problems.append(f"embedding: {embedder_error}")
    if problems or embedder is None:
        return Readiness(problems)
    replicas = db.replicas
    return Readiness(
        [],
        migration=str(current),
        embedding=f"{embedder.provider} {embedder.model} ({embedder.dimensions} dims)",
        replicas=[
            ReplicaReadiness(status, status.usable(replicas.max_lag))
            for status in await replicas.statuses()
        ],
    )


async def exposition(db: Database, metrics: Metrics, multiprocess_dir: Path | None) -> bytes:
    """The Prometheus text, the job queue's depth counted now (the other metrics are still
    worth serving when the database is not there)."""
    try:
        queued, running = await queue_depth(db)
        metrics.jobs_queued.set(queued)
        metrics.jobs_running.set(running)
    except Exception as exc:
        log.warning("job queue depth unavailable: %s", exc)
    return metrics.exposition(multiprocess_dir)
