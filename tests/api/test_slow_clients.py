"""Slow clients against a real `pgask serve` process (issue 14, item 7): a connection whose
headers trickle in (one line every 0.3 s) gets a 408 and is closed once
PGASK_HEADER_TIMEOUT_SECONDS have passed; a normal request on the same server still works."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.cli import PGASK, ROOT, env_without_pgask_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve(db_url: str) -> Iterator[str]:
    port = _free_port()
    env = env_without_pgask_settings(
        DATABASE_URL=db_url, PGASK_HEADER_TIMEOUT_SECONDS="1", PGASK_INGEST_WORKER="0"
    )
    process = subprocess.Popen(
        [*PGASK, "serve", "--port", str(port)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=60)


def test_headers_that_trickle_in_are_cut_off(serve: str) -> None:
    port = int(serve.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        answer, sent = b"", 0
        while sent < 200:  # 60 s of header lines: far past the 1 s deadline
            try:
                sock.sendall(b"X-Slow: %d\r\n" % sent)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
            time.sleep(0.3)
            sock.setblocking(False)
            try:
                answer += sock.recv(1024)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if answer:
                break
    assert answer.startswith(b"HTTP/1.1 408"), (sent, answer)
    assert sent < 200
    assert httpx.get(f"{serve}/healthz", timeout=10).status_code == 200
