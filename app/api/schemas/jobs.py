"""Schemas for /v1/jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.api.schemas.documents import ErrorItem
from app.db.models import IngestJob


class JobOut(BaseModel):
    id: uuid.UUID
    collection: str
    status: str = Field(description="queued, running, succeeded or failed")
    total: int = Field(description="Documents expected (one per file, one per JSONL line)")
    done: int = Field(description="Documents processed so far (stored, unchanged or failed)")
    failed: int
    errors: list[ErrorItem] = Field(description="Each file or document that failed, and why")
    result: dict[str, Any] = Field(description="The final counts, once finished")
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None

    @classmethod
    def from_job(cls, job: IngestJob, collection: str) -> JobOut:
        return cls(
            id=job.id,
            collection=collection,
            status=job.status,
            total=job.total,
            done=job.done,
            failed=job.failed,
            errors=[ErrorItem.model_validate(e) for e in job.errors],
            result=job.result,
            attempts=job.attempts,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            heartbeat_at=job.heartbeat_at,
        )


class JobCreated(BaseModel):
    job_id: uuid.UUID
    status: str
    location: str = Field(description="Poll this URL for progress")
    files: int
