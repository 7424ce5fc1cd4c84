"""Each pgask process keeps its temporary files in a folder of its own, so that what a killed
process leaves behind (an import's spooled upload, a job's files, spilled chunks, the
multiprocessing folders of its parse workers) can be told from what live processes use, and
removed by the next pgask process that starts.

`claim()` makes `<tempdir>/pgask-proc-<pid>-<start time>` the process's temporary directory
(`tempfile.tempdir`, and TMPDIR for the processes it starts, which inherit it), after removing
the folders of processes that are gone: their pid no longer runs, or runs a process started at
another time (a reused pid). `release()` removes it at the end, once every exit handler has
run (multiprocessing's remove their own folders inside it).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import psutil

PREFIX = "pgask-proc-"
_NAME = re.compile(rf"^{PREFIX}(\d+)-(\d+)$")


def _stamp(process: psutil.Process) -> int:
    return int(process.create_time() * 100)


def _alive(pid: int, stamp: int) -> bool:
    try:
        return _stamp(psutil.Process(pid)) == stamp
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # running, but not ours to inspect: not ours to remove either
        return True


def sweep(base: Path) -> list[Path]:
    """Remove the folders under `base` of pgask processes that are gone; returns them."""
    removed = []
    for entry in base.glob(f"{PREFIX}*"):
        found = _NAME.match(entry.name)
        if found is None or not entry.is_dir():
            continue
        if _alive(int(found.group(1)), int(found.group(2))):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def claim() -> Path:
    """Make this process's temporary folder the one its files and children's go to."""
    base = Path(tempfile.gettempdir())
    sweep(base)
    folder = base / f"{PREFIX}{os.getpid()}-{_stamp(psutil.Process())}"
    folder.mkdir(mode=0o700, exist_ok=True)
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    return folder


def release(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
