"""Alembic environment: runs against the URL pgask resolves (embedded server or DATABASE_URL).

`app.db.migrate` passes the URL in the Alembic config; running plain `alembic` from the repo
root resolves it from the settings in the same way. An advisory lock serialises concurrent
upgrades from several pgask processes starting at once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from app.db.models import Base
from app.db.schema import include_object

# Any constant shared by all pgask processes; only serialises migrations.
MIGRATION_LOCK_KEY = 7_368_421_001

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from app.config import get_settings
    from app.db.embedded import database_url

    return database_url(get_settings()).render_as_string(hide_password=False)


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                include_object=include_object,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            connection.commit()
    engine.dispose()


run_migrations_online()
