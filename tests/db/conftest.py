"""Fixtures for the database tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql as pgsql
from sqlalchemy.engine import make_url


@pytest.fixture
def scratch_db(pg_dsn: str) -> Iterator[str]:
    """An empty database on the test server, for running migrations both ways."""
    name = f"pgask_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    url = make_url(pg_dsn.replace("postgresql://", "postgresql+psycopg://")).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(name)))
