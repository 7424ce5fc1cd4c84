"""Run Alembic migrations from code (`pgask db upgrade`, and `pgask serve` at start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

import migrations
from app.errors import ConfigError

MIGRATIONS_DIR = Path(migrations.__file__).parent
# Partitioned tables cannot return xmax, so the document upsert tells inserts from updates
# with RETURNING old.* (ingest/writer.py), new in PostgreSQL 18.
MIN_SERVER_VERSION = 180000


def alembic_config(url: URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' must be doubled for ConfigParser interpolation (passwords may contain it).
    rendered = url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", rendered)
    return config


def upgrade(url: URL, revision: str = "head") -> None:
    check_server_version(server_version(url))
    command.upgrade(alembic_config(url), revision)


def server_version(url: URL) -> int:
    """`server_version_num`, e.g. 180001 for 18.1."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SHOW server_version_num")).scalar_one())
    finally:
        engine.dispose()


def check_server_version(version_num: int) -> None:
    if version_num < MIN_SERVER_VERSION:
        major, minor = divmod(version_num, 10000)
        raise ConfigError(
            f"pgask needs PostgreSQL {MIN_SERVER_VERSION // 10000} or newer; the server at "
            f"DATABASE_URL runs {major}.{minor}"
        )


def head_revision(url: URL) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(url: URL) -> str | None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
