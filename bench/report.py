"""Markdown tables for docs/benchmarks/peers.md from bench/results/vs-*.json.

python bench/report.py
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _header(result: dict[str, Any]) -> str:
    load = ", ".join(f"{x:.1f}" for x in result["machine"]["load_average_at_start"])
    return f"`{result['command']}` (load average at start: {load})\n"


def load_table(result: dict[str, Any]) -> str:
    lines = [
        _header(result),
        "| rows x dims | system | rows loaded | rows/s (median) | pgask / system |",
    ]
    lines.append("| --- | --- | ---: | ---: | ---: |")
    for size in result["sizes"]:
        for system, rate in size["median_rows_per_s"].items():
            loaded = max(r["rows_loaded"] for r in size["runs"] if r["system"] == system)
            ratio = size["ratios"].get(f"pgask/{system}")
            lines.append(
                f"| {size['rows']:,} x {size['dimensions']} | {system} | {loaded:,} | {rate:,.0f} "
                f"| {'' if ratio is None else f'{ratio:.1f}x'} |"
            )
    return "\n".join(lines)


def load_phases_table(result: dict[str, Any]) -> str:
    """Where pgask's load time goes (median seconds per phase), and the ratio to the faster
    peer that pgask would reach if writing the rows cost nothing: the peer's seconds for
    the same rows over pgask's index build plus ANALYZE."""
    lines = [
        "| rows x dims | write s | HNSW build s | ANALYZE s | build share "
        "| faster peer s | ratio if writing were free |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in result["sizes"]:
        runs = [r for r in size["runs"] if r["system"] == "pgask" and r.get("phases")]
        peers = {n: v for n, v in size["median_rows_per_s"].items() if n != "pgask"}
        if not runs or not peers:
            continue
        phase = {
            key: statistics.median(r["phases"][key] for r in runs)
            for key in ("write_s", "index_s", "analyze_s")
        }
        total = statistics.median(r["seconds"] for r in runs)
        peer_seconds = size["rows"] / max(peers.values())
        floor = phase["index_s"] + phase["analyze_s"]
        lines.append(
            f"| {size['rows']:,} x {size['dimensions']} | {phase['write_s']:.1f} "
            f"| {phase['index_s']:.1f} | {phase['analyze_s']:.1f} "
            f"| {phase['index_s'] / total:.0%} | {peer_seconds:.0f} "
            f"| {peer_seconds / floor:.1f}x |"
        )
    return "\n".join(lines)


def query_table(result: dict[str, Any]) -> str:
    lines = [
        _header(result),
        "| system | setting | filter | p50 ms | p95 ms | recall@10 | results (mean / min) |",
    ]
    lines.append("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    order = {"none": 0, "1%": 1, "0.1%": 2}
    rows = sorted(result["summary"], key=lambda r: (order[r["filter"]], r["system"], r["variant"]))
    for r in rows:
        lines.append(
            f"| {r['system']} | {r['variant']} | {r['filter']} | {r['p50_ms']:.1f} "
            f"| {r['p95_ms']:.1f} | {r['recall@10']:.3f} "
            f"| {r['mean_returned']:.1f} / {r['min_returned']} |"
        )
    return "\n".join(lines)


def reingest_table(result: dict[str, Any]) -> str:
    lines = [
        _header(result),
        "| system | run | documents | seconds | embedding calls | texts embedded | rows after |",
    ]
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in result["runs"]:
        lines.append(
            f"| {r['system']} | {r['run']} | {r['documents']:,} | {r['seconds']:.2f} "
            f"| {r['embedding_calls']} | {r['texts_embedded']:,} | {r['rows_stored_after']:,} |"
        )
    return "\n".join(lines)


def http_table(result: dict[str, Any]) -> str:
    lines = [_header(result), "| clients | requests | req/s (median) | p50 ms | p99 ms | errors |"]
    lines.append("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for level in result["parameters"]["levels"]:
        runs = [r for r in result["runs"] if r["concurrency"] == level]
        lines.append(
            f"| {level} | {sum(r['requests'] for r in runs):,} "
            f"| {statistics.median(r['throughput_rps'] for r in runs):.0f} "
            f"| {statistics.median(r['p50_ms'] for r in runs):.1f} "
            f"| {statistics.median(r['p99_ms'] for r in runs):.1f} "
            f"| {sum(r['errors'] for r in runs)} |"
        )
    return "\n".join(lines)


def main() -> None:
    tables = {
        "vs-load": lambda r: f"{load_table(r)}\n\n{load_phases_table(r)}",
        "vs-load-100k-full": load_table,
        "vs-query": query_table,
        "vs-reingest": reingest_table,
        "vs-http": http_table,
    }
    for name, render in tables.items():
        result = _load(name)
        if result is not None:
            print(f"### {name}\n\n{render(result)}\n")


if __name__ == "__main__":
    main()
