"""Pure ASGI middleware (safe for streaming responses): request ids, access logs, metrics,
the request body limit, and API-key authentication."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.access import UNRESTRICTED
from app.api.problems import error_response
from app.auth import authorize, bearer_token, required_role
from app.errors import PayloadTooLarge, PgaskError
from app.keys import KeyStore
from app.observability import Metrics, request_id_var

log = logging.getLogger("pgask.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID), logs it, and counts it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else (uuid.uuid4().hex)
        )
        token = request_id_var.set(request_id)
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.request_seconds.labels(method, route).observe(elapsed)
            log.info(
                "%s %s %s %.1fms",
                method,
                scope["path"],
                status,
                elapsed * 1000,
                extra={
                    "fields": {
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                    }
                },
            )
            request_id_var.reset(token)


@dataclass(frozen=True)
class BodyLimit:
    """The largest request body, and the setting that sets it (named in the 413)."""

    max_mb: int
    setting: str

    @property
    def max_bytes(self) -> int:
        return self.max_mb * 2**20

    def detail(self) -> str:
        return f"request body exceeds {self.setting} ({self.max_mb} MiB)"


class BodyLimitMiddleware:
    """Answers 413 once a request body exceeds its limit, declared or streamed (a missing
    or false Content-Length does not get past it). The limit is `default`, or the one of the
    first pattern in `routes` that matches the whole path (imports, spooled to disk, may be
    larger than what other routes hold in memory)."""

    def __init__(
        self,
        app: ASGIApp,
        default: BodyLimit,
        routes: Mapping[re.Pattern[str], BodyLimit] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.routes = dict(routes or {})

    def _limit(self, path: str) -> BodyLimit:
        return next((v for k, v in self.routes.items() if k.fullmatch(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > limit.max_bytes:
            await error_response(PayloadTooLarge(limit.detail()), scope["path"])(
                scope, receive, send
            )
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    # FastAPI lets only HTTPExceptions out of reading the body (others
                    # become 400s); the handler renders the PgaskError that caused it.
                    too_large = PayloadTooLarge(limit.detail())
                    raise HTTPException(413, too_large.detail) from too_large
            return message

        await self.app(scope, limited_receive, send)


class AuthMiddleware:
    """With API keys configured (PGASK_API_KEYS, or any key ever created), every /v1 route
    and /mcp needs `Authorization: Bearer <key>`: 401 without a valid key; 403 when the key's
    role is too low, or 404 (exactly as for a missing collection) when the route's collection
    is outside the key's scope. The key's `Principal` goes to the routes (and MCP tools) as
    `request.state.principal`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        role = required_role(scope.get("method", ""), scope.get("path", ""))
        keys: KeyStore | None = None
        if scope["type"] == "http" and role is not None:
            keys = scope["app"].state.services.keys
        if keys is None or role is None:
            await self.app(scope, receive, send)
            return
        try:
            # configured() reads the database: when it is down that is a 503 like any
            # route's, not an exception escaping the middleware as a 500.
            principal = UNRESTRICTED
            if await keys.configured():
                principal = await keys.authenticate(bearer_token(_header(scope, b"authorization")))
                authorize(principal, role, scope["path"])
            scope.setdefault("state", {})["principal"] = principal
        except PgaskError as error:
            await error_response(error, scope["path"])(scope, receive, send)
            return
        await self.app(scope, receive, send)
