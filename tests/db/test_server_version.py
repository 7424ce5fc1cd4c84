"""pgask's schema and writes need PostgreSQL 18 (RETURNING old.* on a partitioned table):
an older server is refused before any migration runs, with one line that says so."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from app.db.migrate import MIN_SERVER_VERSION, check_server_version, server_version
from app.errors import ConfigError


def test_the_embedded_server_is_new_enough(db_url: str) -> None:
    version = server_version(make_url(db_url))
    assert version >= MIN_SERVER_VERSION
    check_server_version(version)


@pytest.mark.parametrize(("version_num", "shown"), [(170005, "17.5"), (160000, "16.0")])
def test_an_older_server_is_one_clear_error(version_num: int, shown: str) -> None:
    with pytest.raises(ConfigError) as raised:
        check_server_version(version_num)
    message = str(raised.value)
    assert "PostgreSQL 18 or newer" in message and f"runs {shown}" in message
    assert "\n" not in message
