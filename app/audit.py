"""The audit log of administrative actions: key created/revoked, collection created/deleted,
document deleted, each with the acting key's name and the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import AuditEvent

MAX_EVENTS = 1000


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    key_name: str | None
    action: str
    target: str
    detail: dict[str, Any]


async def record(
    session: AsyncSession,
    actor: str | None,
    action: str,
    target: str,
    **detail: Any,
) -> None:
    """Insert the event in the session's transaction: it is stored exactly when the action
    is. A plain INSERT (no RETURNING): write keys' role may add events, not read them."""
    await session.execute(
        insert(AuditEvent).values(key_name=actor, action=action, target=target, detail=detail)
    )


async def recent(session: AsyncSession, limit: int = 100) -> list[AuditEntry]:
    rows = await session.scalars(
        select(AuditEvent).order_by(AuditEvent.id.desc()).limit(min(limit, MAX_EVENTS))
    )
    return [AuditEntry(r.at, r.key_name, r.action, r.target, r.detail) for r in rows]
