"""`pgask mcp` on stdio: a start that fails says why in one line and writes nothing on the
protocol's stdout."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from tests.mcp.conftest import run_failing, stdio_parameters


def test_an_unreachable_database_is_one_line(settings: Settings, tmp_path: Path) -> None:
    parameters = stdio_parameters(
        settings, tmp_path, DATABASE_URL="postgresql://pgask:pgask@127.0.0.1:1/pgask"
    )
    line = run_failing(parameters)
    assert line.startswith("pgask: error: the database is unavailable; retry shortly (")
    assert "Connection refused" in line
