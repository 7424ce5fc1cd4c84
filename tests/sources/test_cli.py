"""`pgask sources` in-process (Typer's CliRunner; the process boundary is not under test):
add, sync --wait, list and remove a folder source; bad options are one error, nothing kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.config import get_settings
from app.errors import InvalidInput


@pytest.fixture
def run(settings, tmp_path: Path) -> Iterator:
    env = {"DATABASE_URL": settings.database_url, "PGASK_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    get_settings.cache_clear()  # the CLI reads its settings from this environment

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env)

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def collection(client, collection_name: str) -> str:
    """A new collection (made over HTTP: the tests here are synchronous, as the CLI is)."""
    made = client.post("/v1/collections", json={"name": collection_name})
    assert made.status_code == 201, made.text
    return collection_name


def test_add_sync_list_remove(run, collection, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nAbout herons.")
    (folder / "b.txt").write_text("About walruses.")
    added = run(
        "sources", "add", "cli-notes", "-c", collection, "--kind", "folder",
        "-o", f"path={folder}", "--access", "team", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["options"] == {"path": str(folder), "glob": None}

    synced = run("sources", "sync", "cli-notes", "--wait", "--json")
    assert synced.exit_code == 0, synced.output
    (sync,) = json.loads(synced.output.splitlines()[-1])["syncs"]
    assert (sync["status"], sync["result"]["added"]) == ("succeeded", 2)

    listed = run("sources", "list", "--json")
    (mine,) = [s for s in json.loads(listed.output)["sources"] if s["name"] == "cli-notes"]
    assert mine["access"] == ["team"] and mine["job_status"] == "succeeded"

    removed = run("sources", "remove", "cli-notes")
    assert removed.exit_code == 0 and "2 documents deleted" in removed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "path=/no/such/folder"], "options.path: /no/such/folder is not a folder"),
        (["-o", "path"], "--option: 'path' is not key=value"),
        (["--options", "[1]"], "--options: a JSON object"),
        (["-o", "path=/tmp", "--interval", "soon"], "interval: 'soon' is not a number"),
        (["-o", "path=/tmp", "-o", "depth=2"], "options.depth: Extra inputs are not permitted"),
    ],
)
def test_bad_options_are_one_error(run, collection, args: list[str], message: str) -> None:
    result = run("sources", "add", "cli-bad", "-c", collection, "--kind", "folder", *args)
    assert isinstance(result.exception, InvalidInput), result.output
    assert str(result.exception) == message or str(result.exception).startswith(message)
    assert "cli-bad" not in run("sources", "list", "--json").output
