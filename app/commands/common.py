"""What every command shares: the console, `--json` and its printer, running a coroutine
with the settings, and `started`, the one place a command builds (and closes) its
long-lived things."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, TypeVar

import typer
from psycopg import errors as pg
from rich.console import Console
from sqlalchemy.exc import DBAPIError

from app.config import Settings, get_settings
from app.db.embedded import EmbeddedServer, database_url
from app.db.keeper import postmaster_death, postmaster_died
from app.errors import ServiceUnavailable
from app.services import Services

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)  # progress and notices; stdout has the result
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
CollectionOption = Annotated[str, typer.Option("--collection", "-c", help="Collection name")]


class Interrupted(typer.Exit):
    """SIGINT or SIGTERM stopped the command; it exits 130, as a shell reports Ctrl-C."""

    def __init__(self) -> None:
        super().__init__(130)


def run_async(factory: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine that needs settings, from a synchronous typer command. SIGTERM
    cancels it as SIGINT does (asyncio.run's own handler), so its `finally` blocks run: the
    embedded PostgreSQL is stopped when this was its last user, parse workers are killed."""

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None
        if threading.current_thread() is threading.main_thread():  # the only one signals reach
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await factory(get_settings())

    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        raise Interrupted() from exc


async def unless_database_dies(settings: Settings, work: Awaitable[T]) -> T:
    """`work`'s result; with the embedded server, it is cancelled as soon as the server's
    postmaster dies, and ServiceUnavailable says so (rather than the next write failing
    after the batch being embedded, and the pool's reconnection errors after it)."""
    task = asyncio.ensure_future(work)  # at once: a stop now still ends (awaits) `work`
    watch: asyncio.Task[None] | None = None
    try:
        server = await asyncio.to_thread(EmbeddedServer.of, settings)
        waiting: set[asyncio.Future[Any]] = {task}
        if server is not None:
            watch = asyncio.create_task(postmaster_death(server))
            waiting.add(watch)
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if watch is not None:
            if watch.done() and not watch.cancelled():
                # Cancelling a running query sends the server a cancel request, which
                # psycopg logs a warning about when, as now, no server is there to take it.
                logging.getLogger("psycopg").setLevel(logging.ERROR)
            watch.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    failed = task.cancelled() or isinstance(task.exception(), ServiceUnavailable)
    # The watch saw the postmaster die, or a write failed first: say why.
    if server is not None and failed and await postmaster_died(server):
        raise _died(server) from None if task.cancelled() else task.exception()
    return task.result()


def _died(server: EmbeddedServer) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"the embedded PostgreSQL (pid {server.pid}) died; see {server.log_file}"
    )


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, default=str) + "\n")


@asynccontextmanager
async def started(
    settings: Settings, *, embedder: bool = True, migrated: bool = False, key: bool = False
) -> AsyncIterator[Services]:
    """Services for one command, closed when it ends. `embedder`: load it (saying so on
    stderr: seconds, for the local model), and fail with the reason when it cannot be; only
    commands that embed ask for it. `migrated`: apply the migrations first (when
    PGASK_AUTO_MIGRATE allows), for commands that write. `key`: PGASK_API_KEY must name a
    valid key whenever keys are configured (`pgask mcp`)."""
    if migrated and settings.pgask_auto_migrate:
        from app.db import migrate  # alembic: a few hundred ms, for writing commands only

        logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per step otherwise
        url = await asyncio.to_thread(database_url, settings)
        await asyncio.to_thread(migrate.upgrade, url)
    services = await Services.start(settings, load_embedder=False)
    try:
        # A bad PGASK_API_KEY is the command's one error line, before seconds of model load.
        await services.acting_principal(required=key)
        if embedder:
            with loading(f"loading embedding model {settings.embedding_model} ..."):
                await services.load_embedder(required=True)
        yield services
    except Exception as exc:
        if _undefined(exc) and (behind := await asyncio.to_thread(_schema_behind, services)):
            raise ServiceUnavailable(behind) from exc
        raise  # a table or column missing from a migrated schema is a bug: traceback
    finally:
        await services.close()


def _undefined(exc: BaseException) -> bool:
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    return isinstance(cause, pg.UndefinedTable | pg.UndefinedColumn)


def _schema_behind(services: Services) -> str | None:
    """Why the database's schema is not the one this pgask needs, or None when it is."""
    from app.db import migrate  # alembic: only on this error path

    url = services.db.url
    current, head = migrate.current_revision(url), migrate.head_revision(url)
    if current == head:
        return None
    return (
        f"the database schema is not up to date (at revision {current}, this pgask needs "
        f"{head}): run `pgask db upgrade` (`pgask serve` migrates when it starts)"
    )


@contextmanager
def loading(message: str) -> Iterator[None]:
    """`message` on stderr while the block runs: with a spinner on a terminal (erased
    after), as one line otherwise."""
    if not err_console.is_terminal:
        sys.stderr.write(message + "\n")
        yield
        return
    with err_console.status(message):
        yield
