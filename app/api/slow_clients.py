"""Close connections whose request headers or body do not arrive in time (slowloris).

uvicorn times out idle keep-alive connections but not a request whose headers trickle in:
a connection sending one header line every few seconds stays open indefinitely, nor one
whose body trickles in or stops. Like nginx's `client_header_timeout` and
`client_body_timeout`, this protocol gives the whole header block a deadline,
PGASK_HEADER_TIMEOUT_SECONDS from the connection (or the previous response), and the body
PGASK_BODY_TIMEOUT_SECONDS between two received parts of it; past either it answers 408
(problem+json, unless the response has started) and closes the connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.api.problems import error_response
from app.errors import RequestTimeout


class SlowClientProtocol(HttpToolsProtocol):
    # Set by `with_timeouts` in each server process.
    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, self._headers_late)

    def data_received(self, data: bytes) -> None:
        if self._timer is None and (self.cycle is None or self.cycle.response_complete):
            # The first bytes of the next request on a kept-alive connection.
            self._arm(self.header_timeout, self._headers_late)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        # Until the body's end (at once, for a request without one: the parser calls
        # on_message_complete next, in the same data_received).
        self._arm(self.body_timeout, self._body_late)

    def on_body(self, body: bytes) -> None:
        self._arm(self.body_timeout, self._body_late)  # the deadline is between parts
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float, expire: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_late(self) -> None:
        self._timer = None
        limit = f"PGASK_HEADER_TIMEOUT_SECONDS ({self.header_timeout:g} s)"
        self._cut_off(f"the request headers took longer than {limit}", "/")

    def _body_late(self) -> None:
        self._timer = None
        cycle = self.cycle
        if cycle is None or cycle.response_complete or self.transport.is_closing():
            return
        if self.flow.read_paused or cycle.waiting_for_100_continue:
            # Waiting on the app (it has not read what came, or not asked for the body
            # yet), not on the client: no deadline runs.
            self._arm(self.body_timeout, self._body_late)
            return
        detail = (
            "no part of the request body arrived for PGASK_BODY_TIMEOUT_SECONDS"
            f" ({self.body_timeout:g} s)"
        )
        self._cut_off(detail, cycle.scope["path"], started=cycle.response_started)

    def _cut_off(self, detail: str, path: str, *, started: bool = False) -> None:
        if self.transport.is_closing():
            return
        if not started:
            self.transport.write(_problem(detail, path))
        self.transport.close()


def _problem(detail: str, path: str) -> bytes:
    """A whole 408 problem+json response, written past the app (which may still wait for
    the body: it then reads a disconnect)."""
    response = error_response(RequestTimeout(detail), path)
    headers = b"".join(b"%s: %s\r\n" % pair for pair in response.raw_headers)
    return b"HTTP/1.1 408 Request Timeout\r\n%sconnection: close\r\n\r\n%s" % (
        headers,
        bytes(response.body),
    )


def with_timeouts(header_seconds: float, body_seconds: float) -> type[SlowClientProtocol]:
    """The protocol class uvicorn is given (`http=`), with these deadlines. The class
    itself, not a subclass made here: `serve --workers` hands it to spawned processes by
    name, and each sets its own deadlines as it builds its app."""
    SlowClientProtocol.header_timeout = header_seconds
    SlowClientProtocol.body_timeout = body_seconds
    return SlowClientProtocol
