"""`pgask serve` logs readable lines on a terminal and JSON lines otherwise
(PGASK_LOG_FORMAT=auto); `text` or `json` chooses one whatever the output. Each case runs a
real `pgask serve`, on a pseudo-terminal or a pipe, until its first log line."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time

import pytest

from tests.cli import PGASK, ROOT, env_without_pgask_settings
from tests.servers import free_port

FIRST_LINE = "no API keys configured"  # serve's first log line without keys
TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ WARNING pgask: no API keys configured")


def _first_log_line(db_url: str, log_format: str, *, terminal: bool) -> str:
    """Start `pgask serve` with stderr on a pseudo-terminal or a pipe, read until its first
    log line, stop it with SIGINT, and return that line."""
    env = env_without_pgask_settings(DATABASE_URL=db_url, PGASK_LOG_FORMAT=log_format)
    if terminal:
        reader, writer = os.openpty()
    else:
        reader, writer = os.pipe()
    proc = subprocess.Popen(
        [*PGASK, "serve", "--port", str(free_port()), "--no-migrate"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=writer,
    )
    os.close(writer)
    seen = b""
    deadline = time.monotonic() + 180  # a bound on waiting, not a speed check
    try:
        while FIRST_LINE.encode() not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([reader], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(reader, 65536)
            except OSError:  # the terminal's other end closed: the process ended
                break
            if not chunk:
                break
            seen += chunk
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        os.close(reader)
    lines = seen.decode(errors="replace").replace("\r\n", "\n").splitlines()
    found = [line for line in lines if FIRST_LINE in line]
    assert found, seen.decode(errors="replace")
    return found[0]


@pytest.mark.parametrize(
    ("log_format", "terminal", "as_json"),
    [
        ("auto", True, False),
        ("auto", False, True),
        ("json", True, True),
        ("text", False, False),
    ],
)
def test_serve_log_format(db_url: str, log_format: str, terminal: bool, as_json: bool) -> None:
    line = _first_log_line(db_url, log_format, terminal=terminal)
    if as_json:
        record = json.loads(line)
        assert record["level"] == "WARNING"
        assert record["message"].startswith(FIRST_LINE)
    else:
        assert TEXT.match(line), line
