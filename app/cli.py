"""The `pgask` command line. Every command prints one clear line and exits non-zero on error;
`--json` prints one JSON object instead of a table."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from app.config import Settings, get_settings
from app.errors import ConfigError, PgaskError
from app.observability import configure_logging

T = TypeVar("T")
log = logging.getLogger("pgask")

app = typer.Typer(
    name="pgask",
    help="Retrieval-augmented question answering on PostgreSQL + pgvector.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def run_async(factory: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine that needs settings, from a synchronous typer command."""
    return asyncio.run(factory(get_settings()))


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, default=str) + "\n")


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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default PGASK_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PGASK_PORT)")] = None,
    migrate: Annotated[bool, typer.Option(help="Run `db upgrade` first")] = True,
    allow_unauthenticated: Annotated[
        bool, typer.Option(help="Allow a non-loopback address with no API keys")
    ] = False,
) -> None:
    """Run the HTTP API and web page under uvicorn."""
    import uvicorn

    from app.db import migrate as migrations
    from app.db.embedded import database_url
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
        create_app(settings),
        host=bind,
        port=port or settings.pgask_port,
        log_config=None,  # keep our logging set-up (JSON when not on a terminal)
        access_log=False,  # RequestContextMiddleware logs each request with its id
    )


def _exit_on_signal(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the schema migrations (creates the vector extension and tables)."""
    from app.db import migrate as migrations
    from app.db.embedded import database_url

    url = database_url(get_settings())
    migrations.upgrade(url, revision)
    console.print(f"database at revision {migrations.current_revision(url)}")


@app.command("collections")
def collections_cmd(as_json: JsonOption = False) -> None:
    """List collections with their embedding model and sizes."""
    from app.collections import list_collections
    from app.services import Services

    async def fetch(settings: Settings) -> list[dict[str, Any]]:
        services = await Services.start(settings, load_embedder=False)
        try:
            async with services.session(await services.cli_principal()) as session:
                stats = await list_collections(session)
        finally:
            await services.close()
        return [
            {
                "name": s.collection.name,
                "provider": s.collection.embedding_provider,
                "model": s.collection.embedding_model,
                "dimensions": s.collection.embedding_dimensions,
                "documents": s.document_count,
                "chunks": s.chunk_count,
            }
            for s in stats
        ]

    rows = run_async(fetch)
    if as_json:
        print_json({"collections": rows})
        return
    table = Table("name", "provider", "model", "dims", "documents", "chunks")
    for row in rows:
        table.add_row(
            *(
                str(row[k])
                for k in ("name", "provider", "model", "dimensions", "documents", "chunks")
            )
        )
    console.print(table)


def main() -> None:
    configure_logging(json_logs=False)  # `serve` switches to JSON when not on a terminal
    try:
        app()
    except PgaskError as exc:
        # One plain line (rich would wrap it at the terminal width).
        sys.stderr.write(f"pgask: error: {exc}\n")
        sys.exit(2 if exc.status == 500 else 1)
    except KeyboardInterrupt:
        sys.exit(130)


from app.commands import ask as _ask_commands  # noqa: E402, F401
from app.commands import ingest as _ingest_commands  # noqa: E402, F401  (registers commands)
from app.commands import keys as _keys_commands  # noqa: E402,F401
from app.commands import search as _search_commands  # noqa: E402,F401
