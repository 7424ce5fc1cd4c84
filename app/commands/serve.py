"""`pgask serve` and `pgask db upgrade`."""

from __future__ import annotations

import ipaddress
import logging
import signal
import sys
from typing import Annotated

import typer

from app.api.slow_clients import with_header_timeout
from app.commands.common import console
from app.config import Settings, get_settings
from app.db import migrate as migrations
from app.db.embedded import database_url
from app.errors import ConfigError
from app.observability import configure_logging

log = logging.getLogger("pgask")

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default PGASK_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PGASK_PORT)")] = None,
    migrate: Annotated[bool, typer.Option(help="Run `db upgrade` first")] = True,
    allow_unauthenticated: Annotated[
        bool, typer.Option(help="Allow a non-loopback address with no API keys")
    ] = False,
) -> None:
    """Run the HTTP API and web page under uvicorn."""
    import uvicorn  # only this command needs the server (and the app below)

    from app.main import create_app

    settings = get_settings()
    json_logs = settings.pgask_log_format == "json" or (
        settings.pgask_log_format == "auto" and not sys.stderr.isatty()
    )
    configure_logging(json_logs=json_logs)
    bind = host or settings.pgask_host
    _check_exposure(settings, bind, allow_unauthenticated)
    url = database_url(settings)
    if migrate and settings.pgask_auto_migrate:
        migrations.upgrade(url)
    # After its graceful shutdown uvicorn raises SIGTERM again to exit with it. With the
    # default handler that kills the process before atexit handlers run, and the embedded
    # PostgreSQL, stopped by one when its last user exits, would be left running.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    uvicorn.run(
        # The bound address, not only PGASK_HOST: /mcp's DNS-rebinding protection (Host and
        # Origin checks) is for loopback addresses only.
        create_app(settings.model_copy(update={"pgask_host": bind})),
        host=bind,
        port=port or settings.pgask_port,
        log_config=None,  # keep our logging set-up (JSON when not on a terminal)
        access_log=False,  # RequestContextMiddleware logs each request with its id
        http=with_header_timeout(settings.pgask_header_timeout_seconds),
    )


def _exit_on_signal(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


def _check_exposure(settings: Settings, host: str, allow_unauthenticated: bool) -> None:
    """Refuse to serve beyond this machine with no API keys, unless told to explicitly."""
    if settings.api_keys:
        log.info("API keys required on /v1 routes (%d configured)", len(settings.api_keys))
        return
    if _is_loopback(host):
        log.warning(
            "no API keys configured (PGASK_API_KEYS): authentication is off; listening on %s only",
            host,
        )
        return
    if not (allow_unauthenticated or settings.pgask_allow_unauthenticated):
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
    url = database_url(get_settings())
    migrations.upgrade(url, revision)
    console.print(f"database at revision {migrations.current_revision(url)}")
