"""`pgask keys create|list|revoke` and `pgask audit`: key administration straight on the
database (whoever reaches the database is its administrator)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import key_name
from app.audit import recent
from app.commands.common import JsonOption, console, print_json, run_async, started
from app.config import Settings
from app.errors import Forbidden
from app.keys import KeySpec, create_key, list_keys, revoke_key

T = TypeVar("T")
keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)


def _with_session(work: Callable[[AsyncSession, str | None], Awaitable[T]]) -> T:
    """Run `work(session, actor)` as the tables' owner, for PGASK_API_KEY's principal if it is
    an admin (or no key is set); the actor is that key's name."""

    async def run(settings: Settings) -> T:
        async with started(settings, embedder=False, migrated=True) as services:
            principal = await services.acting_principal()
            if principal.scoped:
                raise Forbidden(
                    f"key {principal.name!r} has role {principal.role}; keys need admin"
                )
            async with services.db.owner_session() as session:
                return await work(session, key_name(principal))

    return run_async(run)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Unique key name")],
    role: Annotated[str, typer.Option(help="read, write or admin")],
    collection: Annotated[
        list[str] | None, typer.Option("--collection", help="May use this collection (repeat)")
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", help="Reads documents of this group (repeat)")
    ] = None,
    expires_in: Annotated[
        float | None, typer.Option("--expires-in", help="Days until it expires")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print its secret: shown this once, stored nowhere."""
    spec = KeySpec(name, role, collection or None, group or [], expires_in)
    created = _with_session(lambda session, actor: create_key(session, spec, actor))
    if as_json:
        print_json({**asdict(created.info), "key": created.secret})
        return
    console.print(f"key {name!r} ({role}) created; its secret, shown only now:")
    console.print(created.secret, soft_wrap=True, highlight=False)


@keys_app.command("list")
def list_cmd(as_json: JsonOption = False) -> None:
    """List keys (never their secrets)."""
    infos = _with_session(lambda session, _actor: list_keys(session))
    if as_json:
        print_json({"keys": [asdict(i) for i in infos]})
        return
    table = Table("name", "role", "collections", "groups", "expires", "revoked", "last used")
    for i in infos:
        table.add_row(
            i.name,
            i.role,
            "*" if i.collections is None else ",".join(i.collections),
            ",".join(i.groups),
            *(str(t or "") for t in (i.expires_at, i.revoked_at, i.last_used_at)),
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The key's name")]) -> None:
    """Revoke a key: every server refuses it within 2 seconds."""
    _with_session(lambda session, actor: revoke_key(session, name, actor))
    console.print(f"key {name!r} revoked")


def audit_cmd(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many events")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The latest administrative actions, newest first."""
    events = _with_session(lambda session, _actor: recent(session, limit))
    if as_json:
        print_json({"events": [asdict(e) for e in events]})
        return
    table = Table("at", "key", "action", "target")
    for e in events:
        table.add_row(str(e.at), e.key_name or "-", e.action, e.target)
    console.print(table)
