"""GET /metrics in the Prometheus text format."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from app.api.deps import ServicesDep

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

_JOB_COUNTS = text(
    "SELECT count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'running')"
    " FROM ingest_jobs WHERE status IN ('queued', 'running')"
)


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    try:
        async with services.db.engine.connect() as conn:
            queued, running = (await conn.execute(_JOB_COUNTS)).one()
        services.metrics.jobs_queued.set(queued)
        services.metrics.jobs_running.set(running)
    except Exception as exc:  # the other metrics are still worth serving without the DB
        log.warning("job queue depth unavailable: %s", exc)
    body = services.metrics.exposition(services.settings.prometheus_multiproc_dir)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
