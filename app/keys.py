"""API keys stored in PostgreSQL: create (the secret is shown once), list, revoke, and the
lookup every request makes.

A secret is `pgask_` + 32 random bytes (URL-safe base64). Such a secret cannot be guessed, so
one SHA-256 of it is the standard storage (a slow password hash buys nothing against 256
bits of entropy and costs every request); its first characters (`prefix`) find the row and
the digests are compared in constant time. Lookups are cached for `CACHE_SECONDS`, so a
revoked or expired key stops working within that time on every server.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.access import EVERYONE, ROLES, Principal, Role
from app.auth import KEY_NAME, ApiKey, digest, find_key
from app.db.database import Database
from app.db.models import ApiKeyRow, Collection
from app.errors import Conflict, InvalidInput, NotFound, Unauthorized
from app.validation import check_text

SECRET_PREFIX = "pgask_"
PREFIX_CHARS = len(SECRET_PREFIX) + 10
CACHE_SECONDS = 2.0
CACHE_MAX_ENTRIES = 10_000
MAX_EXPIRES_DAYS = 36_500
_GROUP = re.compile(r"^[^\x00-\x1f\x7f,{}\"\\\ud800-\udfff]{1,128}$")


@dataclass(frozen=True)
class KeySpec:
    name: str
    role: str
    collections: Sequence[str] | None = None  # None: every collection
    groups: Sequence[str] = ()
    expires_in_days: float | None = None


@dataclass(frozen=True)
class KeyInfo:
    name: str
    role: Role
    collections: list[str] | None
    groups: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class CreatedKey:
    info: KeyInfo
    secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"CreatedKey(name={self.info.name!r})"


def check_groups(groups: Sequence[str], where: str = "groups") -> list[str]:
    """Group names: 1-128 characters, no control characters, commas, braces, quotes or
    backslashes (they travel as a PostgreSQL array literal), no lone surrogates (no text),
    and not `*` (EVERYONE)."""
    for group in groups:
        if not _GROUP.match(group) or group == EVERYONE:
            raise InvalidInput(
                f"{where}: group {group!r} must be 1-128 characters without control "
                "characters, commas, braces, quotes or backslashes, and not '*'"
            )
    return sorted(set(groups))


def parse_groups(raw: str, where: str) -> list[str]:
    """Comma-separated group names (a form field, a command-line option), checked."""
    return check_groups([g.strip() for g in raw.split(",") if g.strip()], where)


def _check_spec(spec: KeySpec) -> Role:
    if not KEY_NAME.match(spec.name):
        raise InvalidInput(
            f"name {spec.name!r}: 1-64 letters, digits, '.', '_' or '-' (and not empty)"
        )
    if spec.role not in ROLES:
        raise InvalidInput(f"role {spec.role!r}: must be one of {', '.join(ROLES)}")
    if spec.collections is not None and not spec.collections:
        raise InvalidInput("collections: name at least one collection, or '*' for every one")
    for name in spec.collections or ():
        check_text(name, "collections")
    if spec.expires_in_days is not None and not 0 < spec.expires_in_days <= MAX_EXPIRES_DAYS:
        raise InvalidInput(f"expires_in_days must be above 0 and at most {MAX_EXPIRES_DAYS}")
    check_groups(spec.groups)
    return ROLES[ROLES.index(spec.role)]


def _info(row: ApiKeyRow) -> KeyInfo:
    role = ROLES[ROLES.index(row.role)]
    return KeyInfo(
        row.name,
        role,
        row.collections,
        row.groups,
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.last_used_at,
    )


async def _check_collections(session: AsyncSession, names: Sequence[str]) -> list[str]:
    wanted = sorted(set(names))
    found = set(await session.scalars(select(Collection.name).where(Collection.name.in_(wanted))))
    missing = [n for n in wanted if n not in found]
    if missing:
        raise InvalidInput(f"collections: {', '.join(map(repr, missing))} do not exist")
    return wanted


async def create_key(session: AsyncSession, spec: KeySpec, actor: str | None) -> CreatedKey:
    """Store a new key and return it with its secret, which is not stored anywhere."""
    role = _check_spec(spec)
    collections = None
    if spec.collections is not None and "*" not in spec.collections:
        collections = await _check_collections(session, spec.collections)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    expires = None
    if spec.expires_in_days is not None:
        expires = datetime.now(UTC) + timedelta(days=spec.expires_in_days)
    row = ApiKeyRow(
        name=spec.name,
        prefix=secret[:PREFIX_CHARS],
        digest=digest(secret),
        role=role,
        collections=collections,
        groups=check_groups(spec.groups),
        expires_at=expires,
    )
    session.add(row)
    try:
        await session.flush()
        await audit.record(session, actor, "key.created", spec.name, role=role)
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"key {spec.name!r} already exists") from exc
    await session.commit()
    await session.refresh(row)
    return CreatedKey(_info(row), secret)


async def list_keys(session: AsyncSession) -> list[KeyInfo]:
    rows = await session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.name))
    return [_info(r) for r in rows]


async def revoke_key(session: AsyncSession, name: str, actor: str | None) -> None:
    result = await session.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiKeyRow.id)
    )
    if result.first() is None:
        await session.rollback()
        raise NotFound(f"key {name!r} does not exist or is already revoked")
    await audit.record(session, actor, "key.revoked", name)
    await session.commit()


class KeyStore:
    """Finds the principal of a presented secret: the bootstrap keys of PGASK_API_KEYS
    first, then the api_keys table, each answer cached for CACHE_SECONDS."""

    def __init__(self, db: Database, bootstrap: list[ApiKey]) -> None:
        self._db = db
        self._bootstrap = bootstrap
        self._cache: dict[bytes, tuple[float, Principal | None]] = {}
        self._configured: tuple[float, bool] = (0.0, False)

    async def configured(self) -> bool:
        """Whether requests need a key: bootstrap keys, or any key ever stored (revoking
        the last one must not open the service to everyone)."""
        if self._bootstrap:
            return True
        until, known = self._configured
        if known or time.monotonic() < until:
            return known
        async with self._db.owner_session() as session:
            known = bool(await session.scalar(select(exists().select_from(ApiKeyRow))))
        self._configured = (time.monotonic() + CACHE_SECONDS, known)
        return known

    async def authenticate(self, secret: str) -> Principal:
        """The principal of a presented secret; Unauthorized for an unknown, revoked or
        expired one."""
        principal = await self.find(secret)
        if principal is None:
            raise Unauthorized("send a valid API key as 'Authorization: Bearer <key>'")
        return principal

    async def find(self, secret: str) -> Principal | None:
        boot = find_key(self._bootstrap, secret)
        if boot is not None:
            return Principal(boot.name, boot.role)
        key = digest(secret)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        principal = await self._lookup(secret, key)
        if len(self._cache) >= CACHE_MAX_ENTRIES:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + CACHE_SECONDS, principal)
        return principal

    async def _lookup(self, secret: str, key: bytes) -> Principal | None:
        if not secret.startswith(SECRET_PREFIX) or len(secret) < PREFIX_CHARS:
            return None
        async with self._db.owner_session() as session:
            row = await session.scalar(
                select(ApiKeyRow).where(
                    ApiKeyRow.prefix == secret[:PREFIX_CHARS],
                    ApiKeyRow.revoked_at.is_(None),
                    func.coalesce(ApiKeyRow.expires_at > func.now(), True),
                )
            )
            if row is None or not hmac.compare_digest(row.digest, key):
                return None
            row.last_used_at = datetime.now(UTC)
            await session.commit()
            info = _info(row)
        collections = None if info.collections is None else tuple(info.collections)
        return Principal(info.name, info.role, collections, tuple(info.groups))
