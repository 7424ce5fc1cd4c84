"""The generated references on the docs site match the code: the CLI's commands and options
(docs/reference/cli.md) and the HTTP API's OpenAPI schema (docs/reference/openapi.json,
docs/reference/http.md)."""

from __future__ import annotations

import difflib

import pytest

from app import cli_docs


@pytest.mark.parametrize("name", ["cli.md", "openapi.json", "http.md"])
def test_committed_reference_matches_the_code(name: str) -> None:
    path = cli_docs.REFERENCE / name
    expected = cli_docs.rendered()[path]
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if committed != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    f"committed docs/reference/{name}",
                    "generated from the code",
                )
            )[:40]
        )
        pytest.fail(
            f"docs/reference/{name} is out of date: run `{cli_docs.REGENERATE}` and commit "
            f"the result\n{diff}"
        )


def test_every_command_and_route_is_in_the_reference() -> None:
    files = cli_docs.rendered()
    cli = files[cli_docs.REFERENCE / "cli.md"]
    for command in ("serve", "ingest", "search", "ask", "db upgrade", "keys create", "mcp"):
        assert f"## `pgask {command}`" in cli
    assert "<code>-c, --collection &lt;str&gt;</code>" in cli
    http = files[cli_docs.REFERENCE / "http.md"]
    for route in ("POST `/v1/search`", "POST `/v1/ask`", "GET `/v1/collections/{collection}`"):
        assert f"## {route}" in http
