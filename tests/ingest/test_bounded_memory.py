"""Parsing and chunking a hostile file costs memory in proportion to the file (issue 14):
a real parse worker with a memory budget of a few times the file size prepares a long line
of words and reads through a file of headings, where holding every piece, token or
markdown-it token at once took 64-88 times the file size. `pgask serve` stores an upload a
piece at a time: it held each whole, and its job fetched it whole again."""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import psutil
import pytest

from app.config import Settings
from app.embeddings import Embedder, build_embedder
from ingest.chunker import chunk_blocks, count_tokens
from ingest.items import Item
from ingest.loaders import Block, load_file
from ingest.parse_worker import FileInput, over_memory
from ingest.parsing import FileBudget, ParsePool
from ingest.prepare import Chunking, Failure, Prepared
from ingest.service import model_limit
from tests.cli import env_without_pgask_settings
from tests.conftest import ROOT
from tests.reliability.hostile_files import empty_objects_line, one_line_of_words
from tests.servers import ServeProcess

pytestmark = pytest.mark.anyio

LINE_MB = 12
HEADINGS = 300_000  # 4.6 MB of "# heading N" lines


async def _parsed(name: str, source: FileInput, memory_mb: int) -> list[Item]:
    async def files() -> AsyncIterator[tuple[str, FileInput]]:
        yield name, source

    budget = FileBudget(seconds=600, memory_mb=memory_mb, workers=1)
    async with ParsePool(budget, Chunking(256, 32)) as pool:
        return [item async for item in pool.parse(files())]


async def test_a_long_line_of_words_is_chunked_within_six_times_its_size(tmp_path: Path) -> None:
    path = tmp_path / "line.jsonl"
    path.write_bytes(one_line_of_words(LINE_MB))
    [item] = await _parsed("line.jsonl", path, memory_mb=6 * LINE_MB)

    assert isinstance(item, Prepared), item
    assert sum(len(c.text) for c in item.chunks) >= LINE_MB * 2**20 * 0.99
    assert all(c.token_count <= 256 for c in item.chunks)


async def test_a_file_of_headings_is_read_within_ten_times_its_size() -> None:
    data = b"".join(b"# heading %d\n" % i for i in range(HEADINGS))
    memory_mb = 10 * len(data) // 2**20
    [item] = await _parsed("headings.md", data, memory_mb=memory_mb)

    assert item == Failure("headings.md", "no text in file")  # not over its memory budget


def test_long_markdown_keeps_every_section_across_its_pieces() -> None:
    """Parsed in pieces of about 256 KiB, cut before headings: no section is lost or cut."""
    sections = 20_000
    text = "".join(
        f"# Part {i}\n\nBody {i} text.\n\n## Sub {i}\n\nMore {i}.\n" for i in range(sections)
    )
    doc = load_file("long.md", text.encode())

    assert len(text) > 4 * 2**18
    assert len(doc.blocks) == 2 * sections
    assert doc.blocks[-1] == Block(
        f"More {sections - 1}.", f"Part {sections - 1} > Sub {sections - 1}"
    )
    assert doc.blocks[1000] == Block("Body 500 text.", "Part 500")


def test_a_span_of_spaces_between_words_is_not_lost() -> None:
    """A whitespace run far longer than a chunk between two words: both words kept, each
    chunk within its size."""
    text = "first" + " " * 200_000 + "last"
    chunks = chunk_blocks([Block(text)], 16, 4)
    assert [c.text for c in chunks] == ["first", "last"]
    assert all(c.token_count == count_tokens(c.text) for c in chunks)


@pytest.mark.parametrize("provider", ["local", "openai"])
def test_a_parse_worker_gets_the_token_counter_without_the_embedding_provider(
    provider: str, embedder: Embedder, settings: Settings
) -> None:
    """Unpickling the model's token counter (what each parse worker does at start) imports
    no embedding provider: `app.embeddings.openai` cost each worker 68 MB of its own."""
    if provider == "openai":
        # Dimensions given: the server (none listens there) is never asked.
        openai = settings.model_copy(
            update={
                "embedding_provider": "openai",
                "embedding_model": "text-embedding-3-small",
                "embedding_dimensions": 8,
                "openai_base_url": "http://127.0.0.1:9/v1",
            }
        )
        embedder = build_embedder(openai)
    limit = model_limit(embedder, chunk_size=embedder.max_input_tokens or 1)  # counter needed
    assert limit is not None
    heavy = ("app.embeddings", "openai", "numpy")
    probe = (
        "import pickle, sys; pickle.loads(sys.stdin.buffer.read())[0]('a few words');"
        f"print(sorted(m for m in sys.modules if m.startswith({heavy})))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe],
        input=pickle.dumps(limit),
        capture_output=True,
        cwd=ROOT,
    )
    assert imported.returncode == 0, imported.stderr.decode()
    assert imported.stdout.decode().strip() == "[]"


@pytest.mark.parametrize("files", [1, 2])
async def test_as_many_parse_workers_start_as_there_are_files_to_parse_at_once(
    files: int,
) -> None:
    """One file is parsed by one worker: a second idle worker cost an upload 68 MB of RSS."""

    async def sources() -> AsyncIterator[tuple[str, FileInput]]:
        for number in range(files):
            yield f"{number}.md", b"# Title\n\nSome text."

    budget = FileBudget(seconds=120, memory_mb=256, workers=2)
    async with ParsePool(budget, Chunking(64, 8)) as pool:
        items = [item async for item in pool.parse(sources())]
        [server] = [p for p in psutil.Process().children() if "forkserver" in p.cmdline()[-1]]
        workers = server.children()
    assert [type(item) for item in items] == [Prepared] * files
    assert len(workers) == files


UPLOAD_MB = 48


class PeakRss:
    """The highest resident size of any of `processes()`, sampled every 5 ms while the
    block runs."""

    def __init__(self, processes: Callable[[], list[psutil.Process]]) -> None:
        self.processes = processes
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            for process in self.processes():
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.peak = max(self.peak, process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def test_a_parser_holding_the_gil_is_stopped_at_its_memory_budget() -> None:
    """`json.loads` of 24 MB of empty objects (600 MB of dicts) holds the worker's GIL for
    the whole call: a watch inside the worker looked only once it returned, at its peak. The
    pool watches from outside and kills the worker near its budget."""
    budget_mb = 64
    data = empty_objects_line(24)
    budget = FileBudget(seconds=600, memory_mb=budget_mb, workers=1)

    async def files() -> AsyncIterator[tuple[str, FileInput]]:
        yield "objects.jsonl", data

    async with ParsePool(budget, Chunking(256, 32)) as pool:
        [server] = [p for p in psutil.Process().children() if "forkserver" in p.cmdline()[-1]]
        with PeakRss(server.children) as workers:
            items = [item async for item in pool.parse(files())]
    forkserver_mb = server.memory_info().rss / 2**20
    assert items == [over_memory("objects.jsonl", budget_mb)]
    # a worker starts at about the forkserver's size; 100 MB for the watch's latency
    assert workers.peak / 2**20 < forkserver_mb + budget_mb + 100, workers.peak / 2**20


def test_the_server_stores_an_upload_without_holding_it(tmp_path: Path, db_url: str) -> None:
    """A 48 MB upload grows `pgask serve` by a fraction of its size: it is stored a 1 MiB
    piece at a time (it was read whole, then bound whole to its INSERT: 48 MB and more)."""
    upload = tmp_path / "big.md"
    upload.write_bytes(b"# Big\n\n" + b"word " * (UPLOAD_MB * 2**20 // 5))
    env = env_without_pgask_settings(
        DATABASE_URL=db_url, PGASK_INGEST_WORKER="0", PGASK_INGEST_MAX_FILE_MB="64"
    )
    name = f"upload-{uuid.uuid4().hex[:8]}"
    with (
        ServeProcess(env, tmp_path / "serve.log") as serve,
        httpx.Client(base_url=serve.url, timeout=300) as http,
    ):
        assert http.post("/v1/collections", json={"name": name}).status_code == 201
        try:
            small = [("files", ("small.md", b"# Small\n\n" + b"x" * 2**20, "text/markdown"))]
            assert http.post(f"/v1/collections/{name}/files", files=small).status_code == 202
            server = psutil.Process(serve.process.pid)
            before = server.memory_info().rss
            with PeakRss(lambda: [server]) as rss, upload.open("rb") as content:
                files = [("files", ("big.md", content, "text/markdown"))]
                created = http.post(f"/v1/collections/{name}/files", files=files)
            assert created.status_code == 202, created.text
            assert http.get(created.headers["location"]).json()["total"] == 1
        finally:  # the queued jobs go with their collection
            assert http.delete(f"/v1/collections/{name}").status_code == 204
    growth_mb = (rss.peak - before) / 2**20
    assert growth_mb < UPLOAD_MB / 4, f"the server grew by {growth_mb:.1f} MB"
