"""The `pgask` command line. Every command prints one clear line and exits non-zero on error;
`--json` prints one JSON object instead of a table.

This module only assembles: each command lives in `app/commands/` and imports nothing from
here (shared helpers are in `app/commands/common.py`)."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import typer

from app import tempdir
from app.commands import (
    ask,
    backup,
    collections,
    ingest,
    keys,
    mcp,
    search,
    serve,
    sources,
    transfer,
)
from app.errors import InvalidInput, PgaskError
from app.observability import configure_logging
from app.validation import text_problem
from ingest.parsing import workers_skip_main

app = typer.Typer(
    name="pgask",
    help="Retrieval-augmented question answering on PostgreSQL + pgvector.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
COMMANDS: dict[str, Callable[..., None]] = {
    "serve": serve.serve,
    "collections": collections.collections_cmd,
    "ingest": ingest.ingest,
    "worker": ingest.worker,
    "search": search.search_cmd,
    "eval": search.eval_cmd,
    "ask": ask.ask_cmd,
    "audit": keys.audit_cmd,
    "mcp": mcp.mcp_cmd,
    "export": transfer.export_cmd,
    "import": transfer.import_cmd,
    "backup": backup.backup_cmd,
    "restore": backup.restore_cmd,
}
for _name, _command in COMMANDS.items():
    app.command(_name)(_command)
app.add_typer(serve.db_app, name="db")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(sources.sources_app, name="sources")


def main() -> NoReturn:
    workers_skip_main()  # parse workers need nothing of this script (it imports everything)
    folder = tempdir.claim()  # before any temporary file or child process
    configure_logging(json_logs=False)  # `serve` switches to JSON when not on a terminal
    try:
        _check_arguments(sys.argv[1:])
        app()
        code: object = 0
    except PgaskError as exc:
        # One plain line (rich would wrap it at the terminal width).
        sys.stderr.write(f"pgask: error: {exc}\n")
        code = 2 if exc.status == 500 else 1
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:  # typer's end, or `serve`'s after a signal
        code = exc.code
    _exit(code, folder)


def _check_arguments(arguments: list[str]) -> None:
    """Every argument is text: Python reads bytes that are not UTF-8 as lone surrogates,
    which no query, id, group or path pgask stores can hold (app/validation.py)."""
    for number, argument in enumerate(arguments, 1):
        if problem := text_problem(argument):
            raise InvalidInput(f"argument {number} ({argument!r}) is not UTF-8 text: {problem}")


def _exit(code: object, folder: Path) -> NoReturn:
    """End the process as the interpreter would (threads joined, exit handlers run: the
    embedded PostgreSQL is stopped when this was its last user), minus the interpreter's
    teardown after them: no Python code runs there, yet after `pgask serve` had loaded the
    model it took 3 to 10 s of a stop on a loaded machine (bench/shutdown.py)."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    tempdir.release(folder)  # after multiprocessing's own handlers removed their folders
    if isinstance(code, str):  # sys.exit("message")
        sys.stderr.write(code + "\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, as at any exit
            stream.flush()
    os._exit(code if isinstance(code, int) else 0)
