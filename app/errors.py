"""pgask's one exception hierarchy.

Everything pgask raises on purpose is a `PgaskError`. Each class carries the HTTP status the
API answers with (as RFC 9457 problem+json, see `app/api/problems.py`) and a short stable
`type` slug; the CLI prints `str(error)` on one line and exits non-zero. Errors from
third-party libraries are converted where they enter our code, with `raise ... from exc`.

    PgaskError
    ├── ConfigError            500  a setting is missing or malformed (start-up)
    ├── InvalidInput           422  the request or file is malformed
    ├── PayloadTooLarge        413  a size limit was exceeded
    ├── RequestTimeout         408  the request's headers or body came too slowly
    ├── Unauthorized           401  no or unknown API key
    ├── Forbidden              403  the key may not do this
    ├── NotFound               404  collection, document or job does not exist
    ├── Conflict               409  already exists, or model/dimension mismatch
    ├── ServiceUnavailable     503  database or embedding provider not ready
    │   └── DatabaseTimeout    503  ... or a query was canceled (statement/lock timeout)
    └── UpstreamError          502  the embedding or chat model failed
        └── UpstreamTimeout    504  ... or did not answer in time
"""

from __future__ import annotations

from typing import Any


class PgaskError(Exception):
    status: int = 500
    type: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class ConfigError(PgaskError):
    type = "configuration-error"
    title = "Configuration error"


class InvalidInput(PgaskError):
    status = 422
    type = "invalid-input"
    title = "Invalid input"


class PayloadTooLarge(PgaskError):
    status = 413
    type = "payload-too-large"
    title = "Payload too large"


class RequestTimeout(PgaskError):
    status = 408
    type = "request-timeout"
    title = "Request timeout"


class Unauthorized(PgaskError):
    status = 401
    type = "unauthorized"
    title = "Unauthorized"


class Forbidden(PgaskError):
    status = 403
    type = "forbidden"
    title = "Forbidden"


class NotFound(PgaskError):
    status = 404
    type = "not-found"
    title = "Not found"


class CollectionDeleted(NotFound):
    """The collection an ingest writes into was deleted meanwhile: the ingest stops (no
    document, chunk or index of it is created afterwards)."""


class Conflict(PgaskError):
    status = 409
    type = "conflict"
    title = "Conflict"


class ServiceUnavailable(PgaskError):
    status = 503
    type = "service-unavailable"
    title = "Service unavailable"


class DatabaseTimeout(ServiceUnavailable):
    type = "database-timeout"
    title = "Database timeout"


class UpstreamError(PgaskError):
    status = 502
    type = "upstream-error"
    title = "Upstream model error"


class UpstreamTimeout(UpstreamError):
    status = 504
    type = "upstream-timeout"
    title = "Upstream model timeout"


def first_line(exc: BaseException, most: int = 300) -> str:
    """An exception's message as one line, for logs and problem details: its first line, at
    most `most` characters (a driver's message can hold a whole query), or its repr when
    it has no message."""
    return (str(exc).splitlines() or [repr(exc)])[0][:most]
