"""RFC 9457 problem+json for every error the API returns."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import PgaskError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem detail; `errors` lists each invalid field for 422s."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_response(
    request: Request, *, status: int, type_: str, title: str, detail: str, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def error_body(exc: PgaskError, instance: str) -> dict[str, Any]:
    """The problem document of one of our errors (also sent by the auth middleware, whose
    404 for an out-of-scope collection must be byte for byte a route's 404)."""
    return {
        "type": f"urn:pgask:{exc.type}",
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        "instance": instance,
        **exc.extra,
    }


def _pgask_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PgaskError)
    if exc.status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.detail)
    body = error_body(exc, request.url.path)
    return JSONResponse(body, status_code=exc.status, media_type=PROBLEM_JSON)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    return problem_response(
        request,
        status=422,
        type_="urn:pgask:invalid-input",
        title="Invalid input",
        detail=f"{where}: {first['msg']}" if where else str(first["msg"]),
        errors=errors,
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = problem_response(
        request,
        status=exc.status_code,
        type_="about:blank",
        title=_reason(exc.status_code),
        detail=str(exc.detail),
    )
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def _database_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable during %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        request,
        status=503,
        type_="urn:pgask:service-unavailable",
        title="Service unavailable",
        detail="the database is unavailable; retry shortly",
    )


def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # A value PostgreSQL cannot hold (a NUL character in text, a number out of range) that
    # no schema caught: still the request's fault, and nothing was stored.
    cause = exc.orig if isinstance(exc, DataError) else exc
    return problem_response(
        request,
        status=422,
        type_="urn:pgask:invalid-input",
        title="Invalid input",
        detail=f"the database refused a value: {str(cause).splitlines()[0][:300]}",
    )


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error during %s %s", request.method, request.url.path)
    return problem_response(
        request,
        status=500,
        type_="urn:pgask:internal-error",
        title="Internal error",
        detail="an unexpected error occurred; the server log has the details",
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install(app: FastAPI) -> None:
    app.add_exception_handler(PgaskError, _pgask_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(InterfaceError, _database_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(psycopg.DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected_error)


#: Documented on every route so the OpenAPI schema matches what clients receive.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": desc}
    for status, desc in (
        (400, "The body is not valid JSON (or not UTF-8)"),
        (401, "Missing or unknown API key"),
        (403, "The key may not do this"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Payload too large"),
        (422, "Invalid input"),
        (500, "Internal error"),
        (503, "Service unavailable"),
    )
}
