"""Schemas for /v1/sources."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ingest.sources.service import SourceInfo, SourceSpec


class SourceCreate(BaseModel):
    name: str = Field(description="Unique: 1-64 letters, digits, '.', '_' or '-'")
    collection: str
    kind: str = Field(description="folder or git (see GET /docs: sources)")
    options: dict[str, Any] = Field(
        default_factory=dict, description='The kind\'s options, e.g. {"url": "https://..."}'
    )
    access: list[str] = Field(
        default_factory=list, description="Groups that read its documents; none: everyone"
    )
    interval_seconds: int | None = Field(
        default=None, description="Synced by workers this often (at least 60); none: on request"
    )

    def spec(self) -> SourceSpec:
        return SourceSpec(
            self.name,
            self.collection,
            self.kind,
            self.options,
            self.access,
            self.interval_seconds,
        )


class SourceOut(BaseModel):
    name: str
    collection: str
    kind: str
    options: dict[str, Any]
    access: list[str]
    interval_seconds: int | None
    next_sync_at: datetime | None
    synced_at: datetime | None = Field(description="When its last sync completed")
    cursor: dict[str, Any] = Field(description="Where the next sync starts (a git commit)")
    last_sync: dict[str, Any] = Field(
        description="What the last completed sync did: listed, read, skipped, failed, deleted"
    )
    job_id: uuid.UUID | None = Field(description="Its latest sync's job: GET /v1/jobs/{id}")
    job_status: str | None
    created_at: datetime

    @classmethod
    def of(cls, info: SourceInfo) -> SourceOut:
        return cls.model_validate(asdict(info))


class SourceList(BaseModel):
    sources: list[SourceOut]


class SyncQueued(BaseModel):
    source: str
    job_id: uuid.UUID = Field(description="GET /v1/jobs/{id} for status and progress")
