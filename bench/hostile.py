"""Memory and responsiveness of `pgask serve` while its worker ingests hostile uploads.

Starts `python -m app serve` (own data dir and port), uploads each file through
`POST /v1/collections/{c}/files` and, until its job ends, samples every 0.1 s the resident
size of the server and its children (the parse workers and their forkserver; PostgreSQL's
processes are left out) and times `GET /healthz` back to back. The baseline is the same
process tree idle, just before the upload: growth = peak - baseline, ratio = growth / file
size. A small file is ingested first (unless --no-warm-up), so the baseline holds the parse
workers' forkserver, which a server starts once, with its first ingest, and keeps (its RSS
is in each run's `baseline_rss_mb_by_process`). RSS counts a page shared by several
processes (forked parse workers share their forkserver's tokenizer and parsers) once per
process; PSS splits it between them, so the tree's PSS is what it really holds: both are
reported.

    python bench/hostile.py [--line-mb [20 [99 ...]]] [--headings 1000000 (0: none)]
                            [--objects-mb [99 ...]] [--pdf-pages [27000 ...]] [--repeat 1]
                            [--port 8791] [--file-timeout SECONDS] [--no-warm-up]
                            [--name hostile]

Writes bench/results/<name>.json (machine, versions, parameters, every repetition).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, machine, package_versions, percentile, write_result
from tests.reliability.hostile_files import empty_objects_line, one_line_of_words, text_pdf


@dataclass
class Watch:
    """RSS of a process tree and /healthz latencies, sampled until stopped."""

    root: psutil.Process
    url: str
    rss: list[int] = field(default_factory=list)
    pss: list[int] = field(default_factory=list)
    peak_rss_by_process: dict[str, int] = field(default_factory=dict)  # "pid role": bytes
    healthz_ms: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def tree_memory(self) -> tuple[int, int]:
        """RSS and PSS of the tree, PostgreSQL left out."""
        rss = pss = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                if not proc.name().startswith("postgres"):
                    memory = proc.memory_full_info()
                    rss, pss = rss + memory.rss, pss + memory.pss
                    key = f"{proc.pid} {self.role(proc)}"
                    peak = self.peak_rss_by_process.get(key, 0)
                    self.peak_rss_by_process[key] = max(peak, memory.rss)
            except psutil.NoSuchProcess:
                continue
        return rss, pss

    def role(self, proc: psutil.Process) -> str:
        if proc.pid == self.root.pid:
            return "server"
        if "forkserver" not in " ".join(proc.cmdline()):
            return "other"
        return "forkserver" if proc.ppid() == self.root.pid else "parse worker"

    def _sample(self) -> None:
        while not self.stop.wait(0.1):
            rss, pss = self.tree_memory()
            self.rss.append(rss)
            self.pss.append(pss)

    def _probe(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as http:
            while not self.stop.is_set():
                started = time.perf_counter()
                http.get("/healthz").raise_for_status()
                self.healthz_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(0.05)

    def __enter__(self) -> Watch:
        self._threads = [threading.Thread(target=f) for f in (self._sample, self._probe)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()


def headings_only(count: int) -> bytes:
    """`count` Markdown headings and nothing else (16 MB for 1,000,000)."""
    return b"".join(b"# heading %d\n" % i for i in range(count))


def ingest(http: httpx.Client, name: str, data: bytes) -> dict[str, Any]:
    """Upload one file into a new collection; its job once it ended."""
    collection = f"hostile-{name.replace('.', '-')}-{time.time_ns()}"
    http.post("/v1/collections", json={"name": collection}).raise_for_status()
    response = http.post(f"/v1/collections/{collection}/files", files=[("files", (name, data))])
    response.raise_for_status()
    while (job := http.get(response.headers["location"]).json())["status"] not in (
        "succeeded",
        "failed",
    ):
        time.sleep(0.5)
    return dict(job)


def upload(http: httpx.Client, server: psutil.Process, name: str, data: bytes) -> dict[str, Any]:
    watch = Watch(server, str(http.base_url))
    baseline, baseline_pss = watch.tree_memory()
    at_baseline = {key: rss / 2**20 for key, rss in watch.peak_rss_by_process.items()}
    watch.peak_rss_by_process.clear()
    started = time.perf_counter()
    with watch:
        job = ingest(http, name, data)
    peak = max(watch.rss, default=baseline)
    peak_pss = max(watch.pss, default=baseline_pss)
    return {
        "file": name,
        "file_mb": len(data) / 2**20,
        "seconds": time.perf_counter() - started,
        "job": {k: job[k] for k in ("status", "done", "failed", "errors", "result")},
        "baseline_rss_mb": baseline / 2**20,
        "baseline_rss_mb_by_process": at_baseline,
        "peak_rss_mb": peak / 2**20,
        "growth_mb": (peak - baseline) / 2**20,
        "growth_per_file_size": (peak - baseline) / len(data),
        "baseline_pss_mb": baseline_pss / 2**20,
        "peak_pss_mb": peak_pss / 2**20,
        "pss_growth_per_file_size": (peak_pss - baseline_pss) / len(data),
        "peak_rss_mb_by_process": {
            key: rss / 2**20 for key, rss in watch.peak_rss_by_process.items()
        },
        "healthz_requests": len(watch.healthz_ms),
        "healthz_p50_ms": percentile(watch.healthz_ms, 50),
        "healthz_p99_ms": percentile(watch.healthz_ms, 99),
        "healthz_max_ms": max(watch.healthz_ms),
    }


def embedding_environment() -> dict[str, str]:
    """The embedder the server uses (passed through from this environment): the local model,
    or `openai` against an instant fake server, which keeps ONNX Runtime's memory and time out
    of the measurement."""
    keys = ("EMBEDDING_PROVIDER", "EMBEDDING_MODEL", "EMBEDDING_DIMENSIONS", "OPENAI_BASE_URL")
    return {key.lower(): os.environ[key] for key in keys if key in os.environ}


def serve(data_dir: str, port: int, file_timeout: float | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PGASK_", "DATABASE_"))}
    env.update(PGASK_DATA_DIR=data_dir, PGASK_PORT=str(port), PGASK_ALLOW_UNAUTHENTICATED="1")
    if file_timeout is not None:  # a loaded machine parses slower than the default allows
        env["PGASK_INGEST_FILE_TIMEOUT_SECONDS"] = str(file_timeout)
    return subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--line-mb", type=int, nargs="*", default=[20])
    parser.add_argument("--headings", type=int, default=1_000_000, help="0: no headings file")
    parser.add_argument(
        "--objects-mb",
        type=int,
        nargs="*",
        default=[],
        help="a JSON line of this many MB of empty objects: over any memory budget",
    )
    parser.add_argument(
        "--pdf-pages",
        type=int,
        nargs="*",
        default=[],
        help="a plain PDF of this many pages of text (3.6 kB each): a large legitimate file",
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--file-timeout", type=float, default=None, help="seconds per file")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false")
    parser.add_argument("--name", default="hostile", help="bench/results/<name>.json")
    args = parser.parse_args()
    files = [(f"line-{mb}mb.jsonl", one_line_of_words(mb)) for mb in args.line_mb]
    if args.headings:
        files.insert(1, ("headings.md", headings_only(args.headings)))
    files += [(f"objects-{mb}mb.jsonl", empty_objects_line(mb)) for mb in args.objects_mb]
    files += [(f"text-{pages}p.pdf", text_pdf(pages)) for pages in args.pdf_pages]
    runs = []
    with tempfile.TemporaryDirectory(prefix="pgask-hostile-") as data_dir:
        process = serve(data_dir, args.port, args.file_timeout)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=120) as http:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    try:
                        if http.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.5)
                server = psutil.Process(process.pid)
                if args.warm_up:
                    ingest(http, "warm-up.md", b"# Warm-up\n\nThe forkserver starts.")
                for repetition in range(args.repeat):
                    for name, data in files:
                        run = upload(http, server, name, data)
                        run["repetition"] = repetition
                        print(run, flush=True)
                        runs.append(run)
        finally:
            process.terminate()
            process.wait(60)
    write_result(
        args.name,
        {
            "command": "python " + " ".join(sys.argv),
            "machine": machine(),
            "versions": package_versions(["pgask", "pebble", "pypdf", "tiktoken", "fastembed"]),
            "parameters": vars(args) | embedding_environment(),
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
