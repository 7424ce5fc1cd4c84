"""`pgask` as a user runs it: a real subprocess, from the repository root; or in this
process, where the process is not what a test is about."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PGASK = [sys.executable, "-m", "app"]


def env_without_pgask_settings(**extra: str) -> dict[str, str]:
    """This process's environment minus every PGASK_ setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGASK_")}
    return {**env, **extra}


def pgask(
    args: list[str], env: Mapping[str, str], timeout: float = 240, python: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run `pgask ARGS...` to the end; the caller checks its exit code and output.
    `python`: interpreter options, e.g. `-X importtime`."""
    return subprocess.run(
        [sys.executable, *python, "-m", "app", *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pgask_in_process(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`pgask ARGS...` run in this process by Typer's CliRunner, with `env` as the whole
    environment, shaped as `pgask` ends: a `PgaskError` is one `pgask: error:` line and exit
    1 (2 for a server error). For tests whose subject is what a command does, not its process
    (start, signals, exit handlers): it saves the interpreter's start and imports. It runs
    in a thread of its own, as commands run their own event loop; settings are read afresh."""
    from typer.testing import CliRunner

    from app.cli import app
    from app.config import get_settings
    from app.errors import PgaskError

    unset: dict[str, str | None] = {name: None for name in os.environ if name not in env}
    done: list[subprocess.CompletedProcess[str] | BaseException] = []

    def run() -> None:
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, args, env={**unset, **env})
        finally:
            get_settings.cache_clear()
        stderr, code = result.stderr, result.exit_code
        if isinstance(result.exception, PgaskError):
            stderr += f"pgask: error: {result.exception}\n"
            code = 2 if result.exception.status == 500 else 1
        elif result.exception is not None and not isinstance(result.exception, SystemExit):
            done.append(result.exception)  # a bug, not a refusal: raised in the test
            return
        done.append(subprocess.CompletedProcess(["pgask", *args], code, result.stdout, stderr))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if isinstance(done[0], BaseException):
        raise done[0]
    return done[0]
