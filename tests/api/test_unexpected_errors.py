"""An error no handler knows is a 500 problem that tells the client nothing of it, and the
server log keeps its traceback."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import problems


class _Broken(RuntimeError):
    pass


def test_an_unexpected_error_is_a_500_problem_and_its_traceback_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/broken")
    async def broken() -> None:
        raise _Broken("secret internals")

    with (
        caplog.at_level(logging.ERROR, logger=problems.log.name),
        TestClient(app, raise_server_exceptions=False) as client,
    ):
        response = client.get("/broken")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in response.text
    [record] = [r for r in caplog.records if r.name == problems.log.name]
    assert record.exc_info is not None and isinstance(record.exc_info[1], _Broken)
    assert "_Broken: secret internals" in caplog.text  # the traceback, not "NoneType: None"
