"""bench/realdocs_moves.py reads two realdocs result files and names what moved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


def _result(rank: int | None, carries: bool, other_rank: int) -> dict[str, Any]:
    def mode(r: int | None, c: bool) -> dict[str, Any]:
        return {"rank": r, "top3": [], "carries": c, "answer_sources": []}

    rows = [
        {"question": "q1", **{m: mode(rank, carries) for m in ("vector", "text", "hybrid")}},
        {"question": "q2", **{m: mode(other_rank, True) for m in ("vector", "text", "hybrid")}},
    ]
    summary = {
        "right_page_first": sum(1 for r in (rank, other_rank) if r == 1),
        "top_3": sum(1 for r in (rank, other_rank) if (r or 99) <= 3),
        "answer_carries_term": 1 + int(carries),
        "questions": 2,
    }
    doc_set = {
        "summary": dict.fromkeys(("vector", "text", "hybrid"), summary),
        "per_question": rows,
    }
    return {"sets": {"git": doc_set, "python": {"skipped": "missing"}}}


def test_moves_names_each_question_that_moved_and_the_counts(tmp_path: Path) -> None:
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps(_result(None, False, 1)))
    after.write_text(json.dumps(_result(1, True, 1)))
    run = subprocess.run(
        [sys.executable, "bench/realdocs_moves.py", str(before), str(after), "--modes", "hybrid"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.splitlines() == [
        "## git",
        "hybrid: right_page_first 1 -> 2, top_3 1 -> 2, answer_carries_term 1 -> 2 (of 2)",
        "  hybrid: rank - -> 1, carries no -> yes: q1",
    ]
