"""Throughput of the local embedding provider against fastembed called directly.

    python bench/embed.py            # the whole msmarco-5k corpus, 3 alternating repetitions
    python bench/embed.py --quick    # 32 passages, 2 repetitions, under a minute

Three arms, run alternately in each repetition (so load from other processes hits them
alike), all with the same batch size and thread count:

- `provider`: `LocalEmbedder.embed_documents` (counts word pieces, embeds in length order,
  normalises, runs in a worker thread);
- `fastembed`: `TextEmbedding.embed` on the passages in corpus order (what a caller of
  fastembed would do);
- `fastembed-sorted`: `TextEmbedding.embed` on the passages pre-sorted by length outside the
  timer, i.e. the same inference work as the provider: the provider's overhead is measured
  against this arm, its gain from length ordering against `fastembed`.

Writes bench/results/embed.json (or --out): machine, versions, parameters, every repetition.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "data/msmarco-5k/corpus.jsonl")
    parser.add_argument("--model-path", type=Path, default=SHARED / "models/all-MiniLM-L6-v2-onnx")
    parser.add_argument("--limit", type=int, default=None, help="first N passages (default all)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="default: every core")
    parser.add_argument("--quick", action="store_true", help="32 passages, 2 repetitions")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/embed.json")
    args = parser.parse_args()
    if args.quick:
        args.limit, args.reps = args.limit or 32, min(args.reps, 2)
    return args


def load_passages(path: Path, limit: int | None) -> list[str]:
    with path.open() as lines:
        rows = [json.loads(line) for line in lines]
    texts = [f"{row.get('title') or ''} {row['text']}".strip() for row in rows]
    return texts[:limit] if limit else texts


def machine() -> dict[str, Any]:
    from app.embeddings.local import available_cores

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "cores_available": available_cores(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            name: metadata.version(name)
            for name in ("fastembed", "onnxruntime", "tokenizers", "numpy")
        },
    }


def main() -> None:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    host = machine()
    from fastembed import TextEmbedding

    from app.embeddings.local import LocalEmbedder

    texts = load_passages(args.corpus, args.limit)
    provider = LocalEmbedder(
        MODEL, model_path=args.model_path, batch_size=args.batch_size, threads=args.threads
    )
    direct = TextEmbedding(
        MODEL, specific_model_path=str(args.model_path), threads=provider.threads
    )
    pieces = [provider.count_tokens(text) for text in texts]
    by_length = [texts[i] for i in np.argsort(pieces, kind="stable")]

    def run_direct(inputs: list[str]) -> np.ndarray:
        return np.asarray(list(direct.embed(inputs, batch_size=args.batch_size)))

    arms = {
        "provider": lambda: asyncio.run(provider.embed_documents(texts)),
        "fastembed": lambda: run_direct(texts),
        "fastembed-sorted": lambda: run_direct(by_length),
    }
    # Warm-up (ONNX Runtime allocates on first use), and a check that both give the same
    # vectors: the comparison is only fair if they do the same work.
    provider_vectors = asyncio.run(provider.embed_documents(texts[:16]))
    np.testing.assert_allclose(provider_vectors, run_direct(texts[:16]), atol=1e-4)

    reps: list[dict[str, Any]] = []
    names = list(arms)
    for rep in range(args.reps):
        for name in names[rep % 3 :] + names[: rep % 3]:  # rotate which arm goes first
            start, cpu_start = time.perf_counter(), time.process_time()
            arms[name]()
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            reps.append(
                {
                    "rep": rep,
                    "arm": name,
                    "seconds": round(seconds, 4),
                    "cpu_seconds": round(cpu, 4),
                }
            )
            print(
                f"rep {rep} {name:17s} {seconds:8.2f}s (cpu {cpu:8.2f}s) "
                f"{len(texts) / seconds:8.1f} passages/s"
            )

    summary = summarise(reps, len(texts), sum(pieces))
    # End-to-end differences of a few % drown in the noise of a shared machine, so the work
    # the provider adds around inference is also timed on its own.
    extra = statistics.median(bookkeeping_cpu_seconds(provider, texts) for _ in range(args.reps))
    summary["provider_bookkeeping_cpu_seconds"] = round(extra, 4)
    summary["provider_bookkeeping_pct_of_inference_cpu"] = round(
        100 * extra / summary["arms"]["fastembed-sorted"]["median_cpu_seconds"], 2
    )
    result = {
        "benchmark": "local embedding provider vs fastembed direct",
        "command": "python bench/embed.py" + (" --quick" if args.quick else ""),
        "machine": host | {"load_average_at_end": os.getloadavg()},
        "parameters": {
            "model": MODEL,
            "model_path": str(args.model_path),
            "corpus": str(args.corpus),
            "passages": len(texts),
            "word_pieces": sum(pieces),
            "longest_passage_word_pieces": max(pieces),
            "batch_size": args.batch_size,
            "threads": provider.threads,
            "repetitions": args.reps,
        },
        "summary": summary,
        "repetitions": reps,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def bookkeeping_cpu_seconds(provider: Any, texts: list[str]) -> float:
    """CPU time of the provider's steps around inference: measuring every text in word
    pieces (here one by one, an upper bound of its batched count), ordering by length, and
    normalising and reordering the rows."""
    from app.embeddings.base import unit_rows

    start = time.process_time()
    lengths = np.array([provider.count_tokens(text) for text in texts])
    order = np.argsort(lengths, kind="stable")
    vectors = np.empty((len(texts), provider.dimensions), dtype=np.float32)
    vectors[order] = unit_rows(np.ones((len(texts), provider.dimensions)))
    return time.process_time() - start


def summarise(reps: list[dict[str, Any]], passages: int, pieces: int) -> dict[str, Any]:
    """Medians per arm. Overheads are given on wall time and on process CPU time: on a
    machine shared with other work, CPU time is the steadier measure of work done."""

    def median(arm: str, key: str) -> float:
        return statistics.median(r[key] for r in reps if r["arm"] == arm)

    arms = ("provider", "fastembed", "fastembed-sorted")
    medians = {arm: median(arm, "seconds") for arm in arms}
    cpu = {arm: median(arm, "cpu_seconds") for arm in arms}
    per_arm = {
        arm: {
            "median_seconds": round(seconds, 3),
            "median_cpu_seconds": round(cpu[arm], 3),
            "passages_per_s": round(passages / seconds, 1),
            "word_pieces_per_s": round(pieces / seconds, 1),
        }
        for arm, seconds in medians.items()
    }
    return {
        "arms": per_arm,
        "provider_overhead_pct_vs_same_work": round(
            100 * (medians["provider"] / medians["fastembed-sorted"] - 1), 2
        ),
        "provider_cpu_overhead_pct_vs_same_work": round(
            100 * (cpu["provider"] / cpu["fastembed-sorted"] - 1), 2
        ),
        "provider_speedup_vs_fastembed_in_corpus_order": round(
            medians["fastembed"] / medians["provider"], 2
        ),
    }


if __name__ == "__main__":
    main()
