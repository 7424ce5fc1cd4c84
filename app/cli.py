"""The `pgask` command line. Every command prints one clear line and exits non-zero on error;
`--json` prints one JSON object instead of a table.

This module only assembles: each command lives in `app/commands/` and imports nothing from
here (shared helpers are in `app/commands/common.py`)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from app.commands import ask, backup, collections, ingest, keys, mcp, search, serve, transfer
from app.errors import PgaskError
from app.observability import configure_logging
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


def main() -> None:
    workers_skip_main()  # parse workers need nothing of this script (it imports everything)
    configure_logging(json_logs=False)  # `serve` switches to JSON when not on a terminal
    try:
        app()
    except PgaskError as exc:
        # One plain line (rich would wrap it at the terminal width).
        sys.stderr.write(f"pgask: error: {exc}\n")
        sys.exit(2 if exc.status == 500 else 1)
    except KeyboardInterrupt:
        sys.exit(130)
