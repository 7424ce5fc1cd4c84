"""Sources as the CLI, the HTTP API (and an admin) manage them: add, list, get, remove,
sync now. Each acts as a principal: row-level security shows a source only to keys that see
its collection and hold one of its `access` groups (or any key, when it has none), and only
an admin's role may write the table (migration 0011_sources). A source the principal may
not see is NotFound, exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.access import Principal, key_name
from app.config import redact_url
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.validation import check_text
from ingest.context import Ingestion
from ingest.service import prune_documents
from ingest.sources.kinds import checked_options, kind_of
from ingest.sources.schedule import enqueue
from ingest.sources.sync import work_dir

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_INTERVAL_SECONDS = 60
MAX_INTERVAL_SECONDS = 366 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


@dataclass(frozen=True)
class SourceSpec:
    name: str
    collection: str
    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)
    access: Sequence[str] = ()
    interval_seconds: int | None = None  # None: synced on request only


@dataclass(frozen=True)
class SourceInfo:
    name: str
    collection: str
    kind: str
    options: dict[str, Any]
    access: list[str]
    interval_seconds: int | None
    next_sync_at: datetime | None
    synced_at: datetime | None  # the last sync that completed
    cursor: dict[str, Any]
    last_sync: dict[str, Any]  # what that sync did (listed, read, skipped, failed, deleted)
    job_id: uuid.UUID | None  # the latest sync's job (its status, progress and errors)
    job_status: str | None
    created_at: datetime


def parse_interval(value: str) -> int:
    """Seconds of `30m`, `6h`, `1d`, `90s` or a number of seconds."""
    found = _INTERVAL.match(value)
    if found is None:
        raise InvalidInput(f"interval: {value!r} is not a number with s, m, h or d")
    return int(found.group(1)) * _UNITS[found.group(2) or "s"]


def check_spec(spec: SourceSpec) -> SourceSpec:
    """The spec with its options validated (and defaults filled in), or InvalidInput naming
    the first bad field. The kind's add-time check (a folder exists, a repository answers)
    is `checked_options`'s."""
    if not NAME.match(spec.name):
        raise InvalidInput(
            f"name: {spec.name!r} must be 1-64 letters, digits, '.', '_' or '-', starting"
            " with a letter or digit"
        )
    kind_of(spec.kind)
    seconds = spec.interval_seconds
    if seconds is not None and not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
        raise InvalidInput(f"interval: {seconds} s; between {MIN_INTERVAL_SECONDS} s and 366 days")
    for group in spec.access:
        check_text(group, "access", most=200)
        if not group or group == "*":
            raise InvalidInput(f"access: {group!r} is not a group name")
    return spec


async def add_source(
    ingestion: Ingestion, principal: Principal | None, spec: SourceSpec
) -> SourceInfo:
    check_spec(spec)
    _admin(principal, "add")
    options = await asyncio.to_thread(checked_options, spec.kind, spec.options)
    async with ingestion.db.session(principal) as session:
        collection_id = await session.scalar(
            text("SELECT id FROM collections WHERE name = :name"), {"name": spec.collection}
        )
        if collection_id is None:
            raise NotFound(f"collection {spec.collection!r} does not exist")
        try:
            await session.execute(
                text(_INSERT),
                {
                    "collection_id": collection_id,
                    "name": spec.name,
                    "kind": spec.kind,
                    "options": Jsonb(options),
                    "access": sorted(set(spec.access)),
                    "interval": spec.interval_seconds,
                },
            )
        except IntegrityError as exc:
            raise Conflict(f"source {spec.name!r} already exists") from exc
        await audit.record(session, key_name(principal), "source.added", spec.name, kind=spec.kind)
        await session.commit()
        return await _get(session, spec.name)


_INSERT = """
INSERT INTO sources (collection_id, name, kind, options, access, interval_seconds, next_sync_at)
VALUES (:collection_id, :name, :kind, :options, :access, :interval,
        CASE WHEN CAST(:interval AS integer) IS NULL THEN NULL ELSE now() END)
"""
_SELECT = """
SELECT s.name, c.name, s.kind, s.options, s.access, s.interval_seconds, s.next_sync_at,
       s.synced_at, s.cursor, s.last_sync, s.job_id, j.status, s.created_at
FROM sources s JOIN collections c ON c.id = s.collection_id
LEFT JOIN ingest_jobs j ON j.id = s.job_id
"""


async def list_sources(ingestion: Ingestion, principal: Principal | None) -> list[SourceInfo]:
    async with ingestion.db.session(principal) as session:
        rows = await session.execute(text(_SELECT + " ORDER BY s.name"))
        return [_info(row) for row in rows]


async def get_source(ingestion: Ingestion, principal: Principal | None, name: str) -> SourceInfo:
    async with ingestion.db.session(principal) as session:
        return await _get(session, name)


async def _get(session: AsyncSession, name: str) -> SourceInfo:
    row = (await session.execute(text(_SELECT + " WHERE s.name = :name"), {"name": name})).first()
    if row is None:
        raise NotFound(f"source {name!r} does not exist")
    return _info(row)


def _info(row: Sequence[Any]) -> SourceInfo:
    """A source as it is shown: a password in a URL option reads `***` (every key that sees
    the source sees its options; a credential helper keeps it out of pgask altogether)."""
    info = SourceInfo(*row)
    shown = {k: redact_url(v) if isinstance(v, str) else v for k, v in info.options.items()}
    return replace(info, options=shown)


async def sync_now(ingestion: Ingestion, principal: Principal | None, name: str) -> uuid.UUID:
    """Queue a sync of the source (the one queued or running, if any); its job's id."""
    source_id = await _visible_id(ingestion, principal, name)
    if principal is None or not principal.may("write"):
        raise Forbidden("syncing a source needs a write or admin key")
    async with ingestion.db.owner_connection(autocommit=True) as conn:
        job = await enqueue(conn, source_id)
    if job is None:
        raise NotFound(f"source {name!r} does not exist")
    return job


async def sync_all(ingestion: Ingestion, principal: Principal | None) -> dict[str, uuid.UUID]:
    """Queue a sync of every source the principal sees: source name -> job id."""
    return {
        s.name: await sync_now(ingestion, principal, s.name)
        for s in await list_sources(ingestion, principal)
    }


async def remove_source(
    ingestion: Ingestion, principal: Principal | None, name: str, *, keep_documents: bool = False
) -> int:
    """Remove the source, its queued sync and (unless `keep_documents`) the documents its
    items became; how many documents were deleted."""
    _admin(principal, "remove")
    source_id = await _visible_id(ingestion, principal, name)
    async with ingestion.db.owner_connection(autocommit=True) as conn:
        async with conn.transaction():
            found = await (
                await conn.execute(
                    "SELECT collection_id, ARRAY(SELECT key FROM source_items WHERE source_id = id)"
                    " FROM sources WHERE id = %s FOR UPDATE",
                    (source_id,),
                )
            ).fetchone()
            if found is None:
                raise NotFound(f"source {name!r} does not exist")
            await conn.execute(
                "DELETE FROM ingest_jobs"
                " WHERE status = 'queued' AND (params ->> 'source')::int = %s",
                (source_id,),
            )
            await conn.execute("DELETE FROM sources WHERE id = %s", (source_id,))
        deleted = 0
        if not keep_documents:
            collection_id, keys = found
            documents = [f"{name}/{key}" for key in keys]
            deleted = await prune_documents(
                conn, collection_id, documents, seen=set(), keep_sources=set()
            )
    async with ingestion.db.session(principal) as session:
        await audit.record(session, key_name(principal), "source.removed", name, documents=deleted)
        await session.commit()
    await asyncio.to_thread(shutil.rmtree, work_dir(ingestion, source_id), True)
    return deleted


async def _visible_id(ingestion: Ingestion, principal: Principal | None, name: str) -> int:
    async with ingestion.db.session(principal) as session:
        found = await session.scalar(
            text("SELECT id FROM sources WHERE name = :name"), {"name": name}
        )
    if found is None:
        raise NotFound(f"source {name!r} does not exist")
    return int(found)


def _admin(principal: Principal | None, action: str) -> None:
    if principal is None or principal.scoped:
        raise Forbidden(f"only an admin key may {action} a source")
