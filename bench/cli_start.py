"""How long a `pgask` command takes from the shell prompt to its answer, for this tree and a
baseline tree (e.g. main before a change) in the same run, alternating, hyperfine-style.

    git archive <commit> | tar -x -C /tmp/pgask-baseline
    python bench/cli_start.py --baseline /tmp/pgask-baseline [--runs 10]

Each command runs as a new process (`python -m app ...` with the tree first on PYTHONPATH)
against the embedded PostgreSQL in `--data-dir`, which this script keeps running (as a
`pgask serve` beside the CLI would), so server start-up is not part of the timing. One
warm-up run per command and tree is discarded. Writes bench/results/cli-start.json with the
machine, versions, parameters and every repetition.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, SHARED, machine, package_versions, write_result

COLLECTION = "cli-start"
CORPUS = SHARED / "data" / "fastapi-docs" / "docs" / "tutorial" / "security"
COMMANDS: dict[str, list[str]] = {
    "collections": ["collections"],
    "search (hybrid)": ["search", "how do I add OAuth2 scopes", "-c", COLLECTION],
    "search --mode text": [
        "search",
        "how do I add OAuth2 scopes",
        "-c",
        COLLECTION,
        "--mode",
        "text",
    ],
}


def run(tree: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one `pgask ARGS` from `tree`; raises when it
    fails. CPU time moves far less than wall time on a shared, loaded machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=tree,
        env={**env, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: pgask {' '.join(args)} failed: {done.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def summary(times: list[float]) -> dict[str, float]:
    return {
        "mean_s": round(statistics.mean(times), 3),
        "sd_s": round(statistics.stdev(times), 3) if len(times) > 1 else 0.0,
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }


def compare(
    name: str, wall: dict[str, dict[str, list[float]]], cpu: dict[str, dict[str, list[float]]]
) -> dict[str, Any]:
    """One command's wall and CPU time, baseline against this tree; printed as it goes."""
    row: dict[str, Any] = {"command": name}
    for kind, times in (("wall", wall), ("cpu", cpu)):
        base, this = summary(times["baseline"][name]), summary(times["this tree"][name])
        speedup = round(base["mean_s"] / this["mean_s"], 2)
        row[kind] = {"baseline": base, "this_tree": this, "speedup_of_means": speedup}
        print(
            f"{name:20} {kind:4} baseline {base['mean_s']:.2f} ± {base['sd_s']:.2f} s"
            f"   this tree {this['mean_s']:.2f} ± {this['sd_s']:.2f} s   {speedup}x"
        )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a source tree of pgask")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-cli"))
    parser.add_argument("--output", type=Path, help="default: bench/results/cli-start.json")
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PGASK_DATA_DIR"] = str(options.data_dir)
    os.environ.update(env)
    host = machine()

    from app.config import get_settings
    from app.db.embedded import database_url

    database_url(get_settings())  # this process now keeps the embedded server running
    run(ROOT, ["ingest", str(CORPUS), "-c", COLLECTION], env)  # unchanged after the first run
    trees = {"baseline": options.baseline.resolve(), "this tree": ROOT}
    for tree in trees.values():  # warm-up: file caches, .pyc files
        for args in COMMANDS.values():
            run(tree, args, env)
    wall: dict[str, dict[str, list[float]]] = {t: {c: [] for c in COMMANDS} for t in trees}
    cpu: dict[str, dict[str, list[float]]] = {t: {c: [] for c in COMMANDS} for t in trees}
    for _ in range(options.runs):
        for label, tree in trees.items():
            for name, args in COMMANDS.items():
                seconds, used = run(tree, args, env)
                wall[label][name].append(round(seconds, 3))
                cpu[label][name].append(round(used, 3))
    rows = [compare(name, wall, cpu) for name in COMMANDS]
    write_result(
        "cli-start",
        {
            "benchmark": "cli-start",
            "machine": host | {"load_average_at_end": os.getloadavg()},
            "versions": package_versions(["fastembed", "onnxruntime", "openai", "typer"]),
            "parameters": {
                "runs": options.runs,
                "warmup_runs": 1,
                "trees": {k: str(v) for k, v in trees.items()},
                "commands": COMMANDS,
                "corpus": str(CORPUS),
                "data_dir": str(options.data_dir),
                "server": "embedded PostgreSQL kept running by the benchmark",
                "order": "per repetition: baseline then this tree, each command in turn",
            },
            "results": rows,
            "repetitions": {"wall_s": wall, "cpu_s": cpu},
        },
        options.output,
    )


if __name__ == "__main__":
    main()
