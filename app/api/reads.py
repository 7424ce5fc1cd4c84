"""Which requests read (and so may go to a read replica), and read-your-writes over HTTP.

Routers whose GETs only read use `route_class=ReadRoute`; routers whose every route only
reads (search, ask, chat) use `QueryRoute`. A read route sets the request's `read_intent`
(with the `X-Pgask-Min-LSN` it names, a 422 when that is no WAL position), so its sessions
come from `Database.read_session()`. A replica that fails during the request (stopped, its
connection lost) is marked down and the request runs once more on the primary: a read is
safe to repeat, and the client sees no 5xx for a replica's failure.

`LsnMiddleware` puts the primary's WAL position after a successful write in `X-Pgask-LSN`.
"""

from __future__ import annotations

import logging

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.fast_json import Handler, JsonRoute
from app.db.errors import convert
from app.db.replicas import ReadIntent, parse_lsn, read_intent
from app.errors import DatabaseTimeout, PgaskError, ServiceUnavailable

log = logging.getLogger(__name__)

MIN_LSN_HEADER = "x-pgask-min-lsn"
LSN_HEADER = b"x-pgask-lsn"
_READ_METHODS = frozenset({"GET", "HEAD"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ReadRoute(JsonRoute):
    """A route whose GET and HEAD only read."""

    read_methods = _READ_METHODS

    def reads(self, method: str) -> bool:
        return method in self.read_methods

    def wrap_handler(self, handler: Handler) -> Handler:
        async def route(request: Request) -> Response:
            if not self.reads(request.method):
                return await handler(request)
            return await _read(handler, request)

        return route


class QueryRoute(ReadRoute):
    """A route that only reads, POST too (POST /v1/search carries its query as a body)."""

    read_methods = _READ_METHODS | {"POST"}


async def _read(handler: Handler, request: Request) -> Response:
    header = request.headers.get(MIN_LSN_HEADER)
    intent = ReadIntent(min_lsn=parse_lsn(header) if header is not None else None)
    token = read_intent.set(intent)
    try:
        return await handler(request)
    except Exception as exc:
        replica = intent.served_by
        if replica is None or not _connection_lost(exc):
            raise
        replica.mark_down(f"failed during {request.method} {request.url.path}")
        read_intent.set(ReadIntent(min_lsn=intent.min_lsn, replicas_allowed=False))
        return await handler(request)
    finally:
        read_intent.reset(token)


def _connection_lost(exc: Exception) -> bool:
    error = exc if isinstance(exc, PgaskError) else convert(exc)
    return isinstance(error, ServiceUnavailable) and not isinstance(error, DatabaseTimeout)


class LsnMiddleware:
    """Adds `X-Pgask-LSN` (the primary's `pg_current_wal_lsn()` once the write committed)
    to each successful write, for a later read's `X-Pgask-Min-LSN`. Only with `replicas`:
    without them every read is on the primary and the query would buy nothing."""

    def __init__(self, app: ASGIApp, *, replicas: bool) -> None:
        self.app = app
        self.replicas = replicas

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.replicas or scope["type"] != "http" or scope["method"] not in _WRITE_METHODS:
            await self.app(scope, receive, send)
            return

        async def send_with_lsn(message: Message) -> None:
            if message["type"] == "http.response.start" and _wrote(scope, message["status"]):
                lsn = await _current_lsn(scope)
                if lsn is not None:
                    message["headers"] = [*message.get("headers", []), (LSN_HEADER, lsn)]
            await send(message)

        await self.app(scope, receive, send_with_lsn)


def _wrote(scope: Scope, status: int) -> bool:
    route = scope.get("route")
    return status < 400 and not (isinstance(route, ReadRoute) and route.reads(scope["method"]))


async def _current_lsn(scope: Scope) -> bytes | None:
    try:
        lsn = await scope["app"].state.services.db.current_lsn()
    except PgaskError as exc:  # the write is done; only its position is unknown
        log.warning("X-Pgask-LSN left out: %s", exc.detail)
        return None
    return str(lsn).encode()
