"""The `pgask` command line. Every command prints one clear line and exits non-zero on error;
`--json` prints one JSON object instead of a table.

This module only assembles: each command lives in `app/commands/` and imports nothing from
here (shared helpers are in `app/commands/common.py`)."""

from __future__ import annotations

import sys

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
app.command()(serve.serve)
app.add_typer(serve.db_app, name="db")
app.command("collections")(collections.collections_cmd)
app.command("ingest")(ingest.ingest)
app.command("worker")(ingest.worker)
app.command("search")(search.search_cmd)
app.command("eval")(search.eval_cmd)
app.command("ask")(ask.ask_cmd)
app.add_typer(keys.keys_app, name="keys")
app.command("audit")(keys.audit_cmd)
app.command("mcp")(mcp.mcp_cmd)
app.command("export")(transfer.export_cmd)
app.command("import")(transfer.import_cmd)
app.command("backup")(backup.backup_cmd)
app.command("restore")(backup.restore_cmd)


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
