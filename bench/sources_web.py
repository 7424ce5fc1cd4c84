"""The web source on a real manual (not run by CI): what its reader and its sync cost.

The site is the PostgreSQL 15 manual as Debian ships it (`apt-get install postgresql-doc-15`:
/usr/share/doc/postgresql-doc-15/html, about 1,100 HTML pages), served by Python's
http.server in its own process on 127.0.0.1, which answers If-Modified-Since with a 304 (it
sends Last-Modified, no ETag).

Reader (default; writes bench/results/sources-web.json): next to the manual the bench writes
a sitemap.xml listing every page with its file's modification time as lastmod. Each
repetition, for `crawl` (from index.html) and `sitemap`, runs a first scan (nothing known)
and a second scan with what the first recorded and nothing changed (a crawl also a third:
the second without the link cache, so every page is downloaded again for its links):
seconds, requests, body bytes received, 304s, items by kind, and the size of the cursor the
sync would store (decision 0031).

Sync (`--sync`; writes bench/results/sources-web-sync.json): a copy of the manual, crawled
by a `web` source limited to `--sync-pages` pages, synced three times into a fresh
collection by a job worker in this process (bench/sources_sync.py's timing): first, with
nothing changed, and after 3 of its pages were edited (a paragraph added) and 1 deleted.

    flock /tmp/pgask-bench.lock python bench/sources_web.py [--repetitions 3]
    flock /tmp/pgask-bench.lock python bench/sources_web.py --sync [--sync-pages 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.access import UNRESTRICTED
from app.catalog import create_collection
from app.config import load_settings
from app.db import migrate
from app.services import Services
from bench.common import machine, package_versions, write_result
from bench.sources_sync import timed_sync
from ingest.context import Ingestion
from ingest.sources.base import Fetched, ReaderContext
from ingest.sources.service import SourceSpec, add_source, remove_source
from ingest.sources.web import WebOptions, WebReader

MANUAL = Path("/usr/share/doc/postgresql-doc-15/html")
MAX_PAGES, MAX_DEPTH = 5000, 50
CONTEXT = ReaderContext(work_dir=Path("/nonexistent"), max_file_bytes=10 * 2**20)
# Pages of the first 200 a crawl reaches, edited and deleted before the third sync.
EDITED = ("tutorial-start.html", "tutorial-sql.html", "tutorial-advanced.html")
DELETED = "tutorial-conclusion.html"
NOTE = "<p>A paragraph added by bench/sources_web.py, about synchronised manuals.</p>"


def _sitemap(site: Path, base: str) -> int:
    pages = sorted(MANUAL.glob("*.html"))
    entries = "".join(
        f"<url><loc>{base}{page.name}</loc><lastmod>"
        f"{datetime.fromtimestamp(page.stat().st_mtime, UTC).isoformat()}</lastmod></url>"
        for page in pages
    )
    (site / "sitemap.xml").write_text(
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    )
    return len(pages)


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """`python -m http.server` serving `folder` on 127.0.0.1; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            if time.monotonic() > deadline:
                raise RuntimeError("http.server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _scan(reader: WebReader, known: dict[str, str], cursor: dict[str, Any]) -> dict[str, Any]:
    before = vars(reader.stats).copy()
    kinds: Counter[str] = Counter()
    started = time.perf_counter()
    for item in reader.scan(known, cursor):
        kinds[type(item).__name__] += 1
        if isinstance(item, Fetched):
            known[item.key] = item.version
    seconds = time.perf_counter() - started
    after = vars(reader.stats)
    return {
        "seconds": round(seconds, 3),
        **{name: after[name] - before[name] for name in after},
        "items": dict(kinds),
        "cursor_bytes": len(json.dumps(reader.cursor())),
        "stopped": reader.cursor().get("stopped"),
        "skipped": reader.cursor().get("skipped"),
    }


def reader_runs(url: str, repetitions: int) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    base = f"{url}/html/"
    for repetition in range(repetitions):
        for mode in ("crawl", "sitemap"):
            options = WebOptions(
                url=f"{base}index.html",
                prefix=base,
                sitemap=f"{url}/sitemap.xml" if mode == "sitemap" else None,
                max_pages=MAX_PAGES,
                max_depth=MAX_DEPTH,
            )
            reader, known = WebReader(options, CONTEXT), dict[str, str]()
            first = _scan(reader, known, {})
            second = _scan(reader, known, reader.cursor())
            run = {"first": first, "unchanged": second}
            if mode == "crawl":  # decision 0031's rejected way: no link cache
                run["unchanged_without_link_cache"] = _scan(reader, known, {})
            runs.append({"repetition": repetition, "mode": mode, **run})
            print(mode, repetition, {k: (v["seconds"], v["requests"]) for k, v in run.items()})
    return runs


async def sync_runs(site: Path, url: str, pages: int, repetitions: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="pgask-bench-web-sync-") as scratch:
        settings = load_settings(pgask_data_dir=Path(scratch) / "data", _env_file=None)
        services = await Services.start(settings)
        try:
            migrate.upgrade(services.db.url)
            ingestion = Ingestion.of(services.db, settings)
            runs = []
            for _ in range(repetitions):
                runs.append(await _sync_repetition(ingestion, services, site, url, pages))
                print(runs[-1])
            return runs
        finally:
            await services.close()


async def _sync_repetition(
    ingestion: Ingestion, services: Services, site: Path, url: str, pages: int
) -> dict[str, Any]:
    manual = site / "html"
    shutil.rmtree(manual, ignore_errors=True)
    shutil.copytree(MANUAL, manual)
    name = f"bench-{uuid.uuid4().hex[:8]}"
    async with services.db.owner_session() as session:
        await create_collection(session, services.embedder, name=name)
    options = {"url": f"{url}/html/index.html", "max_pages": pages, "max_depth": MAX_DEPTH}
    await add_source(ingestion, UNRESTRICTED, SourceSpec(name, name, "web", options))
    runs = {"first": await timed_sync(ingestion, services, name)}
    runs["no_change"] = await timed_sync(ingestion, services, name)
    await asyncio.sleep(1.1)  # Last-Modified has whole seconds
    for page in EDITED:
        path = manual / page
        path.write_text(path.read_text().replace("</body>", f"{NOTE}</body>"))
    (manual / DELETED).unlink()
    runs["three_edited_one_deleted"] = await timed_sync(ingestion, services, name)
    await remove_source(ingestion, UNRESTRICTED, name)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--sync", action="store_true", help="measure syncs, not the reader")
    parser.add_argument("--sync-pages", type=int, default=200)
    args = parser.parse_args()
    if not MANUAL.is_dir():
        sys.exit(f"{MANUAL} is missing: apt-get install postgresql-doc-15")
    pages = len(list(MANUAL.glob("*.html")))
    with tempfile.TemporaryDirectory(prefix="pgask-bench-web-") as tmp, served(Path(tmp)) as url:
        site = Path(tmp)
        if args.sync:
            runs = asyncio.run(sync_runs(site, url, args.sync_pages, args.repetitions))
        else:
            (site / "html").symlink_to(MANUAL)
            _sitemap(site, f"{url}/html/")
            runs = reader_runs(url, args.repetitions)
    data = (
        f"{MANUAL} ({pages} HTML pages), served by python -m http.server (Last-Modified / "
        "If-Modified-Since, no ETag, HTTP/1.0: one connection per request)"
    )
    result = {
        "benchmark": "bench/sources_web.py" + (" --sync" if args.sync else ""),
        "machine": machine(),
        "versions": package_versions(["httpx", "pgask", "fastembed"])
        | {"postgresql-doc-15": _debian_version()},
        "data": data
        + (
            f"; a copy crawled from index.html to {args.sync_pages} pages; before the third "
            f"sync {', '.join(EDITED)} get a paragraph and {DELETED} is deleted"
            if args.sync
            else "; the sitemap is generated by the bench with each file's mtime as lastmod"
        ),
        "params": {
            "max_pages": args.sync_pages if args.sync else MAX_PAGES,
            "max_depth": MAX_DEPTH,
            "repetitions": args.repetitions,
            "url": "index.html",
        },
        "runs": runs,
    }
    print(write_result("sources-web-sync" if args.sync else "sources-web", result))


def _debian_version() -> str | None:
    found = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "postgresql-doc-15"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout or None


if __name__ == "__main__":
    main()
