"""`pgask` as a user runs it: a real subprocess, from the repository root."""

from __future__ import annotations

import os
import subprocess
import sys
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
