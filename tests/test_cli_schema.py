"""The CLI on a database whose schema is missing or behind: one line that says to migrate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from app.db import migrate
from tests.cli import env_without_pgask_settings, pgask


@pytest.fixture(params=[None, "0002"], ids=["empty", "at-0002"])
def behind_url(request: pytest.FixtureRequest, pg_dsn: str, db_url: str) -> Iterator[str]:
    """A new database on the test server, not migrated or migrated to an old revision."""
    name = f"pgask_behind_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(db_url).set(database=name)
    if request.param is not None:
        migrate.upgrade(url, request.param)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_collections_on_an_unmigrated_database_is_one_error_line(behind_url: str) -> None:
    done = pgask(["collections"], env_without_pgask_settings(DATABASE_URL=behind_url))
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    # (an empty database also logs a warning first: no pgvector type to register yet)
    error = done.stderr.splitlines()[-1]
    assert error.startswith("pgask: error: the database schema is not up to date"), error
    assert "run `pgask db upgrade`" in error and "this pgask needs" in error
