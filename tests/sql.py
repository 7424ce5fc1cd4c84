"""Small typed helpers for tests that read the database directly."""

from __future__ import annotations

from typing import Any

import psycopg


def scalar(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> Any:
    """The first column of the first row; fails the test when there is no row."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, f"no row for {query!r} {params!r}"
    return row[0]
