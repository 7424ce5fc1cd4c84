"""A small closed-loop HTTP load generator (asyncio + aiohttp): `concurrency` clients, each
sending its next request as soon as the last one is answered, until a time limit or a
request limit is reached. Records every latency and counts errors (non-2xx or exceptions).

aiohttp, not httpx: at 32 clients on these 2 cores httpx's pool intermittently fails a
request with `ReadError` that the server never saw fail (encode/httpx#3348), and costs
more CPU per request, which the server it measures shares.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class LoadResult:
    concurrency: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms) or [0.0]

        def pct(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

        return {
            "concurrency": self.concurrency,
            "requests": len(self.latencies_ms),
            "seconds": self.seconds,
            "throughput_rps": len(self.latencies_ms) / self.seconds if self.seconds else 0.0,
            "p50_ms": pct(50),
            "p99_ms": pct(99),
            "errors": self.errors,
            "statuses": dict(self.statuses),
        }


async def run_load(
    url: str,
    bodies: list[dict[str, Any]],
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int,
) -> LoadResult:
    """POST `bodies` (round robin) to `url` from `concurrency` clients at once."""
    result = LoadResult(concurrency)
    cycle = itertools.cycle(bodies)
    issued = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        started = time.perf_counter()
        deadline = started + duration_s

        async def worker() -> None:
            nonlocal issued
            while time.perf_counter() < deadline and issued < max_requests:
                issued += 1
                sent = time.perf_counter()
                try:
                    async with client.post(url, json=next(cycle)) as response:
                        await response.read()
                        status = str(response.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                result.latencies_ms.append((time.perf_counter() - sent) * 1000)
                result.statuses[status] += 1
                if not status.startswith("2"):
                    result.errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result
