"""Temporary files of killed processes are removed by the next pgask process to start, and
only theirs: a live process's folder stays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from app import tempdir
from tests.cli import ROOT, pgask

# A process that claims its folder, starts a child that writes there too (as a parse worker
# would), says where it is, and waits to be killed.
_CLAIM_AND_WAIT = """
import subprocess, sys, tempfile, time
from app import tempdir
folder = tempdir.claim()
tempfile.mkstemp(prefix="pgask-chunks-")
subprocess.run([sys.executable, "-c", "import tempfile; tempfile.mkdtemp(prefix='pymp-')"])
print(folder, flush=True)
time.sleep(600)
"""


def _start(base: Path) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "TMPDIR": str(base)}
    process = subprocess.Popen(
        [sys.executable, "-c", _CLAIM_AND_WAIT],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    return process, folder


def test_a_killed_process_leaves_a_folder_the_next_start_removes(tmp_path: Path) -> None:
    killed, gone = _start(tmp_path)
    alive, kept = _start(tmp_path)
    try:
        assert gone.parent == tmp_path and gone.name.startswith(tempdir.PREFIX)
        left = sorted(p.name.split("-")[0] + "-" + p.name.split("-")[1] for p in gone.iterdir())
        assert [name.startswith(("pgask-chunks", "pymp-")) for name in left] == [True, True]
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert gone.is_dir()  # nobody removed it at exit: it was killed
        unrelated = tmp_path / "pgask-proc-notapid"
        unrelated.mkdir()
        assert tempdir.sweep(tmp_path) == [gone]
        assert not gone.exists() and kept.is_dir() and unrelated.is_dir()
    finally:
        alive.kill()
        alive.wait()


def test_a_command_removes_its_folder_at_exit(tmp_path: Path) -> None:
    result = pgask(["--help"], {**os.environ, "TMPDIR": str(tmp_path)})
    assert result.returncode == 0
    assert list(tmp_path.glob(f"{tempdir.PREFIX}*")) == []
