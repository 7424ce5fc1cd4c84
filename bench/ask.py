"""Latency breakdown of POST /v1/ask (not run by CI). Writes bench/results/ask.json.

pgask serves the msmarco-5k collection (loaded as in bench/search.py) with a chat model that
answers instantly (the fake OpenAI-compatible server of tests/fake_openai.py, on loopback),
so what is measured is pgask's own cost: embedding the question, searching, building the
prompt, the HTTP round trips, and parsing the answer. Requests run one at a time, cycling
through the 50 msmarco queries.

    python bench/ask.py [--quick] [--requests N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(ROOT.parent / "shared" / "tiktoken"))

from app.config import load_settings  # noqa: E402
from app.db import migrate  # noqa: E402
from app.main import create_app  # noqa: E402
from app.services import Services  # noqa: E402
from bench.embed import machine  # noqa: E402
from bench.search import MSMARCO, connect, load_msmarco  # noqa: E402
from tests.fake_openai import FakeOpenAI, Reply  # noqa: E402
from tests.servers import ServerThread  # noqa: E402

COLLECTION = "bench-msmarco-5k"
ANSWER = "The passages say so [1]. More detail is in another passage [2]."


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


async def prepare(data_dir: Path) -> str:
    settings = load_settings(pgask_data_dir=data_dir, _env_file=None)
    services = await Services.start(settings)
    try:
        migrate.upgrade(services.db.url)
        conn = await connect(services)
        await load_msmarco(services, conn)
        await conn.close()
    finally:
        await services.close()
    return services.db.url.render_as_string(hide_password=False)


def run(url: str, requests: int) -> list[dict[str, float]]:
    queries = [json.loads(line)["text"] for line in (MSMARCO / "queries.jsonl").open()]
    fake = FakeOpenAI()
    rows: list[dict[str, float]] = []
    with ServerThread(fake.app) as model:
        fake.url = model.url
        settings = load_settings(
            database_url=url,
            llm_provider="openai",
            openai_base_url=fake.base_url,
            pgask_ingest_worker=False,
            _env_file=None,
        )
        with ServerThread(create_app(settings)) as pgask, httpx.Client(timeout=60) as http:
            for n in range(requests + 5):  # the first five warm up caches and connections
                if n % 20 == 0:
                    fake.reset()  # keeps its request log small
                fake.script(Reply(content=ANSWER, endpoint="chat"))
                started = time.perf_counter()
                response = http.post(
                    f"{pgask.url}/v1/ask",
                    json={
                        "collection": COLLECTION,
                        "question": queries[n % len(queries)],
                        "k": 8,
                    },
                )
                total = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"/v1/ask answered {response.status_code}: {response.text}")
                if n < 5:
                    continue
                timings = response.json()["timings"]
                parts = timings["embed_ms"] + timings["search_ms"] + timings["llm_ms"]
                rows.append({**timings, "total_ms": total, "overhead_ms": total - parts})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 requests")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-search"))
    args = parser.parse_args()
    requests = 20 if args.quick else args.requests
    url = asyncio.run(prepare(args.data_dir))
    rows = run(url, requests)
    summary = {key: percentiles([r[key] for r in rows]) for key in rows[0]}
    result: dict[str, Any] = {
        "benchmark": "ask latency breakdown, instant fake model",
        "command": "python bench/ask.py" + (" --quick" if args.quick else ""),
        "machine": machine(),
        "parameters": {"requests": requests, "k": 8, "mode": "hybrid", "collection": COLLECTION},
        "summary_ms": summary,
        "repetitions": rows,
    }
    out = ROOT / "bench" / "results" / "ask.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key, stats in summary.items():
        print(
            f"{key:12s} p50 {stats['p50']:8.2f}  p95 {stats['p95']:8.2f}  mean {stats['mean']:8.2f}"
        )


if __name__ == "__main__":
    main()
