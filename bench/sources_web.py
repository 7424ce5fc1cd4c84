"""The web source's reader on a real manual (not run by CI): writes
bench/results/sources-web.json.

The site is the PostgreSQL 15 manual as Debian ships it (`apt-get install postgresql-doc-15`:
/usr/share/doc/postgresql-doc-15/html, about 1,100 HTML pages), served by Python's
http.server in its own process on 127.0.0.1, which answers If-Modified-Since with a 304 (it
sends Last-Modified, no ETag). Next to it the bench writes a sitemap.xml listing every page
with its file's modification time as lastmod. Each repetition, for `crawl` (from index.html)
and `sitemap`, runs a first scan (nothing known) and a second scan with what the first
recorded and nothing changed (a crawl also a third: the second without the link cache, so
every page is downloaded again for its links): seconds, requests, bytes received, 304s,
items by kind, and the size of the cursor the sync would store (decision 0031).

    flock /tmp/pgask-bench.lock python bench/sources_web.py [--repetitions 3]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, package_versions, write_result
from ingest.sources.base import Fetched
from ingest.sources.web import WebOptions, WebReader

MANUAL = Path("/usr/share/doc/postgresql-doc-15/html")
MAX_PAGES, MAX_DEPTH = 5000, 50


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("http.server did not start")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    if not MANUAL.is_dir():
        sys.exit(f"{MANUAL} is missing: apt-get install postgresql-doc-15")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/html/"
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pgask-bench-web-") as tmp:
        site = Path(tmp)
        (site / "html").symlink_to(MANUAL)
        pages = _sitemap(site, base)
        command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        server = subprocess.Popen(
            [*command, "--directory", str(site)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port)
            for repetition in range(args.repetitions):
                for mode in ("crawl", "sitemap"):
                    sitemap = f"http://127.0.0.1:{port}/sitemap.xml" if mode == "sitemap" else None
                    options = WebOptions(
                        url=f"{base}index.html",
                        prefix=base,
                        sitemap=sitemap,
                        max_pages=MAX_PAGES,
                        max_depth=MAX_DEPTH,
                    )
                    reader, known = WebReader(options), dict[str, str]()
                    first = _scan(reader, known, {})
                    cursor = reader.cursor()
                    second = _scan(reader, known, cursor)
                    run = {"first": first, "unchanged": second}
                    if mode == "crawl":  # decision 0031's rejected way: no link cache
                        run["unchanged_without_link_cache"] = _scan(reader, known, {})
                    runs.append({"repetition": repetition, "mode": mode, **run})
                    print(
                        mode,
                        repetition,
                        "first",
                        first["seconds"],
                        "s,",
                        first["requests"],
                        "requests;",
                        "unchanged",
                        second["seconds"],
                        "s,",
                        second["requests"],
                        "requests,",
                        second["not_modified"],
                        "304s",
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "benchmark": "bench/sources_web.py",
        "machine": machine(),
        "versions": package_versions(["httpx"])
        | {
            "postgresql-doc-15": _debian_version(),
        },
        "data": f"{MANUAL} ({pages} HTML pages), served by python -m http.server "
        "(Last-Modified / If-Modified-Since, no ETag, HTTP/1.0: one connection per request); "
        "the sitemap is generated by the bench with each file's mtime as lastmod",
        "params": {
            "max_pages": MAX_PAGES,
            "max_depth": MAX_DEPTH,
            "repetitions": args.repetitions,
            "url": "index.html",
        },
        "runs": runs,
    }
    print(write_result("sources-web", result))


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
