"""GET /healthz (the process is up) and GET /readyz (it can do its job)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.deps import ReadinessDep
from app.api.problems import PROBLEM_RESPONSES, problem_response

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
async def readyz(request: Request, ready: ReadinessDep) -> Ready | JSONResponse:
    if ready.problems:
        return problem_response(
            request.url.path,
            status=503,
            type_="urn:pgask:not-ready",
            title="Not ready",
            detail="; ".join(ready.problems),
            problems=ready.problems,
        )
    return Ready(
        status="ready",
        database="ok",
        migration=str(ready.migration),
        embedding=ready.embedding,
        replicas=[
            ReplicaReady(**asdict(r.status), serving_reads=r.serving_reads) for r in ready.replicas
        ],
    )
