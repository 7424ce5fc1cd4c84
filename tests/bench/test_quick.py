"""Each comparison benchmark's `--quick` mode runs and writes a result file of the right
shape (numbers are not checked: they depend on the machine).

The pgask-only runs (`--systems pgask`) need nothing beyond `.[dev]`, so CI runs them; the
runs with the peers need `pip install -e '.[bench]'` and are skipped without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SYSTEMS = ["pgask", "langchain", "llamaindex"]
MSMARCO = Path(__file__).resolve().parents[3] / "shared" / "data" / "msmarco-5k"
COMMON_KEYS = {"benchmark", "command", "machine", "versions", "parameters"}


def needs_msmarco() -> None:
    """Skip with the reason without the msmarco-5k corpus: a fresh clone has no ../shared,
    and tests do not fetch corpora."""
    if not MSMARCO.is_dir():
        pytest.skip(f"needs the msmarco-5k corpus at {MSMARCO}")


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the module: the benchmarks' embedded server starts once."""
    return tmp_path_factory.mktemp("bench7")


def peers_installed() -> None:
    for module in ("langchain_postgres", "llama_index.vector_stores.postgres"):
        pytest.importorskip(module, reason="peers need `pip install -e '.[bench]'` (not in CI)")


def run(
    script: str, out: Path, data_dir: Path, *extra: str, timeout: float = 240
) -> dict[str, Any]:
    command = [sys.executable, f"bench/{script}", "--quick", "--output", str(out)]
    done = subprocess.run(
        [*command, "--data-dir", str(data_dir), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())
    assert result.keys() >= COMMON_KEYS
    assert result["parameters"]["quick"] is True
    assert {"postgresql", "pgvector"} <= result["versions"].keys()
    return result


def check_versions(result: dict[str, Any]) -> None:
    """`pgvector` is the server extension's version, `pgvector-python` its client's."""
    versions = result["versions"]
    assert versions["pgvector-python"] == metadata.version("pgvector")
    assert versions["pgvector"] != versions["pgvector-python"]


def check_load(result: dict[str, Any], systems: list[str]) -> None:
    check_versions(result)
    assert [(s["rows"], s["dimensions"]) for s in result["sizes"]] == [(2000, 384), (1000, 1536)]
    for size in result["sizes"]:
        assert sorted(r["system"] for r in size["runs"]) == sorted(systems)
        assert all(r["rows_per_s"] > 0 and r["rows_loaded"] > 0 for r in size["runs"])
        for run in (r for r in size["runs"] if r["system"] == "pgask"):
            phases = run["phases"]
            assert set(phases) == {"write_s", "index_s", "analyze_s"}
            assert 0 < sum(phases.values()) <= run["seconds"]
        assert set(size["median_rows_per_s"]) == set(systems)
        assert set(size["ratios"]) == {f"pgask/{s}" for s in systems if s != "pgask"}


def check_query(result: dict[str, Any], systems: list[str]) -> None:
    # per system: 2 variants (default, matched ef_search) x 3 filters (none, 1%, 0.1%)
    assert sorted({r["system"] for r in result["runs"]}) == sorted(systems)
    assert len(result["runs"]) == len(result["summary"]) == 6 * len(systems)
    for run_ in result["runs"]:
        assert {"variant", "filter", "p50_ms", "p95_ms", "recall@10", "mean_returned"} <= set(run_)
        assert len(run_["latencies_ms"]) == result["parameters"]["queries"]
        assert 0 <= run_["recall@10"] <= 1 and 0 <= run_["mean_returned"] <= 10


def check_reingest(result: dict[str, Any], systems: list[str]) -> None:
    runs = result["runs"]
    assert [(r["system"], r["run"]) for r in runs] == [
        (s, attempt) for s in systems for attempt in ("first", "re-run")
    ]
    for r in runs:
        assert {"seconds", "embedding_calls", "texts_embedded", "rows_stored_after"} <= set(r)
        assert r["rows_stored_after"] > 0
    pgask = {r["run"]: r for r in runs if r["system"] == "pgask"}
    assert pgask["first"]["texts_embedded"] > 0  # the counter sees the pipeline's calls


def test_load_pgask(tmp_path: Path, bench_dir: Path) -> None:
    out = tmp_path / "load.json"
    check_load(run("vs_load.py", out, bench_dir, "--systems", "pgask"), ["pgask"])


def test_query_pgask(tmp_path: Path, bench_dir: Path) -> None:
    out = tmp_path / "query.json"
    check_query(run("vs_query.py", out, bench_dir, "--systems", "pgask"), ["pgask"])


def test_reingest_pgask(tmp_path: Path, bench_dir: Path) -> None:
    needs_msmarco()
    out = tmp_path / "reingest.json"
    check_reingest(run("vs_reingest.py", out, bench_dir, "--systems", "pgask"), ["pgask"])


def test_http(tmp_path: Path, bench_dir: Path) -> None:
    result = run("vs_http.py", tmp_path / "http.json", bench_dir)
    assert [r["concurrency"] for r in result["runs"]] == [1, 8, 32]
    for r in result["runs"]:
        assert {"throughput_rps", "p50_ms", "p99_ms", "errors", "requests"} <= set(r)
        assert r["requests"] == len(r["latencies_ms"]) > 0


def test_load_with_peers(tmp_path: Path, bench_dir: Path) -> None:
    peers_installed()
    check_load(run("vs_load.py", tmp_path / "load.json", bench_dir), SYSTEMS)


def test_query_with_peers(tmp_path: Path, bench_dir: Path) -> None:
    peers_installed()
    check_query(run("vs_query.py", tmp_path / "query.json", bench_dir), SYSTEMS)


def test_reingest_with_peers(tmp_path: Path, bench_dir: Path) -> None:
    peers_installed()
    check_reingest(run("vs_reingest.py", tmp_path / "reingest.json", bench_dir), SYSTEMS)


def test_ceiling(tmp_path: Path, bench_dir: Path) -> None:
    needs_msmarco()
    result = run("ceiling.py", tmp_path / "ceiling.json", bench_dir, timeout=900)
    assert [c["corpus"] for c in result["instant"]] == ["msmarco-2000", "generated-5000"]
    for corpus in result["instant"]:
        assert corpus["median_ratio"] > 0
        for r in corpus["runs"]:
            pipeline, alone = r["pipeline"], r["write_path"]
            assert pipeline["chunks"] == alone["chunks"] > 0  # the same rows, replayed
            assert set(pipeline["stages"]) == {"prepare", "embed", "write", "index"}
            for stage in pipeline["stages"].values():
                assert stage["busy"] >= 0 and stage["waiting"] >= 0
            assert pipeline["stages"]["write"]["busy"] > 0
            assert r["ratio"] == pipeline["chunks_per_s"] / alone["chunks_per_s"]
            assert pipeline["load_average"] >= 0 and alone["load_average"] >= 0
    openai = result["openai"]["runs"]
    assert [r["concurrency"] for r in openai] == [1, 4]
    assert all(r["documents"] == 2000 and r["chunks"] > 0 for r in openai)
    assert all(set(r["cpu_seconds"]) == {"pgask", "fake_openai"} for r in openai)
    alone = result["openai"]["fake_alone"]
    assert [r["concurrency"] for r in alone] == [1, 4]
    assert all(r["requests"] == 32 and r["requests_per_s"] > 0 for r in alone)  # 2000 / 64
    http = result["http_vectors"]["by_batch_documents"]
    assert list(http) == ["1000", "2000"]  # the default request limit, and one request of all
    for size in http.values():
        assert [(r["chunks"], r["embedded"]) for r in size["runs"]] == [(2000, 0)]  # one chunk each
        assert all(r["cpu_seconds"]["pgask_serve"] > 0 for r in size["runs"])


def test_parse_start(tmp_path: Path) -> None:
    """No database: both start methods parse the whole corpus, alternating."""
    needs_msmarco()
    out = tmp_path / "parse-start.json"
    command = [sys.executable, "bench/parse_start.py", "--repetitions", "2", "--output", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result.keys() >= {"benchmark", "command", "machine", "versions", "parameters"}
    assert [r["method"] for r in result["runs"]] == ["spawn", "forkserver", "forkserver", "spawn"]
    assert all(r["documents"] == 5000 for r in result["runs"])
    assert all(0 < r["first_document_seconds"] <= r["seconds"] for r in result["runs"])
    assert result["spawn_over_forkserver"] > 0


def test_transfer(tmp_path: Path, bench_dir: Path) -> None:
    result = run("transfer.py", tmp_path / "transfer.json", bench_dir)
    check_versions(result)
    assert [r["repetition"] for r in result["runs"]] == [0]
    for r in result["runs"]:
        assert r["export"]["peak_rss_mb"] > 0 and r["import"]["peak_rss_mb"] > 0
        phases = r["import_phases"]
        assert set(phases) == {"decode", "write", "index", "analyze"}
        assert 0 < phases["write"] + phases["index"] < r["import"]["seconds"]
        assert set(r["bulk_load"]) == {"write_s", "index_s", "analyze_s", "rows_per_s"}
        assert r["file_bytes"] > 2000 * 384 * 4  # float32 vectors do not compress
    summary = result["summary"]
    assert summary["import_vs_bulk_load"] == (
        summary["import_rows_per_s"] / summary["bulk_load_rows_per_s"]
    )


def test_halfvec(tmp_path: Path, bench_dir: Path) -> None:
    result = run("halfvec.py", tmp_path / "halfvec.json", bench_dir)
    check_versions(result)
    assert set(result["clustered"]) == {"vector", "halfvec"}
    for storage in result["clustered"].values():
        assert storage["disk"]["vector_index_bytes"] > 0
        assert 0 <= storage["recall@10"] <= 1 and storage["p50_ms"] > 0
    assert result["summary"]["index_bytes_ratio"] < 1  # half the bytes per dimension


def test_storage(tmp_path: Path, bench_dir: Path) -> None:
    needs_msmarco()  # its rows' text
    result = run("storage.py", tmp_path / "storage.json", bench_dir)
    check_versions(result)
    assert [(s["dims"], s["vector_type"]) for s in result["shapes"]] == [
        (384, "vector"),
        (1536, "halfvec"),
    ]
    for shape in result["shapes"]:
        main, external = shape["median"]["MAIN"], shape["median"]["EXTERNAL"]
        # Sizes do not depend on the machine: msmarco rows are over 2 kB with their vector.
        assert main["toasted_share"] == 0 and external["toasted_share"] > 0.5
        assert main["unfiltered_p50_ms"] > 0 and external["filtered_exact_p50_ms"] > 0


def test_sizing_and_a_guide_from_its_results(tmp_path: Path, bench_dir: Path) -> None:
    needs_msmarco()  # its rows' text
    out, guide = tmp_path / "sizing.json", tmp_path / "sizing.md"
    result = run("sizing.py", out, bench_dir, "--doc", str(guide))
    check_versions(result)
    runs = {(r["rows"], r["dims"], r["vector_type"]): r for r in result["runs"]}
    assert runs.keys() == {(2000, 384, "vector"), (1000, 1536, "halfvec")}
    assert all(r["heap_bytes"] > 0 and r["hnsw_bytes"] > 0 for r in runs.values())
    assert all(len(r["latencies_ms"]) == 100 and 0 < r["recall@10"] <= 1 for r in runs.values())
    # The same guide again from the stored results alone (no measuring: no data dir used).
    again = tmp_path / "again.md"
    done = subprocess.run(
        [
            sys.executable,
            "bench/sizing.py",
            "--configs",
            "--include",
            str(out),
            "--doc",
            str(again),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert again.read_text().split("## Measured")[1] == guide.read_text().split("## Measured")[1]
    assert "| a | 2,000 | 384 | vector |" in again.read_text()


def test_partitions(tmp_path: Path) -> None:
    """Both layouts (the old one extracted from git) run on their own servers."""
    has_old = subprocess.run(
        ["git", "cat-file", "-e", "76986d2^{commit}"], cwd=ROOT, capture_output=True
    )
    if has_old.returncode != 0:
        pytest.skip("needs the old layout's commit 76986d2 in the git history (shallow clone?)")
    result = run("partitions.py", tmp_path / "partitions.json", tmp_path / "data", timeout=900)
    assert [(r["layout"], r["repetition"]) for r in result["runs"]] == [("old", 1), ("new", 1)]
    for r in result["runs"]:
        assert r["post_errors"] == 0
        assert r["post_idle"]["count"] == 20
        assert r["search"]["count"] == 20 and 0 < r["search"]["recall@10"] <= 1
        assert r["load"]["write_s"] > 0 and r["delete_s"] > 0
    new = next(r for r in result["runs"] if r["layout"] == "new")
    assert new["dead_tuples_after_delete"] == new["dead_tuples_before_delete"]
    assert set(result["ratios_new_over_old"]) >= {"post_build_p99_ms", "delete_s"}


def test_textscale(tmp_path: Path, bench_dir: Path) -> None:
    needs_msmarco()  # its sentences and queries
    result = run("textscale.py", tmp_path / "textscale.json", bench_dir, timeout=900)
    check_versions(result)
    assert [r["chunks"] for r in result["runs"]] == [500, 5000]
    principals = ("admin", "scoped_1pct", "scoped_99pct")
    runs = {f"{p}/{m}" for p in principals for m in ("vector", "text", "hybrid")}
    for r in result["runs"]:
        assert set(r["summary"]) == runs | {"admin/text_all"}
        assert all(0 < s["p50_ms"] <= s["p95_ms"] for s in r["summary"].values())
        assert all(len(t) == result["parameters"]["queries"] for t in r["times_ms"].values())
        assert 0 <= r["summary"]["admin/text"]["overlap@10_with_text_all"] <= 1
        assert r["summary"]["admin/vector"]["fewest_hits"] == 10
        assert list(r["ef_search"]) == ["100", "200", "400", "1000"]
        assert list(r["rank_cap"]) == ["2000", "3000", "5000", "10000"]
        assert all(0 <= c["overlap@10_with_text_all"] <= 1 for c in r["rank_cap"].values())
        assert all(0 < e["recall@10"] <= 1 for e in r["ef_search"].values())
        assert r["chunks_heap_bytes"] > 0 and r["gin_bytes"] > 0
    assert set(result["p95_growth_tenfold"]) == {"5000/500"}
    assert result["parameters"]["server_settings"]["jit"] in ("on", "off")
