"""GET /healthz (the process is up) and GET /readyz (it can do its job)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.deps import ServicesDep
from app.api.problems import PROBLEM_RESPONSES, problem_response
from app.db.migrate import head_revision
from app.db.replicas import Replicas
from app.errors import first_line

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class ReplicaReady(BaseModel):
    """A read replica as last checked; one that is down or behind only costs the primary
    its reads, so it never makes the service unready."""

    name: str
    url: str
    reachable: bool
    in_recovery: bool | None
    lag_seconds: float | None
    serving_reads: bool
    error: str | None


class Ready(BaseModel):
    status: str
    database: str
    migration: str
    embedding: str
    replicas: list[ReplicaReady] = []


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses={503: PROBLEM_RESPONSES[503]})
async def readyz(request: Request, services: ServicesDep) -> Ready | JSONResponse:
    problems: list[str] = []
    current = None
    try:
        async with asyncio.timeout(5):
            current = await services.db.revision()
    except Exception as exc:  # any failure here means "not ready", with the reason
        problems.append(f"database: {type(exc).__name__}: {first_line(exc, 200)}")
    if services.keeper is not None and services.keeper.gave_up:
        problems.append(f"database: {services.keeper.gave_up}")
    head = head_revision(services.db.url)
    if not problems and current != head:
        problems.append(f"migrations: at {current}, head is {head}; run `pgask db upgrade`")
    if services.embedder_error:
        problems.append(f"embedding: {services.embedder_error}")
    if problems:
        return problem_response(
            request.url.path,
            status=503,
            type_="urn:pgask:not-ready",
            title="Not ready",
            detail="; ".join(problems),
            problems=problems,
        )
    embedder = services.embedder
    return Ready(
        status="ready",
        database="ok",
        migration=str(current),
        embedding=f"{embedder.provider} {embedder.model} ({embedder.dimensions} dims)",
        replicas=await _replicas(services.db.replicas),
    )


async def _replicas(replicas: Replicas) -> list[ReplicaReady]:
    return [
        ReplicaReady(**asdict(status), serving_reads=status.usable(replicas.max_lag))
        for status in await replicas.statuses()
    ]
