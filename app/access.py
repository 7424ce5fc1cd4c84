"""Who a request acts as (`Principal`) and how PostgreSQL is told, per transaction.

A non-admin principal's transaction runs `SET LOCAL ROLE pgask_scoped` with its collections
and groups in `pgask.*` settings, all with `is_local => true`: they end with the transaction,
so a pooled connection never carries them to the next user. The row-level security policies
of migration 0004_access read them; a query that forgets a filter still gets only the rows
the principal may see. Admins and "no keys configured" run as the connecting role, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")
SCOPED_ROLE = "pgask_scoped"  # created by migration 0004_access
EVERYONE = "*"  # chunks.access of a document without groups; never a group name

_APPLY = (
    "SELECT set_config('role', %(role)s, true),"
    " set_config('pgask.all_collections', %(all)s, true),"
    " set_config('pgask.collections', %(collections)s::text[]::text, true),"
    " set_config('pgask.groups', %(groups)s::text[]::text, true)"
)


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

    def settings(self) -> dict[str, Any]:
        return {
            "role": SCOPED_ROLE,
            "all": "on" if self.collections is None else "off",
            "collections": list(self.collections or ()),
            "groups": list(self.groups),
        }


async def apply_principal(conn: psycopg.AsyncConnection[Any], principal: Principal | None) -> None:
    """At the start of a transaction: act as `principal` until it ends (no-op unscoped)."""
    if principal is not None and principal.scoped:
        await conn.execute(_APPLY, principal.settings())


def bind_principal(session: AsyncSession, principal: Principal | None) -> AsyncSession:
    """Make every transaction `session` begins act as `principal`, including those after a
    commit: a session cannot fall back to the unscoped role halfway through a request."""
    session.info["principal"] = principal
    if principal is not None and principal.scoped:
        settings = principal.settings()

        @event.listens_for(session.sync_session, "after_begin")
        def _apply(_session: Any, _transaction: Any, connection: Any) -> None:
            connection.exec_driver_sql(_APPLY, settings)

    return session


def session_principal(session: AsyncSession) -> Principal | None:
    found = session.info.get("principal")
    return found if isinstance(found, Principal) else None
