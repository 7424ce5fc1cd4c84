"""GET /v1/jobs/{id}: an ingest job's status and progress."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.api.deps import PrincipalDep, ServicesDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.schemas.jobs import JobOut
from ingest.jobs import get_job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=PROBLEM_RESPONSES)


@router.get("/{job_id}", response_model=JobOut)
async def read_job(job_id: uuid.UUID, services: ServicesDep, principal: PrincipalDep) -> JobOut:
    """Status (queued, running, succeeded, failed), counts done/total/failed and per-file
    errors; updated while the job runs."""
    job, collection = await get_job(services, job_id, principal)
    return JobOut.from_job(job, collection)
