"""What moved between two runs of bench/realdocs.py (not run by CI): per set and mode the
counts before and after, then every question whose rank of the right page or whose answer
changed. Reads two result files; writes nothing.

    python bench/realdocs_moves.py BEFORE.json AFTER.json [--modes vector text hybrid]

A question is matched by its text, so a set whose questions were edited between the runs
shows only the questions both runs asked.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

MODES = ("vector", "text", "hybrid")
COUNTS = ("right_page_first", "top_3", "answer_carries_term")


def _rank(value: int | None) -> str:
    return "-" if value is None else str(value)


def moves(before: dict[str, Any], after: dict[str, Any], modes: tuple[str, ...]) -> list[str]:
    """Lines that say, per set both runs measured, what moved."""
    lines: list[str] = []
    for name, new in after["sets"].items():
        old = before["sets"].get(name)
        if old is None or "summary" not in old or "summary" not in new:
            continue
        lines.append(f"## {name}")
        for mode in modes:
            counts = ", ".join(
                f"{key} {old['summary'][mode][key]} -> {new['summary'][mode][key]}"
                for key in COUNTS
            )
            lines.append(f"{mode}: {counts} (of {new['summary'][mode]['questions']})")
        earlier = {row["question"]: row for row in old["per_question"]}
        for row in new["per_question"]:
            was = earlier.get(row["question"])
            if was is None:
                continue
            for mode in modes:
                a, b = was[mode], row[mode]
                if a["rank"] != b["rank"] or a["carries"] != b["carries"]:
                    lines.append(
                        f"  {mode}: rank {_rank(a['rank'])} -> {_rank(b['rank'])}, carries "
                        f"{'yes' if a['carries'] else 'no'} -> {'yes' if b['carries'] else 'no'}"
                        f": {row['question']}"
                    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()
    before, after = (json.loads(path.read_text()) for path in (args.before, args.after))
    print("\n".join(moves(before, after, tuple(args.modes))))


if __name__ == "__main__":
    main()
