"""The CLI on a database whose schema is missing or behind: one line that says to migrate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli import env_without_pgask_settings, pgask
from tests.conftest import Databases


@pytest.fixture(params=[None, "0002"], ids=["empty", "at-0002"])
def behind_url(request: pytest.FixtureRequest, databases: Databases) -> Iterator[str]:
    """A new database on the test server, not migrated or migrated to an old revision."""
    url = databases.create(request.param, prefix="pgask_behind")
    yield url
    databases.drop(url)


def test_collections_on_an_unmigrated_database_is_one_error_line(behind_url: str) -> None:
    done = pgask(["collections"], env_without_pgask_settings(DATABASE_URL=behind_url))
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    # (an empty database also logs a warning first: no pgvector type to register yet)
    error = done.stderr.splitlines()[-1]
    assert error.startswith("pgask: error: the database schema is not up to date"), error
    assert "run `pgask db upgrade`" in error and "this pgask needs" in error
