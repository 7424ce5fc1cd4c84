"""Where the seconds go when a signal stops pgask in the middle of its work (issue 14,
item 4: "SIGINT and SIGTERM stop pgask serve and pgask ingest within 10 s").

Each run starts a real process on a data dir (and port) of its own, with the embedded
PostgreSQL, and sends the signal `--delay` seconds into the work:

- `serve-idle` (the baseline): `pgask serve`, ready, nothing to do, SIGTERM;
- `serve-job`: `pgask serve` whose built-in worker runs an upload of `--documents` JSON
  Lines documents, SIGTERM `--delay` s after the job started running;
- `ingest-sigint`, `ingest-sigterm`: `pgask ingest` of the same file, the signal `--delay` s
  after the collection was created.

For each run: seconds from the signal to each milestone the process prints (uvicorn's
shutdown lines, the job given back, the ingest's "stopped" line), to PostgreSQL's shutdown
request and its end (from the server log), and to the process's exit; its exit code, and
whether the embedded PostgreSQL is still running after. `ratio_to_idle`: the exit time over
the idle server's (same code, same repetition).

    python bench/shutdown.py [--repeat 3] [--documents 3000] [--delay 15] [--name shutdown]
                             [--baseline ../main] [--only SCENARIO...]

`--baseline DIR` runs every scenario also with the code of another checkout (e.g. the
main branch before a change), in the same run and on the same machine load.

Writes bench/results/shutdown.json (machine, versions, parameters, every repetition).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, machine, package_versions, write_result
from tests.servers import free_port

MILESTONES = {
    "uvicorn_shutting_down": "Shutting down",
    "job_given_back": "given back to the queue",
    "app_shutdown_complete": "Application shutdown complete",
    "ingest_stopped_line": "stopped; ",
}
PG_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC")


@dataclass
class Process:
    """A pgask command (the code of checkout `tree`) whose output lines are kept with the
    wall time they arrived."""

    args: list[str]
    data_dir: Path
    tree: Path
    lines: list[tuple[float, str]] = field(default_factory=list)

    def start(self) -> Process:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "app", *self.args],
            cwd=self.tree,
            env=environment(self.data_dir, self.tree),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append((time.time(), line.rstrip("\n")))

    def wait_for_line(self, text: str, seconds: float = 300) -> None:
        deadline = time.monotonic() + seconds
        while not any(text in line for _, line in self.lines):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no {text!r}: {self.lines[-20:]}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals) -> dict[str, Any]:
        """Send `sig`, wait for the exit; the milestones in seconds after the signal."""
        sent = time.time()
        self.popen.send_signal(sig)
        code = self.popen.wait(timeout=600)
        exited = time.time()
        self._reader.join(timeout=10)
        run: dict[str, Any] = {"signal": sig.name, "exit_code": code}
        for name, text in MILESTONES.items():
            at = next((t for t, line in self.lines if t >= sent and text in line), None)
            run[name] = None if at is None else at - sent
        run |= _postgres_shutdown(self.data_dir / "pg" / "log", sent)
        run["exit_seconds"] = exited - sent
        run["postgres_still_running"] = (self.data_dir / "pg" / "postmaster.pid").exists()
        return run


def _postgres_shutdown(log: Path, sent: float) -> dict[str, float | None]:
    """Seconds from the signal to PostgreSQL's shutdown request and to its end."""
    found: dict[str, float | None] = {"postgres_stop_requested": None, "postgres_stopped": None}
    for line in log.read_text(errors="replace").splitlines():
        match = PG_LOG_TIME.match(line)
        if not match:
            continue
        at = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
        if at < sent - 0.01:
            continue
        if "shutdown request" in line and found["postgres_stop_requested"] is None:
            found["postgres_stop_requested"] = at - sent
        if "database system is shut down" in line:
            found["postgres_stopped"] = at - sent
    return found


def corpus(folder: Path, documents: int) -> Path:
    """JSON Lines documents of about 90 words (as tests/reliability/test_stops.py)."""
    path = folder / "corpus.jsonl"
    words = "postgres vector index search ranking passage answer citation " * 10
    path.write_text(
        "".join(
            json.dumps({"_id": f"d{i}", "text": f"{words}{i}"}) + "\n" for i in range(documents)
        )
    )
    return path


def environment(data_dir: Path, tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PGASK_", "DATABASE_"))}
    return env | {
        "PGASK_DATA_DIR": str(data_dir),
        "PGASK_LOG_FORMAT": "text",
        "PYTHONPATH": str(tree),  # that checkout's `app`, not the installed one
    }


def serve(data_dir: Path, tree: Path) -> tuple[Process, str]:
    port = free_port()
    process = Process(["serve", "--port", str(port)], data_dir, tree).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"serve did not get ready: {process.lines[-20:]}")


def serve_idle(data_dir: Path, tree: Path, _corpus: Path, _delay: float) -> dict[str, Any]:
    process, _url = serve(data_dir, tree)
    return process.stop(signal.SIGTERM)


def serve_job(data_dir: Path, tree: Path, corpus_file: Path, delay: float) -> dict[str, Any]:
    process, url = serve(data_dir, tree)
    with httpx.Client(base_url=url, timeout=120) as http:
        http.post("/v1/collections", json={"name": "c"}).raise_for_status()
        files = [("files", ("corpus.jsonl", corpus_file.read_bytes()))]
        job = http.post("/v1/collections/c/files", files=files).json()["job_id"]
        while http.get(f"/v1/jobs/{job}").json()["status"] != "running":
            time.sleep(0.2)
    time.sleep(delay)
    return process.stop(signal.SIGTERM)


def ingest(sig: signal.Signals) -> Any:
    def run(data_dir: Path, tree: Path, corpus_file: Path, delay: float) -> dict[str, Any]:
        args = ["ingest", str(corpus_file), "-c", "c"]
        process = Process(args, data_dir, tree).start()
        process.wait_for_line("created collection")
        time.sleep(delay)
        return process.stop(sig)

    return run


SCENARIOS = {
    "serve-idle": serve_idle,
    "serve-job": serve_job,
    "ingest-sigint": ingest(signal.SIGINT),
    "ingest-sigterm": ingest(signal.SIGTERM),
}


def _repetition(
    tmp: Path, tree: Path, corpus_file: Path, args: argparse.Namespace, repetition: int, code: str
) -> list[dict[str, Any]]:
    """Every scenario once with `tree`'s code; serve-idle first, the others' baseline."""
    runs, idle = [], None
    for name, scenario in SCENARIOS.items():
        if args.only and name not in args.only and name != "serve-idle":
            continue
        data_dir = tmp / f"{code}-{name}-{repetition}"
        data_dir.mkdir(mode=0o755)
        run = scenario(data_dir, tree, corpus_file, args.delay)
        idle = run["exit_seconds"] if name == "serve-idle" else idle
        run |= {"scenario": name, "code": code, "tree": str(tree), "repetition": repetition}
        run["ratio_to_idle"] = run["exit_seconds"] / idle if idle else None
        run["load_average"] = os.getloadavg()
        print(json.dumps(run), flush=True)
        runs.append(run)
    return runs


def main() -> None:
    # A shell's background job starts with SIGINT ignored, which its children inherit
    # across exec: pgask would ignore the SIGINT sent to it. A handler is not inherited.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--delay", type=float, default=15.0)
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), default=None)
    parser.add_argument("--name", default="shutdown", help="bench/results/NAME.json")
    parser.add_argument(
        "--baseline", type=Path, help="also run each scenario with this checkout's code"
    )
    args = parser.parse_args()
    trees = {"this": ROOT} | ({"baseline": args.baseline} if args.baseline else {})
    runs = []
    with tempfile.TemporaryDirectory(prefix="pgask-shutdown-") as tmp:
        corpus_file = corpus(Path(tmp), args.documents)
        for repetition in range(args.repeat):
            for code, tree in trees.items():
                runs += _repetition(Path(tmp), tree, corpus_file, args, repetition, code)
    write_result(
        args.name,
        {
            "machine": machine(),
            "versions": package_versions(["pgask", "uvicorn", "pebble", "fastembed"]),
            "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
