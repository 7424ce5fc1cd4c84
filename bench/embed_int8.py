"""Is an int8 MiniLM worth offering? Quantize the shared ONNX model with ONNX Runtime's
dynamic quantization, then compare it with the float32 model on msmarco-5k: nDCG@10 (exact
cosine search over every passage) and embedding throughput (alternating repetitions).

    pip install -e '.[int8]'                 # onnx, needed by onnxruntime.quantization
    python bench/embed_int8.py               # full corpus for quality, 500 passages x 3 for speed
    python bench/embed_int8.py --quick       # 300 passages, quality on that subset only

Writes the quantized model folder to --model-out (app/embeddings/quantize.py; usable as
EMBEDDING_MODEL_PATH) and the figures to bench/results/embed-int8.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from bench.embed import MODEL, load_passages, machine  # noqa: E402

DATA = SHARED / "data/msmarco-5k"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-path", type=Path, default=SHARED / "models/all-MiniLM-L6-v2-onnx")
    parser.add_argument("--model-out", type=Path, default=Path("/tmp/all-MiniLM-L6-v2-onnx-int8"))
    parser.add_argument("--limit", type=int, default=None, help="passages for quality")
    parser.add_argument("--speed-passages", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/embed-int8.json")
    args = parser.parse_args()
    if args.quick:
        args.limit, args.speed_passages, args.reps = 300, 64, 1
    return args


def qrels() -> dict[str, dict[str, int]]:
    judged: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (DATA / "qrels/test.tsv").read_text().splitlines():
        query, doc, score = line.split("\t")
        if score.isdigit():  # skips a header line if there is one
            judged[query][doc] = int(score)
    return judged


def ndcg_at_10(ranked: list[str], relevance: dict[str, int]) -> float:
    """Linear gain, as trec_eval / pytrec_eval compute it."""
    dcg = sum(relevance.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:10]))
    ideal = sorted(relevance.values(), reverse=True)[:10]
    idcg = sum(gain / math.log2(i + 2) for i, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def quality(embedder: Any, ids: list[str], texts: list[str]) -> float:
    judged = qrels()
    with (DATA / "queries.jsonl").open() as lines:
        queries = [json.loads(line) for line in lines]
    queries = [q for q in queries if q["_id"] in judged]
    passages = asyncio.run(embedder.embed_documents(texts))
    scores = []
    for query in queries:
        vector = asyncio.run(embedder.embed_query(query["text"]))
        top = np.argsort(-(passages @ vector), kind="stable")[:10]
        scores.append(ndcg_at_10([ids[i] for i in top], judged[query["_id"]]))
    return statistics.mean(scores)


def main() -> None:
    args = parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    host = machine()
    from app.embeddings.local import LocalEmbedder
    from app.embeddings.quantize import quantize_int8

    if args.model_out.exists():
        shutil.rmtree(args.model_out)
    quantize_int8(args.model_path, args.model_out)
    with (DATA / "corpus.jsonl").open() as lines:  # not splitlines(): texts hold U+2028
        ids = [json.loads(line)["_id"] for line in lines][: args.limit]
    texts = load_passages(DATA / "corpus.jsonl", args.limit)
    variants = {
        "float32": LocalEmbedder(MODEL, model_path=args.model_path),
        "int8": LocalEmbedder(MODEL, model_path=args.model_out),
    }
    results: dict[str, dict[str, Any]] = {name: {} for name in variants}
    for name, embedder in variants.items():
        start = time.perf_counter()
        results[name]["ndcg_at_10"] = round(quality(embedder, ids, texts), 4)
        results[name]["quality_run_seconds"] = round(time.perf_counter() - start, 1)
        print(name, results[name])

    sample = texts[: args.speed_passages]
    reps: list[dict[str, Any]] = []
    for rep in range(args.reps):
        order = list(variants) if rep % 2 == 0 else list(reversed(variants))
        for name in order:
            start = time.perf_counter()
            asyncio.run(variants[name].embed_documents(sample))
            seconds = time.perf_counter() - start
            reps.append({"rep": rep, "variant": name, "seconds": round(seconds, 3)})
            print(f"rep {rep} {name:8s} {seconds:7.2f}s {len(sample) / seconds:7.1f} passages/s")
    for name in variants:
        seconds = statistics.median(r["seconds"] for r in reps if r["variant"] == name)
        results[name]["passages_per_s"] = round(len(sample) / seconds, 1)
    results["model_bytes"] = {
        "float32": (args.model_path / "model.onnx").stat().st_size,
        "int8": (args.model_out / "model.onnx").stat().st_size,
    }
    report = {
        "benchmark": "int8 (onnxruntime dynamic quantization) vs float32 MiniLM",
        "command": "python bench/embed_int8.py" + (" --quick" if args.quick else ""),
        "machine": host | {"load_average_at_end": os.getloadavg()},
        "parameters": {
            "passages_for_quality": len(texts),
            "passages_for_speed": len(sample),
            "repetitions": args.reps,
            "quantization": "quantize_dynamic, weight_type=QInt8",
        },
        "results": results,
        "repetitions": reps,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
