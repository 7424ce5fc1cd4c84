"""pgask on "your own PostgreSQL", where the application's role is no superuser (a managed
server gives none): an administrator creates the extension and the two roles and grants
them (docs/security.md), the application's role migrates and owns the tables, and default
deny holds for it exactly as on the embedded server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from app.access import UNRESTRICTED, Principal
from app.catalog import create_collection
from app.config import Settings
from app.db import migrate
from app.db.database import Database
from tests.conftest import MINILM

pytestmark = pytest.mark.anyio


@pytest.fixture
def owner_url(pg_dsn: str, db_url: str) -> Iterator[URL]:
    """A database owned by a plain login role (no superuser, no CREATEROLE, no BYPASSRLS),
    prepared as docs/security.md tells an administrator to."""
    name = f"own_{uuid.uuid4().hex[:8]}"
    role, database = sql.Identifier(name), sql.Identifier(name)
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS").format(role)
        )
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(database, role))
        admin.execute(sql.SQL("GRANT pgask_scoped, pgask_admin TO {}").format(role))
    with psycopg.connect(make_conninfo(pg_dsn, dbname=name), autocommit=True) as db:
        db.execute("CREATE EXTENSION vector")
    yield make_url(db_url).set(database=name, username=name)
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(database))
        admin.execute(sql.SQL("DROP ROLE {}").format(role))


async def test_default_deny_with_an_application_role_that_is_no_superuser(
    owner_url: URL, settings: Settings
) -> None:
    migrate.upgrade(owner_url)
    db = Database(owner_url, settings)
    try:
        async with db.owner_session() as session:
            is_super = await session.scalar(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            )
            assert is_super is False
            collection = await create_collection(session, MINILM, name="own")
            await session.execute(
                text(
                    "INSERT INTO documents (collection_id, external_id, content_hash, access)"
                    " VALUES (:c, 'open', 'h', '{}'), (:c, 'team', 'h', '{team}')"
                ),
                {"c": collection.id},
            )
            await session.commit()
        async with db.session(None) as session:
            for table in ("collections", "documents"):
                assert await session.scalar(text(f"SELECT count(*) FROM {table}")) == 0
        seen = {}
        for principal in (
            UNRESTRICTED,
            Principal("t", "read", None, ("team",)),
            Principal("o", "read"),
        ):
            async with db.session(principal) as session:
                seen[principal.name] = set(
                    await session.scalars(text("SELECT external_id FROM documents"))
                )
        assert seen == {"": {"open", "team"}, "t": {"open", "team"}, "o": {"open"}}
        async with db.session(UNRESTRICTED) as session:  # an admin's DDL, through the elevation
            await create_collection(session, MINILM, name="own-2")
    finally:
        await db.dispose()
