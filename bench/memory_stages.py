"""Peak memory of an ingest, per stage: the parse workers (load, parse, chunk), the embed
stage (the local model) and the whole `pgask ingest` process, PostgreSQL counted apart.

Two parts, each in fresh processes:

- `pipeline`: a real `pgask ingest CORPUS --collection C --json` on a new data dir (the
  embedded PostgreSQL), sampled every `--interval` s. Each process of the command's tree is
  put in one role: `main` (the command: prepare, embed, write), `parse` (the parse workers and
  their forkserver), `postgres` (the embedded server and its backends, counted apart). For
  each role: peak RSS and PSS of the role's processes summed, and of its largest process;
  for the pgask tree (main + parse): the peak of the sum.
- `embed`: for each `--cells` value, a child process loads the local model as `pgask` does
  (`build_embedder`), sets its `max_cells` (cells, texts x padded word pieces, in one run of
  the model; 0: no bound but `EMBEDDING_BATCH_SIZE` texts, the code before the bound), then
  embeds the corpus's first `--embed-texts` stored chunks (read back from the pipeline's
  database, in stored order, with their context lines) in calls of the pipeline's
  `EMBED_STEP`, sampling its own RSS every 10 ms: growth = peak - RSS after loading the model
  (and one query embedded).

    flock /tmp/pgask-bench.lock python bench/memory_stages.py \
        --corpus /usr/share/doc/postgresql-doc-15/html --name memory-stages

The corpus above is the PostgreSQL 15 HTML manual (Debian's `postgresql-doc-15`: 1,169
pages, 18 MB). Results go to bench/results/NAME.json with every sample's peak, the command's
own report, the machine and the versions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import machine, package_versions, write_result

MB = 1024 * 1024
MANUAL = Path("/usr/share/doc/postgresql-doc-15/html")
ROLES = ("main", "parse", "postgres")


def _memory(proc: psutil.Process) -> tuple[int, int] | None:
    """(RSS, PSS) in bytes; None once the process is gone."""
    try:
        full = proc.memory_full_info()
        return full.rss, getattr(full, "pss", full.rss)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def _postmaster(data_dir: Path) -> psutil.Process | None:
    pidfile = next(data_dir.rglob("postmaster.pid"), None)
    if pidfile is None:
        return None
    try:
        return psutil.Process(int(pidfile.read_text().split()[0]))
    except (ValueError, IndexError, psutil.NoSuchProcess):
        return None


class TreeSampler:
    """Samples the roles' memory until stopped; keeps each role's peaks."""

    def __init__(self, main: psutil.Process, data_dir: Path, interval: float) -> None:
        self.main, self.data_dir, self.interval = main, data_dir, interval
        self.peaks: dict[str, dict[str, int]] = {
            role: {"rss": 0, "pss": 0, "largest_rss": 0} for role in ROLES
        }
        self.peaks["pgask"] = {"rss": 0, "pss": 0}  # main + parse, summed at each sample
        self.main_baseline_rss = 0
        self.samples = 0
        self.parse_pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _roles(self) -> dict[str, list[psutil.Process]]:
        roles: dict[str, list[psutil.Process]] = {role: [] for role in ROLES}
        postmaster = _postmaster(self.data_dir)
        server: set[int] = set()
        if postmaster is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                server = {postmaster.pid, *(p.pid for p in postmaster.children(recursive=True))}
        roles["main"].append(self.main)
        try:
            children = self.main.children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        for child in children:
            roles["postgres" if child.pid in server else "parse"].append(child)
        roles["postgres"].extend(psutil.Process(pid) for pid in server if psutil.pid_exists(pid))
        return roles

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = [0, 0]
            for role, procs in self._roles().items():
                total, largest = [0, 0], 0
                seen: set[int] = set()
                for proc in procs:
                    if proc.pid in seen:
                        continue
                    seen.add(proc.pid)
                    memory = _memory(proc)
                    if memory is None:
                        continue
                    total[0] += memory[0]
                    total[1] += memory[1]
                    largest = max(largest, memory[0])
                    if role == "parse":
                        self.parse_pids.add(proc.pid)
                peak = self.peaks[role]
                peak["rss"] = max(peak["rss"], total[0])
                peak["pss"] = max(peak["pss"], total[1])
                peak["largest_rss"] = max(peak["largest_rss"], largest)
                if role != "postgres":
                    tree[0] += total[0]
                    tree[1] += total[1]
            self.peaks["pgask"]["rss"] = max(self.peaks["pgask"]["rss"], tree[0])
            self.peaks["pgask"]["pss"] = max(self.peaks["pgask"]["pss"], tree[1])
            self.samples += 1
            self._stop.wait(self.interval)


def run_pipeline(corpus: Path, data_dir: Path, interval: float) -> dict[str, Any]:
    env = {**os.environ, "PGASK_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    # The embedded server starts first, alone, so its start is not in the ingest's numbers.
    subprocess.run([_pgask(), "db", "upgrade"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [_pgask(), "ingest", str(corpus), "--collection", "manual", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with TreeSampler(psutil.Process(proc.pid), data_dir, interval) as sampler:
        out, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"pgask ingest failed ({proc.returncode}): {err.strip()[-2000:]}")
    return {
        "seconds": round(seconds, 1),
        "samples": sampler.samples,
        "parse_processes": len(sampler.parse_pids),
        "peak_mb": {
            role: {key: round(value / MB, 1) for key, value in peaks.items()}
            for role, peaks in sampler.peaks.items()
        },
        "report": json.loads(out.strip().splitlines()[-1]),
    }


def stored_texts(data_dir: Path, count: int) -> list[str]:
    """The first `count` chunks' embedded texts (what the model read), in stored order."""
    code = (
        "import json,sys,psycopg;from app.config import load_settings;"
        "from app.db.embedded import database_url;"
        "url=database_url(load_settings(_env_file=None))"
        ".render_as_string(hide_password=False).replace('+psycopg','');"
        "from ingest.embedded import context_line,embedded_text;"
        "rows=psycopg.connect(url).execute('SELECT title, section, text FROM chunks "
        f"ORDER BY id LIMIT {int(count)}').fetchall();"
        "print(json.dumps([embedded_text(context_line(t,s),x) for t,s,x in rows]))"
    )
    env = {**os.environ, "PGASK_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def embed_child(texts_file: Path, interval: float, cells: int) -> None:
    """Runs in its own process: the embed stage alone, its RSS sampled from a thread."""
    import asyncio

    from app.config import load_settings
    from app.embeddings.factory import build_embedder
    from ingest.pipeline import EMBED_STEP

    texts = json.loads(texts_file.read_text())
    me = psutil.Process()
    embedder = build_embedder(load_settings(_env_file=None))
    if cells:
        embedder.max_cells = cells  # type: ignore[attr-defined]  # the local model's bound
    else:
        embedder.max_cells = 10**9  # type: ignore[attr-defined]  # no bound: the code before
    asyncio.run(embedder.embed_query("warm up"))
    baseline = me.memory_info().rss
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()

    async def embed_all() -> None:
        for start in range(0, len(texts), EMBED_STEP):
            await embedder.embed_documents(texts[start : start + EMBED_STEP])

    asyncio.run(embed_all())
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    counter = embedder.token_counter()
    pieces = [counter(t) for t in texts] if counter else []
    print(
        json.dumps(
            {
                "texts": len(texts),
                "word_pieces_mean": round(sum(pieces) / max(1, len(pieces)), 1),
                "word_pieces_max": max(pieces, default=0),
                "rss_after_model_mb": round(baseline / MB, 1),
                "peak_rss_mb": round(peak[0] / MB, 1),
                "growth_mb": round((peak[0] - baseline) / MB, 1),
                "seconds": round(seconds, 1),
                "embedding_batch_size": getattr(embedder, "batch_size", None),
                "max_cells": cells,
            }
        )
    )


def run_embed(texts: list[str], cells: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--embed-child", f.name, "--cells", str(cells)],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(f.name)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _pgask() -> str:
    return str(Path(sys.executable).with_name("pgask"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=MANUAL)
    parser.add_argument("--name", default="memory-stages")
    parser.add_argument("--repeat", type=int, default=1, help="pipeline runs")
    parser.add_argument("--embed-texts", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--cells", type=int, nargs="*", default=[0, 1024, 2048, 4096])
    parser.add_argument("--embed-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.embed_child:
        embed_child(args.embed_child, 0.01, args.cells[0])
        return
    files = [p for p in args.corpus.rglob("*") if p.is_file()]
    result: dict[str, Any] = {
        "benchmark": "memory_stages",
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "data": {
            "corpus": str(args.corpus),
            "files": len(files),
            "megabytes": round(sum(p.stat().st_size for p in files) / MB, 1),
        },
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent
        ).stdout.strip(),
        "machine": machine(),
        "versions": package_versions(["fastembed", "onnxruntime", "tokenizers", "psutil"]),
        "settings": {
            k: v
            for k, v in os.environ.items()
            if k.startswith(("EMBEDDING_", "PGASK_INGEST")) and "KEY" not in k
        },
        "pipeline": [],
    }
    with tempfile.TemporaryDirectory(prefix="pgask-memory-") as tmp:
        for run in range(args.repeat):
            data_dir = Path(tmp) / f"data-{run}"
            stats = run_pipeline(args.corpus, data_dir, args.interval)
            print(json.dumps({"pipeline": run, **{k: stats[k] for k in ("seconds", "peak_mb")}}))
            result["pipeline"].append(stats)
            if run == 0 and args.embed_texts:
                texts = stored_texts(data_dir, args.embed_texts)
                result["embed"] = [run_embed(texts, n) for n in args.cells]
                print(json.dumps({"embed": result["embed"]}))
    print(write_result(args.name, result))


if __name__ == "__main__":
    main()
