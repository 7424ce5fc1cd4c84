"""`pgask serve` logs readable lines on a terminal and JSON lines otherwise
(PGASK_LOG_FORMAT=auto); `text` or `json` chooses one whatever the output. Each case runs a
real `pgask serve`, on a pseudo-terminal or a pipe, until it has started."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from tests.cli import PGASK, ROOT, env_without_pgask_settings
from tests.servers import free_port

FIRST_LINE = "no API keys configured"  # serve's first log line without keys
STARTED = b"Application startup complete"  # uvicorn's, once the app serves
TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ WARNING pgask: no API keys configured")


def _first_log_line(db_url: str, log_format: str, *, terminal: bool) -> str:
    """Start `pgask serve` with stderr on a pseudo-terminal or a pipe, read its output to the
    end in a thread (so it never blocks on a full buffer), stop it with SIGINT once it has
    started, and return its first log line."""
    env = env_without_pgask_settings(DATABASE_URL=db_url, PGASK_LOG_FORMAT=log_format)
    reader, writer = os.openpty() if terminal else os.pipe()
    proc = subprocess.Popen(
        [*PGASK, "serve", "--port", str(free_port()), "--no-migrate"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=writer,
    )
    os.close(writer)
    output = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(reader, 65536)
            except OSError:  # a terminal's other end closed: the process ended
                return
            if not chunk:
                return
            output.extend(chunk)

    draining = threading.Thread(target=drain, daemon=True)
    draining.start()
    deadline = time.monotonic() + 240  # a bound on waiting, not a speed check
    try:
        while STARTED not in output and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        draining.join(timeout=10)
        os.close(reader)
    text = output.decode(errors="replace").replace("\r\n", "\n")
    assert STARTED.decode() in text, text
    found = [line for line in text.splitlines() if FIRST_LINE in line]
    assert found, text
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
