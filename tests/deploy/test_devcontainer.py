"""The Dev Container (.devcontainer/) cannot start here (no Docker engine), so it is checked by
reading: devcontainer.json with a JSON5 parser (it has comments, as VS Code allows), against
docker-compose.yaml, its own compose file, pgask's Settings and the README's commands."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import json5
import yaml
from sqlalchemy.engine import make_url

from app.config import ENVIRONMENT, ServerSettings, Settings
from tests.test_deployment import ROOT, _compose

FOLDER = ROOT / ".devcontainer"


def _devcontainer() -> dict[str, Any]:
    loaded: dict[str, Any] = json5.loads((FOLDER / "devcontainer.json").read_text())
    return loaded


def _compose_files() -> list[Path]:
    return [(FOLDER / name).resolve() for name in _devcontainer()["dockerComposeFile"]]


def _dev_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(_compose_files()[1].read_text())
    return loaded


def _dev_service() -> dict[str, Any]:
    service: dict[str, Any] = _dev_compose()["services"][_devcontainer()["service"]]
    return service


def _vscode() -> dict[str, Any]:
    vscode: dict[str, Any] = _devcontainer()["customizations"]["vscode"]
    return vscode


def _readme_block(heading: str) -> str:
    """The first fenced code block under a README `## heading`."""
    section = (ROOT / "README.md").read_text().split(f"\n## {heading}\n", 1)[1]
    match = re.search(r"```\w*\n(.*?)```", section, re.S)
    assert match, heading
    return match.group(1)


def test_it_extends_the_repository_compose_file() -> None:
    files = _compose_files()
    assert files[0] == ROOT / "docker-compose.yaml"  # first: its folder is the project's
    assert all(f.is_file() for f in files)
    base, extra = _compose()["services"], _dev_compose()["services"]
    assert not set(base) & set(extra), "the Dev Container redefines a service"
    run = _devcontainer()["runServices"]
    assert _devcontainer()["service"] in run
    assert "db" in run and set(run) <= set(base) | set(extra)
    assert base["db"]["image"].startswith("pgvector/pgvector:pg18")


def test_dev_service_reaches_the_compose_db_like_the_app_service() -> None:
    dev, compose = _dev_service(), _compose()
    url = dev["environment"]["DATABASE_URL"]
    assert url == compose["services"]["app"]["environment"]["DATABASE_URL"]
    assert make_url(url).host in compose["services"]
    assert dev["depends_on"]["db"]["condition"] == "service_healthy"
    Settings(_env_file=None, database_url=url)


def test_every_variable_it_sets_is_a_setting() -> None:
    fields = set(ENVIRONMENT)
    assert set(_dev_service()["environment"]) <= fields


def test_workspace_is_the_repository_mounted_at_workspace_folder() -> None:
    workspace = _devcontainer()["workspaceFolder"]
    volumes = _dev_service()["volumes"]
    # Relative paths in the second compose file resolve from the first one's folder: the root.
    assert f".:{workspace}:cached" in volumes
    venv = next(v for v in volumes if v.split(":")[1] == f"{workspace}/.venv")
    assert venv.split(":")[0] in _dev_compose()["volumes"]
    interpreter = _vscode()["settings"]["python.defaultInterpreterPath"]
    assert interpreter == f"{workspace}/.venv/bin/python"


def test_forwards_the_api_port_and_the_database() -> None:
    forwarded = _devcontainer()["forwardPorts"]
    assert ServerSettings.model_fields["port"].default in forwarded  # API, /docs and the web page
    assert "db:5432" in forwarded
    labelled = set(_devcontainer()["portsAttributes"])
    assert {str(p).rsplit(":", 1)[-1] for p in forwarded} <= labelled


def test_python_image_satisfies_requires_python() -> None:
    image = _dev_service()["image"]
    match = re.search(r"python:\d+-(\d+)\.(\d+)-", image)
    assert match, image
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = tuple(int(n) for n in project["requires-python"].removeprefix(">=").split("."))
    assert (int(match.group(1)), int(match.group(2))) >= minimum


def test_recommends_python_and_sql_tools_extensions() -> None:
    extensions = _vscode()["extensions"]
    assert "ms-python.python" in extensions
    assert {"mtxr.sqltools", "mtxr.sqltools-driver-pg"} <= set(extensions)


def test_sql_tools_connection_is_the_same_database_as_database_url() -> None:
    (connection,) = _vscode()["settings"]["sqltools.connections"]
    url = make_url(_dev_service()["environment"]["DATABASE_URL"])
    assert connection["driver"] == "PostgreSQL"
    assert (
        connection["server"],
        connection["port"],
        connection["database"],
        connection["username"],
        connection["password"],
    ) == (url.host, url.port, url.database, url.username, url.password)


def test_post_create_installs_like_the_readme_and_migrates() -> None:
    command = shlex.split(_devcontainer()["postCreateCommand"])
    assert command[0] == "bash"
    script = ROOT / command[1]
    subprocess.run(["bash", "-n", str(script)], check=True)
    steps = [
        line.strip()
        for line in script.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    # Each README install command runs (quietly) in the script, before the migration.
    for readme_command in _readme_block("Install").strip().split(" && "):
        words = readme_command.split()
        assert any(
            [w for w in shlex.split(step) if w != "--quiet"] == shlex.split(readme_command)
            for step in steps
        ), words
    assert steps[-1] == ".venv/bin/pgask db upgrade"
    # What the script's venv runs (pytest-xdist comes with the dev extra it installs).
    assert _readme_block("Test").strip() == ".venv/bin/pytest -n 2"
    assert any("apt-get install" in s and "chromium" in s for s in steps)  # web page tests
