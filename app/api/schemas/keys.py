"""Schemas for /v1/keys and /v1/audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.audit import AuditEntry
from app.keys import KeyInfo, KeySpec


class KeyCreate(BaseModel):
    name: str = Field(description="Unique: 1-64 letters, digits, '.', '_' or '-'")
    role: str = Field(description="read, write or admin")
    collections: list[str] | None = Field(
        default=None, description="Collection names, or ['*'] / null for every collection"
    )
    groups: list[str] = Field(default_factory=list, description="Document access groups")
    expires_in_days: float | None = Field(default=None, description="None: never expires")

    def spec(self) -> KeySpec:
        return KeySpec(self.name, self.role, self.collections, self.groups, self.expires_in_days)


class KeyOut(BaseModel):
    name: str
    role: str
    collections: list[str] = Field(description="Collection names, or ['*'] for every one")
    groups: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, info: KeyInfo) -> KeyOut:
        return cls.model_validate(
            vars(info)
            | {"collections": info.collections if info.collections is not None else ["*"]}
        )


class KeyCreated(KeyOut):
    key: str = Field(description="The secret: shown this once, stored nowhere")


class KeyList(BaseModel):
    keys: list[KeyOut]


class AuditOut(BaseModel):
    at: datetime
    key_name: str | None
    action: str
    target: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls.model_validate(vars(entry))


class AuditList(BaseModel):
    events: list[AuditOut]
