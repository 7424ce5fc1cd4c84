"""A large JSON Lines file is parsed in parts of PART_LINES lines across the parse workers
(real spawned processes): every document comes back once, in file order, and a bad line is
reported with its number in the whole file, for a path (the CLI) and for bytes (uploads)."""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ingest.files import Part, jsonl_parts
from ingest.items import Item
from ingest.parse_worker import FileInput
from ingest.parsing import PART_LINES, FileBudget, ParsePool
from ingest.prepare import Chunking, Failure, Prepared

pytestmark = pytest.mark.anyio

LINES = 2 * PART_LINES + 203
BAD = PART_LINES * 2 + 101  # a line in the third part


def _corpus() -> bytes:
    lines = [json.dumps({"_id": f"p{n}", "text": f"passage number {n}"}) for n in range(1, LINES)]
    lines[BAD - 1] = "{not json"
    lines.insert(5, "   ")  # blank lines do not count towards a part's size
    return ("\n".join(lines) + "\n\n").encode()


def test_parts_tile_the_file_at_line_ends() -> None:
    data = _corpus()
    parts = jsonl_parts(io.BytesIO(data), PART_LINES)
    assert [p.first_line for p in parts] == [1, PART_LINES + 2, 2 * PART_LINES + 2]
    assert parts[0].start == 0 and parts[-1].end == len(data)
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    assert all(data[p.end - 1 : p.end] == b"\n" for p in parts)
    assert jsonl_parts(io.BytesIO(b'{"_id": "a", "text": "x"}'), PART_LINES) == [Part(0, 25, 1)]


async def _parsed(source: FileInput) -> list[Item]:
    async def files() -> AsyncIterator[tuple[str, FileInput]]:
        yield "corpus.jsonl", source

    async with ParsePool(
        FileBudget(seconds=120, memory_mb=512, workers=2), Chunking(64, 8)
    ) as pool:
        return [item async for item in pool.parse(files())]


@pytest.mark.parametrize("as_path", [True, False], ids=["path", "bytes"])
async def test_a_large_file_parses_in_parts_with_whole_file_line_numbers(
    tmp_path: Path, as_path: bool
) -> None:
    data = _corpus()
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(data)
    items = await _parsed(path if as_path else data)

    documents = [i.doc.external_id for i in items if isinstance(i, Prepared)]
    expected = [f"p{n}" for n in range(1, LINES) if n != BAD]
    assert documents == expected
    failures = [i for i in items if isinstance(i, Failure)]
    assert [f.path for f in failures] == [f"corpus.jsonl: line {BAD + 1}"]  # +1: the blank


SCRIPT = """
import multiprocessing, os, sys
print("main body ran as", __name__, flush=True)
from ingest.parsing import workers_skip_main
if __name__ == "__main__":
    if sys.argv[1:] == ["skip"]:
        workers_skip_main()
    worker = multiprocessing.get_context("spawn").Process(target=os.getpid)
    worker.start()
    worker.join()
"""


@pytest.mark.parametrize(
    ("args", "runs"), [([], ["__main__", "__mp_main__"]), (["skip"], ["__main__"])]
)
def test_spawned_workers_skip_the_main_script(
    tmp_path: Path, args: list[str], runs: list[str]
) -> None:
    """The `pgask` script imports the whole application; after `workers_skip_main` a spawned
    worker no longer runs it again."""
    script = tmp_path / "entry.py"
    script.write_text(SCRIPT)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert [line.split()[-1] for line in done.stdout.splitlines()] == runs


class _Reads(io.BytesIO):
    """A file that remembers the longest piece read from it."""

    longest = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        piece = super().readline(size)
        self.longest = max(self.longest, len(piece))
        return piece


def test_a_long_line_is_cut_without_being_read_whole() -> None:
    """The server cuts uploads: a 3 MB line is read in pieces of at most 1 MiB."""
    data = b'{"_id": "a", "text": "' + b"word " * 600_000 + b'"}\n\n{"_id": "b", "text": "x"}\n'
    handle = _Reads(data)
    second = len(data) - 27  # the blank line starts the second part
    assert jsonl_parts(handle, 1) == [Part(0, second, 1), Part(second, len(data), 2)]
    assert handle.longest == 2**20
