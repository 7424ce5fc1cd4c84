"""Schemas for /v1/jobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.api.schemas.attributes import read_through
from app.api.schemas.documents import ErrorItem
from app.db.models import IngestJob


@dataclass(frozen=True)
class JobInCollection:
    """What `JobOut` is validated from: the job row holds only its collection's id."""

    job: IngestJob
    collection: str


class JobOut(BaseModel):
    model_config = read_through("job")

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


class JobCreated(BaseModel):
    job_id: uuid.UUID
    status: str
    location: str = Field(description="Poll this URL for progress")
    files: int
