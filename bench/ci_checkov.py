"""What the Bicep security scan (`.ci/checkov`) adds to a CI run, against an existing CI step.

`.ci/checkov` keeps checkov in a venv of its own outside the clone and reuses it. Each
repetition times, on the same machine load and interleaved:

- `cold`: `.ci/checkov` with an empty cache (a new `XDG_CACHE_HOME`): venv, `pip install`
  from pip's cache, then the scan (what a machine's first CI run pays);
- `warm`: `.ci/checkov` again on that cache: the scan alone (every later run);
- `baseline`: `mypy` with an empty cache, as CI runs it on a fresh clone (an existing step).

`ratio_to_mypy` divides each by the baseline of the same repetition: the machine is shared
and noisy, so the ratios are the steadier figure.

    python bench/ci_checkov.py [--repeat 3] [--name ci-checkov]

Writes bench/results/ci-checkov.json (machine, versions, parameters, every repetition).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, machine, package_versions, write_result


def timed(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "exit_code": done.returncode, "load_before": load}


def repetition() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pgask-ci-checkov-") as scratch:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(scratch) / "cache")}
        cold = timed(["bash", ".ci/checkov"], env)
        warm = timed(["bash", ".ci/checkov"], env)
        mypy = [sys.executable, "-m", "mypy", "--cache-dir", str(Path(scratch) / "mypy")]
        baseline = timed(mypy, dict(os.environ))
    for step in (cold, warm):
        step["ratio_to_mypy"] = round(step["seconds"] / baseline["seconds"], 3)
    return {"cold": cold, "warm": warm, "baseline_mypy": baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--name", default="ci-checkov")
    args = parser.parse_args()
    info = machine()
    runs = []
    for number in range(1, args.repeat + 1):
        run = repetition()
        runs.append(run)
        print(f"repetition {number}: {run}", flush=True)
    checkov = (ROOT / ".ci/checkov").read_text().split("version=", 1)[1].split()[0]
    result = {
        "what": "seconds .ci/checkov adds to .ci/run, cold (venv made) and warm (venv reused), "
        "against .ci/run's mypy step with an empty cache",
        "machine": info,
        "versions": {"checkov": checkov, **package_versions(["mypy", "pycep-parser"])},
        "parameters": {"repeat": args.repeat},
        "runs": runs,
    }
    print(write_result(args.name, result))


if __name__ == "__main__":
    main()
