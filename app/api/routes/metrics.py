"""GET /metrics in the Prometheus text format."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.deps import ServicesDep
from ingest.job_queue import queue_depth

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    try:
        queued, running = await queue_depth(services.db)
        services.metrics.jobs_queued.set(queued)
        services.metrics.jobs_running.set(running)
    except Exception as exc:  # the other metrics are still worth serving without the DB
        log.warning("job queue depth unavailable: %s", exc)
    body = services.metrics.exposition(services.settings.prometheus_multiproc_dir)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
