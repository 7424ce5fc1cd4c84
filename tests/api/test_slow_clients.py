"""Slow clients against a real `pgask serve` process (issue 14, item 7): a connection whose
headers trickle in (one line every 0.3 s) gets a 408 and is closed once
PGASK_HEADER_TIMEOUT_SECONDS have passed; one whose body stops coming gets a 408
problem+json and is closed once PGASK_BODY_TIMEOUT_SECONDS pass without a part of it, while
a body sent in parts closer together than that is answered; a normal request on the same
server still works."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.cli import PGASK, ROOT, env_without_pgask_settings
from tests.servers import free_port

BODY_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def serve(db_url: str) -> Iterator[str]:
    port = free_port()
    env = env_without_pgask_settings(
        DATABASE_URL=db_url,
        PGASK_HEADER_TIMEOUT_SECONDS="1",
        PGASK_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        PGASK_INGEST_WORKER="0",
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


def _search_request(body: bytes) -> bytes:
    return (
        b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_body_that_stops_coming_is_cut_off_with_a_problem(serve: str) -> None:
    port = int(serve.rsplit(":", 1)[1])
    body = json.dumps({"collection": "nowhere", "query": "stalled " * 100}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(_search_request(body) + body[: len(body) // 2])
        answer = _answer(sock)  # the rest never comes; the server ends it
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b"content-type: application/problem+json" in head.lower(), head
    assert b"connection: close" in head.lower(), head
    problem = json.loads(payload)
    assert problem["status"] == 408 and problem["instance"] == "/v1/search", problem
    assert "PGASK_BODY_TIMEOUT_SECONDS" in problem["detail"], problem
    assert httpx.get(f"{serve}/healthz", timeout=10).status_code == 200


def test_a_body_in_parts_closer_than_the_timeout_is_answered(serve: str) -> None:
    """The deadline is between parts, not for the whole body: ten parts 0.3 s apart take
    longer than the timeout in all, and the request is answered (404: no such collection)."""
    port = int(serve.rsplit(":", 1)[1])
    body = json.dumps({"collection": "nowhere", "query": "slow but steady " * 50}).encode()
    parts = [body[i : i + len(body) // 10 + 1] for i in range(0, len(body), len(body) // 10 + 1)]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(_search_request(body))
        for part in parts:
            time.sleep(BODY_TIMEOUT * 0.3)
            sock.sendall(part)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 404"), answer
