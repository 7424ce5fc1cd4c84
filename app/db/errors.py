"""Database errors converted into pgask's exception classes, in one place.

In the spirit of httpx's `map_httpcore_exceptions`: code that talks to PostgreSQL (through
SQLAlchemy or psycopg directly) runs inside `map_db_errors()`, and callers above only ever
see `app.errors` classes. The API's problem handler uses `convert` for errors that escape
elsewhere, so both paths answer the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors as pg
from sqlalchemy.exc import DBAPIError

from app.errors import DatabaseTimeout, InvalidInput, PgaskError, ServiceUnavailable, first_line

UNAVAILABLE = "the database is unavailable; retry shortly"


def convert(exc: BaseException) -> PgaskError | None:
    """The pgask error for a database error, or None when it is not one we can name (a bug:
    it stays what it is and becomes a 500)."""
    # SQLAlchemy wraps the driver's error; the driver's class says what happened.
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(cause, pg.QueryCanceled | pg.LockNotAvailable):
        return DatabaseTimeout(f"the database canceled the query: {first_line(cause)}")
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
        # Connection refused or lost, admin shutdown, too many clients, disk full...
        return ServiceUnavailable(UNAVAILABLE)
    if isinstance(cause, psycopg.DataError):
        # A value PostgreSQL cannot hold (NUL in text, a number out of range) that no
        # schema caught: the request's fault, and its transaction stored nothing.
        return InvalidInput(f"the database refused a value: {first_line(cause)}")
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return ServiceUnavailable(UNAVAILABLE)
    return None


@contextmanager
def map_db_errors() -> Iterator[None]:
    """Re-raise psycopg and SQLAlchemy errors as pgask errors (`raise ... from exc`)."""
    try:
        yield
    except (psycopg.Error, DBAPIError) as exc:
        mapped = convert(exc)
        if mapped is None:
            raise
        raise mapped from exc
