"""Who a request acts as (`Principal`) and how PostgreSQL is told, per transaction
(docs/decisions/0014-default-deny.md).

Every request connection's session role is `pgask_scoped`, whose row-level security policies
(migrations 0004_access, 0009_default_deny) match no row until a principal is set: code that
forgets its principal reads nothing. A non-admin principal's transaction sets its collections
and groups in `pgask.*` settings; an admin's switches to `pgask_admin`, whose policy lets every
row through: the named elevation. All of it with `is_local => true`, so it ends with the
transaction and a pooled connection never carries it to the next user. With no API keys
configured, requests act as `UNRESTRICTED`, an admin principal without a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")
SCOPED_ROLE = "pgask_scoped"  # created by migration 0004_access
ADMIN_ROLE = "pgask_admin"  # created by migration 0009_default_deny
EVERYONE = "*"  # chunks.access of a document without groups; never a group name

_APPLY = (
    "SELECT set_config('role', %(role)s, %(local)s),"
    " set_config('pgask.all_collections', %(all)s, %(local)s),"
    " set_config('pgask.collections', %(collections)s::text[]::text, %(local)s),"
    " set_config('pgask.groups', %(groups)s::text[]::text, %(local)s)"
)
# What a request connection goes back to: the scoped role with nothing granted.
_NOTHING: dict[str, Any] = {"role": SCOPED_ROLE, "all": "off", "collections": [], "groups": []}


@dataclass(frozen=True)
class Principal:
    """A key's rights. `collections` None means every collection."""

    name: str
    role: Role
    collections: tuple[str, ...] | None = None
    groups: tuple[str, ...] = ()

    @property
    def scoped(self) -> bool:
        """Whether row-level security narrows what it sees (every role but admin)."""
        return self.role != "admin"

    def may(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    def sees_collection(self, name: str) -> bool:
        return not self.scoped or self.collections is None or name in self.collections

    def settings(self, *, local: bool = True) -> dict[str, Any]:
        """The `pgask.*` settings and role its SQL runs with (`local`: for the transaction
        only, else for the session until `forget_principal`)."""
        if not self.scoped:
            return {**_NOTHING, "role": ADMIN_ROLE, "local": local}
        return {
            "role": SCOPED_ROLE,
            "all": "on" if self.collections is None else "off",
            "collections": list(self.collections or ()),
            "groups": list(self.groups),
            "local": local,
        }


# With no API keys configured every request acts as this admin (it has no key, so audit
# records no key name).
UNRESTRICTED = Principal("", "admin")


def key_name(principal: Principal | None) -> str | None:
    """The key a principal comes from, as the audit log records it (None: no key)."""
    return None if principal is None or principal is UNRESTRICTED else principal.name


async def apply_principal(
    conn: psycopg.AsyncConnection[Any], principal: Principal | None, *, local: bool = True
) -> None:
    """Act as `principal` until the transaction ends (`local`), or until `forget_principal`
    (a connection in autocommit mode, whose every statement is a transaction). None sets
    nothing: the connection keeps seeing no row."""
    if principal is not None:
        await conn.execute(_APPLY, principal.settings(local=local))


async def forget_principal(conn: psycopg.AsyncConnection[Any]) -> None:
    """Back to seeing no row, for the session (undoes `apply_principal(local=False)`)."""
    await conn.execute(_APPLY, {**_NOTHING, "local": False})


def bind_principal(session: AsyncSession, principal: Principal | None) -> AsyncSession:
    """Make every transaction `session` begins act as `principal`, including those after a
    commit. Without a principal it sees no row (the connection's own role is scoped)."""
    session.info["principal"] = principal
    if principal is not None:
        settings = principal.settings()

        @event.listens_for(session.sync_session, "after_begin")
        def _apply(_session: Any, transaction: Any, connection: Any) -> None:
            if not transaction.nested:  # a savepoint is inside what was already applied
                connection.exec_driver_sql(_APPLY, settings)

    return session


_OWNER = "owner"  # AsyncSession.info key of the owner's sessions (app.db.database)
_AS_OWNER = text("SELECT set_config('role', 'none', true)")


def mark_owner(session: AsyncSession) -> AsyncSession:
    session.info[_OWNER] = True
    return session


async def elevate_to_owner(session: AsyncSession) -> None:
    """Run the rest of this transaction as the tables' owner, for an admin's DDL (a
    collection's partitions and index): only an admin's session may, and only until it
    commits. An owner's session already is."""
    if session.info.get(_OWNER):
        return
    principal = session_principal(session)
    if principal is None or principal.scoped:
        raise Forbidden("only an admin key may create or drop a collection")
    await session.execute(_AS_OWNER)


def sees_every_row(session: AsyncSession) -> bool:
    """Whether the session's row-level security lets every row through (an owner's or an
    admin's session)."""
    principal = session_principal(session)
    return bool(session.info.get(_OWNER)) or (principal is not None and not principal.scoped)


def session_principal(session: AsyncSession) -> Principal | None:
    found = session.info.get("principal")
    return found if isinstance(found, Principal) else None
