"""Real git repositories for the tests: made and committed with the git CLI, served over
HTTP on 127.0.0.1 by git's own `http-backend` (CGI, under Python's http.server)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(repo: Path, *arguments: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *arguments],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=_ENV | {"PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    return done.stdout.strip()


def make_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    return commit(path, files)


def commit(repo: Path, files: Mapping[str, str | None], message: str = "change") -> Path:
    """Write (or, for None, delete) the files and commit them."""
    for name, body in files.items():
        target = repo / name
        if body is None:
            git(repo, "rm", "--quiet", name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
        git(repo, "add", name)
    git(repo, "commit", "--quiet", "-m", message)
    return repo
