"""Run an ASGI app under a real uvicorn server on 127.0.0.1 in a background thread; read
the server-sent events it answers with."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from tests.cli import PGASK, ROOT


def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """(event name, decoded data) of each event in a finished text/event-stream answer."""
    events = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


class ServerThread:
    def __init__(self, app: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.02)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """`pgask serve` as a real process on a free port, its output in `log`; stopped with
    SIGTERM (then waited for) when the block ends. `url` answers once /healthz does."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        args: Sequence[str] = (),
        *,
        wrapper: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._env = env
        self._args = list(args)
        self._wrapper = list(wrapper)  # a command that runs the rest, e.g. as a subreaper

    def __enter__(self) -> ServeProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*self._wrapper, *PGASK, "serve", "--port", str(self.port), *self._args],
                env=self._env,
                cwd=ROOT,
                stdout=out,
                stderr=out,
            )
        self.wait_for("/healthz", 200)
        return self

    def wait_for(self, path: str, status: int, seconds: float = 180) -> httpx.Response:
        """The first answer to GET `path` with `status` (the server must stay up)."""
        deadline = time.monotonic() + seconds
        while True:
            assert self.process.poll() is None, f"serve exited: {self.log.read_text()}"
            assert time.monotonic() < deadline, f"no {status} from {path}: {self.log.read_text()}"
            try:
                answer = httpx.get(f"{self.url}{path}", timeout=10)
                if answer.status_code == status:
                    return answer
            except httpx.TransportError:
                pass  # still starting
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=120)
