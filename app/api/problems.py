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
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db.errors import convert
from app.errors import InvalidInput, PayloadTooLarge, PgaskError, Unauthorized

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: The routes OpenAI clients call. Their errors use OpenAI's body shape instead of
#: problem+json: the openai client (and chat UIs built on it) shows only `error.message`.
OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/models"})


class Problem(BaseModel):
    """An RFC 9457 problem detail; `errors` lists each invalid field for 422s."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_response(
    instance: str, *, status: int, type_: str, title: str, detail: str, **extra: Any
) -> JSONResponse:
    """A problem+json response; `instance` is the request's path (on `OPENAI_PATHS`, the
    same error in OpenAI's shape)."""
    if instance in OPENAI_PATHS:
        return JSONResponse(openai_error(status, detail, type_, extra), status_code=status)
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def openai_error(status: int, message: str, type_: str, extra: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's error body: `type` is its class of error, `code` pgask's own slug (or the
    one OpenAI uses, e.g. `model_not_found`, when the error names it), `param` the field."""
    slug = type_.removeprefix("urn:pgask:") if type_.startswith("urn:pgask:") else None
    code = extra.get("code") or slug
    error = {"message": message, "type": _openai_type(status), "code": code}
    return {"error": {**error, "param": extra.get("param") or _invalid_field(extra)}}


def _invalid_field(extra: dict[str, Any]) -> str | None:
    """The first invalid field of a validation error, as OpenAI names it ("messages.0")."""
    errors = extra.get("errors") or [{}]
    loc = [str(part) for part in errors[0].get("loc", ())[1:]]  # without "body"
    return ".".join(loc) or None


def _openai_type(status: int) -> str:
    if status >= 500:
        return "server_error"
    return {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}.get(
        status, "invalid_request_error"
    )


def error_response(error: PgaskError, instance: str) -> JSONResponse:
    """A PgaskError as problem+json, for exception handlers and pure ASGI middleware alike
    (a response is itself an ASGI app: `await error_response(...)(scope, receive, send)`)."""
    response = problem_response(
        instance,
        status=error.status,
        type_=f"urn:pgask:{error.type}",
        title=error.title,
        detail=error.detail,
        **error.extra,
    )
    if isinstance(error, Unauthorized):  # RFC 9110: a 401 names the scheme to use
        response.headers["www-authenticate"] = 'Bearer realm="pgask"'
    return response


def _pgask_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PgaskError)
    if exc.status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.detail)
    return error_response(exc, request.url.path)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    return error_response(InvalidInput(validation_detail(errors), errors=errors), request.url.path)


def validation_detail(errors: list[dict[str, Any]]) -> str:
    """The first invalid field and why, e.g. `body.k: Input should be less than or equal to
    100` (the API's 422 detail, and the MCP tools' argument errors)."""
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, PgaskError):  # raised while FastAPI read the body (middleware)
        return _pgask_error(request, exc.__cause__)
    if exc.status_code == 400 and str(exc.detail).startswith("Too many files"):
        # Starlette's multipart parser went over the form's `max_files` (app.main)
        most = request.app.state.max_upload_files
        error = PayloadTooLarge(f"more than PGASK_INGEST_MAX_UPLOAD_FILES ({most}) files")
        return error_response(error, request.url.path)
    response = problem_response(
        request.url.path,
        status=exc.status_code,
        type_="about:blank",
        title=_reason(exc.status_code),
        detail=str(exc.detail),
    )
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A psycopg or SQLAlchemy error that reached a route (the ORM session, or the raw
    search connection under it), converted as everywhere else by `app.db.errors`."""
    mapped = convert(exc)
    if mapped is None:
        return _unexpected_error(request, exc)
    return _pgask_error(request, mapped)  # logs the 5xx ones


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The handler runs outside the `except` that caught it: the traceback is passed on.
    log.error("unhandled error during %s %s", request.method, request.url.path, exc_info=exc)
    unexpected = PgaskError("an unexpected error occurred; the server log has the details")
    return error_response(unexpected, request.url.path)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install(app: FastAPI) -> None:
    app.add_exception_handler(PgaskError, _pgask_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(psycopg.Error, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)


_STATUSES = (
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

#: Documented on every route so the OpenAPI schema matches what clients receive.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": desc}
    for status, desc in _STATUSES
}


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None
    param: str | None


class OpenAIError(BaseModel):
    """An error on `OPENAI_PATHS`, in OpenAI's shape."""

    error: OpenAIErrorDetail


OPENAI_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIError, "description": desc} for status, desc in _STATUSES
}
