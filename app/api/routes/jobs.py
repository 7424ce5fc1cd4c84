"""GET /v1/jobs/{id}: an ingest job's status and progress."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.api.deps import IngestionDep, PrincipalDep
from app.api.problems import PROBLEM_RESPONSES
from app.api.schemas.jobs import JobInCollection, JobOut
from ingest.job_queue import get_job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=PROBLEM_RESPONSES)


@router.get("/{job_id}", response_model=JobOut)
async def read_job(job_id: uuid.UUID, ingestion: IngestionDep, principal: PrincipalDep) -> JobOut:
    """Status (queued, running, succeeded, failed), counts done/total/failed and per-file
    errors; updated while the job runs."""
    job, collection = await get_job(ingestion, job_id, principal)
    return JobOut.model_validate(JobInCollection(job, collection))
