"""What a `pgask` command loads when it starts, seen from a real process: commands that do
not embed never import the embedding runtime (nor openai, alembic or the MCP SDK, which they
do not use either); commands that embed say that they are loading the model."""

from __future__ import annotations

import json
import os

import pytest

from app.db.models import Collection
from tests.cli import pgask

pytestmark = pytest.mark.anyio  # for the `collection` fixture

#: What `-X importtime` must not list for a command that does not embed.
HEAVY = {"fastembed", "onnxruntime", "openai", "alembic", "mcp"}
LOADING = "loading embedding model sentence-transformers/all-MiniLM-L6-v2 ..."


def _imported(stderr: str) -> set[str]:
    """Top-level packages `python -X importtime` reports as imported."""
    lines = (line.rsplit("|", 1)[-1] for line in stderr.splitlines() if "|" in line)
    return {name.strip().split(".")[0] for name in lines}


@pytest.mark.parametrize(
    "args",
    [
        ["collections"],
        ["collections", "--json"],
        ["search", "widget", "--mode", "text", "-c", "{c}", "--json"],
        ["ask", "widget?", "--mode", "text", "-c", "{c}", "--json"],
    ],
)
async def test_commands_that_do_not_embed_load_no_model(
    db_url: str, collection: Collection, args: list[str]
) -> None:
    argv = [a.format(c=collection.name) for a in args]
    env = {**os.environ, "DATABASE_URL": db_url}
    result = pgask(argv, env, python=["-X", "importtime"])
    assert result.returncode == 0, result.stderr[-2000:]
    imported = _imported(result.stderr)
    assert "app" in imported and "psycopg" in imported  # the listing is read right
    assert not imported & HEAVY, sorted(imported & HEAVY)
    assert LOADING not in result.stderr


async def test_commands_that_embed_say_they_load_the_model(
    db_url: str, collection: Collection
) -> None:
    env = {**os.environ, "DATABASE_URL": db_url}
    result = pgask(["search", "widget", "-c", collection.name, "--json"], env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [LOADING]  # not a terminal: one plain line
    assert json.loads(result.stdout)["hits"] == []  # stdout keeps only the result
