"""`pgask serve` and `pgask db upgrade`."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
import socket
import sys
import tempfile
from typing import TYPE_CHECKING, Annotated

import typer

from app.api.slow_clients import with_timeouts
from app.commands.common import console
from app.config import Settings, get_settings
from app.db.embedded import database_url
from app.errors import ConfigError
from app.observability import configure_logging

if TYPE_CHECKING:  # the app (and uvicorn) are imported by the commands that serve it only
    from fastapi import FastAPI

log = logging.getLogger("pgask")

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default PGASK_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PGASK_PORT)")] = None,
    migrate: Annotated[bool, typer.Option(help="Run `db upgrade` first")] = True,
    allow_unauthenticated: Annotated[
        bool, typer.Option(help="Allow a non-loopback address with no API keys")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes sharing the port and database")
    ] = 1,
) -> None:
    """Run the HTTP API and web page under uvicorn."""
    settings = get_settings()
    _configure_logging(settings)
    bind, bind_port = host or settings.server.host, port or settings.server.port
    _check_port(bind, bind_port)
    _check_exposure(settings, bind, allow_unauthenticated)
    url = database_url(settings)
    if migrate and settings.database.auto_migrate:
        from app.db import migrate as migrations  # alembic: only the commands that migrate

        migrations.upgrade(url)
    # After its graceful shutdown uvicorn raises SIGTERM again to exit with it. With the
    # default handler that kills the process before atexit handlers run, and the embedded
    # PostgreSQL, stopped by one when its last user exits, would be left running.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if workers == 1:
        from app.main import create_app

        # The bound address, not only PGASK_HOST: /mcp's DNS-rebinding protection (Host and
        # Origin checks) is for loopback addresses only.
        app = create_app(settings.model_copy(update={"pgask_host": bind}))
        _run(app, bind, bind_port, settings)
        return
    # Workers build their Settings from the environment as they start: the bound address
    # (as above), and where each writes its metrics for GET /metrics (whichever worker
    # answers it) to sum.
    with tempfile.TemporaryDirectory(prefix="pgask-metrics-") as metrics_dir:
        os.environ["PGASK_HOST"] = bind
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        _run("app.commands.serve:worker_app", bind, bind_port, settings, workers)


def worker_app() -> FastAPI:
    """The app of one `serve --workers N` process (uvicorn starts each by this name)."""
    from app.main import create_app

    settings = get_settings()
    _configure_logging(settings)
    _timeouts(settings)  # this process's deadlines
    return create_app(settings)


def _run(app: FastAPI | str, host: str, port: int, settings: Settings, workers: int = 1) -> None:
    import uvicorn  # only this command needs the server

    uvicorn.run(
        app,
        factory=isinstance(app, str),
        workers=workers,
        host=host,
        port=port,
        log_config=None,  # keep our logging set-up (JSON when not on a terminal)
        access_log=False,  # RequestContextMiddleware logs each request with its id
        http=_timeouts(settings),
    )


def _timeouts(settings: Settings) -> type[asyncio.Protocol]:
    return with_timeouts(
        settings.server.header_timeout_seconds, settings.server.body_timeout_seconds
    )


def _configure_logging(settings: Settings) -> None:
    json_logs = settings.server.log_format == "json" or (
        settings.server.log_format == "auto" and not sys.stderr.isatty()
    )
    configure_logging(json_logs=json_logs)


def _exit_on_signal(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


def _check_port(host: str, port: int) -> None:
    """Fail at once when the port is taken: uvicorn binds only after its start-up (loading
    the model, seconds), and the migrations run before that."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind((host, port))
    except OSError as exc:
        raise ConfigError(
            f"PGASK_PORT: cannot listen on {host}:{port}: {exc.strerror or exc}; stop what "
            "uses it or choose another port (--port)"
        ) from exc


def _check_exposure(settings: Settings, host: str, allow_unauthenticated: bool) -> None:
    """Refuse to serve beyond this machine with no API keys, unless told to explicitly."""
    if settings.auth.keys:
        log.info("API keys required on /v1 routes (%d configured)", len(settings.auth.keys))
        return
    if _is_loopback(host):
        log.warning(
            "no API keys configured (PGASK_API_KEYS): authentication is off; listening on %s only",
            host,
        )
        return
    if not (allow_unauthenticated or settings.auth.allow_unauthenticated):
        raise ConfigError(
            f"PGASK_HOST: refusing to listen on {host} without API keys; set PGASK_API_KEYS, "
            "or pass --allow-unauthenticated (PGASK_ALLOW_UNAUTHENTICATED=1) to do it anyway"
        )
    log.warning(
        "no API keys configured and listening on %s: anyone who can reach this "
        "address can read and change all data",
        host,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the schema migrations (creates the vector extension and tables)."""
    from app.db import migrate as migrations  # alembic: only the commands that migrate

    url = database_url(get_settings())
    migrations.upgrade(url, revision)
    console.print(f"database at revision {migrations.current_revision(url)}")
