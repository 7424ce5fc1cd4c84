"""GET /metrics in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.deps import DatabaseDep, MetricsDep, SettingsDep
from app.status import exposition

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics(db: DatabaseDep, metrics: MetricsDep, settings: SettingsDep) -> Response:
    body = await exposition(db, metrics, settings.prometheus_multiproc_dir)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
