r"""Vector, full-text and hybrid search as a collection grows (not run by CI): writes
bench/results/textscale.json.

Data. Each chunk is 3 sentences drawn at random (seeded) from msmarco-5k's 5,000 passages
(`../shared/data/msmarco-5k/corpus.jsonl`, split at sentence ends), so the text keeps the
passages' real word frequencies at every size: a word in 5% of the passages is in about
the same share of the chunks (a little more: 3 sentences each). Questions are msmarco-5k's
50 real queries (`queries.jsonl`). No title, no heading path (msmarco has none).

Vectors. Embedding 1M chunks with MiniLM on 2 cores takes days, so a chunk's vector is the
mean of the real MiniLM embeddings of the passages its sentences come from, plus Gaussian
noise (NOISE per dimension), normalised; queries are embedded for real. Neighbourhoods are
therefore real-embedding-like but denser than real text's: recall@10 is measured against
exact search over these vectors, not against judged relevance.

Access. 1% of the documents carry group `team`, 99% `other` (bench/access.py's split); each
search runs in its own transaction as an admin (no row-level security), a key of `team`
(sees 1%) and a key of `other` (sees 99%), `apply_principal` included, k = 10, through
`app.search.service.search` on one connection; principals and modes interleaved. `text_all`
is the full-text search with every word of the question matching (`match_budget` without
limit: the ranking of every row sharing a word), run as admin for comparison; `overlap@10`
is the share of its top 10 the default text search also returns.

Collections are loaded once per data dir (by pgask's bulk-load path: COPY, HNSW index,
ANALYZE) and reused by later runs with the same sizes and seed.

    python bench/textscale.py                       # 10k, 20k, 100k, 200k, 1M chunks
    python bench/textscale.py --sizes 20000 200000  # without the 1M collection
    python bench/textscale.py --quick               # 500 and 5,000 chunks, 10 questions
    python bench/textscale.py --sizes 1000000 --load-only   # load now, measure later
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.access import Principal, apply_principal
from app.catalog import create_collection, get_collection
from app.db.embedded import libpq_url
from app.errors import NotFound
from app.search.kinds import default_kinds
from app.search.service import Mode, SearchRequest, SearchTarget, ef_search_for, search
from app.search.terms import MATCH_BUDGET, RANK_CAP
from app.services import Services
from bench.common import HNSW, MSMARCO, RESULTS, SEED, Timer, connect, percentile, write_result
from bench.systems import opened_services
from ingest.writer import (
    ChunkRecord,
    DocumentRecord,
    Target,
    analyze_chunks,
    build_index,
    drop_index,
    end_bulk_load,
    write_documents,
)

K = 10
SENTENCES_PER_CHUNK = 3
NOISE = 0.02  # per dimension, before normalising (a unit vector's entries are ~0.05)
BATCH = 1000
BUILD_MB = 4096  # the 1M HNSW index (2 GB) builds in memory, as in bench/sizing.py runs
DEFAULT_SIZES = [10_000, 20_000, 100_000, 200_000, 1_000_000]
QUICK_SIZES = [500, 5000]
PRINCIPALS: dict[str, Principal | None] = {
    "admin": None,
    "scoped_1pct": Principal("team", "read", None, ("team",)),
    "scoped_99pct": Principal("other", "read", None, ("other",)),
}
MODES: tuple[Mode, ...] = ("vector", "text", "hybrid")
MODE_OF: dict[str, Mode] = {
    "vector": "vector",
    "text": "text",
    "hybrid": "hybrid",
    "text_all": "text",
}
UNLIMITED = 10**9
CAP_SWEEP = (2000, 3000, 5000, 10000)  # caps on the rows a text search ranks (RANK_CAP is 5,000)
EF_SWEEP = (
    100,
    200,
    400,
    1000,
)  # 100: pgask's default for k = 10  # a match budget no collection reaches: every word matches
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def group(row: int) -> list[str]:
    return ["team"] if row % 100 == 0 else ["other"]


def load_corpus(passages: int | None) -> tuple[list[str], list[str]]:
    """msmarco-5k's passage texts (the first `passages`, None: all) and its queries."""
    with (MSMARCO / "corpus.jsonl").open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    with (MSMARCO / "queries.jsonl").open(encoding="utf-8") as lines:
        queries = [json.loads(line)["text"] for line in lines]
    return texts[:passages] if passages else texts, queries


def sentences_of(passages: list[str]) -> tuple[list[str], npt.NDArray[np.int32]]:
    """Every sentence of the passages, and the passage each comes from."""
    sentences: list[str] = []
    source: list[int] = []
    for i, passage in enumerate(passages):
        for sentence in _SENTENCE_END.split(passage.strip()):
            if sentence:
                sentences.append(sentence)
                source.append(i)
    return sentences, np.asarray(source, dtype=np.int32)


async def embeddings(
    services: Services, data_dir: Path, passages: list[str], queries: list[str]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Real MiniLM vectors of the passages (cached in the data dir) and of the queries."""
    cache = data_dir / f"textscale-passages-{len(passages)}.npy"
    if cache.exists():
        passage_vectors = np.load(cache)
    else:
        passage_vectors = np.asarray(
            await services.embedder.embed_documents(passages), dtype=np.float32
        )
        np.save(cache, passage_vectors)
    query_vectors = np.asarray(await services.embedder.embed_documents(queries), np.float32)
    return passage_vectors, query_vectors


def chunk_rows(
    start: int,
    stop: int,
    sentences: list[str],
    source: npt.NDArray[np.int32],
    passage_vectors: npt.NDArray[np.float32],
) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Chunks start..stop-1: texts and vectors, the same for a row whatever the batch."""
    texts: list[str] = []
    vectors = np.empty((stop - start, passage_vectors.shape[1]), dtype=np.float32)
    for n, row in enumerate(range(start, stop)):
        rng = np.random.default_rng((SEED, row))
        picked = rng.integers(0, len(sentences), SENTENCES_PER_CHUNK)
        texts.append(" ".join(sentences[i] for i in picked))
        mean = passage_vectors[source[picked]].mean(axis=0)
        noisy = mean + NOISE * rng.standard_normal(mean.shape[0])
        vectors[n] = noisy / np.linalg.norm(noisy)
    return texts, vectors


async def load(
    services: Services,
    dsn: str,
    rows: int,
    sentences: list[str],
    source: npt.NDArray[np.int32],
    passage_vectors: npt.NDArray[np.float32],
) -> tuple[SearchTarget, dict[str, float] | None]:
    """The collection of `rows` chunks, loaded unless this data dir already holds it.
    Returns its target and the load's phases (None when reused)."""
    name = f"textscale-{rows}-s{SEED}"
    async with services.db.owner_session() as session:
        try:
            found = await get_collection(session, name)
            return SearchTarget(found.id, found.embedding_dimensions), None
        except NotFound:
            collection = await create_collection(session, services.embedder, name=name)
            await session.commit()
    target = Target(collection.id, collection.embedding_dimensions)
    conn = await connect(dsn)
    try:
        await drop_index(conn, target)
        with Timer() as write:
            for start in range(0, rows, BATCH):
                stop = min(start + BATCH, rows)
                texts, vectors = chunk_rows(start, stop, sentences, source, passage_vectors)
                documents = [
                    DocumentRecord(
                        str(row),
                        str(row),
                        [ChunkRecord(0, text, len(text.split()), vector)],
                        access=group(row),
                    )
                    for row, text, vector in zip(range(start, stop), texts, vectors, strict=True)
                ]
                await write_documents(conn, target, documents)
        with Timer() as index:
            await build_index(conn, target, maintenance_work_mem_mb=BUILD_MB, analyze=False)
        with Timer() as analyze:
            await analyze_chunks(conn, target.collection_id)
        await end_bulk_load(conn, target)
    finally:
        await conn.close()
    phases = {"write_s": write.seconds, "index_s": index.seconds, "analyze_s": analyze.seconds}
    return SearchTarget(collection.id, collection.embedding_dimensions), phases


async def measure(
    dsn: str,
    target: SearchTarget,
    queries: list[str],
    query_vectors: npt.NDArray[np.float32],
    repetitions: int,
) -> dict[str, Any]:
    """Latency and hits of every (principal, mode) and of `text_all` (admin)."""
    runs: list[tuple[str, str]] = [(p, m) for p in PRINCIPALS for m in MODES]
    runs.append(("admin", "text_all"))
    times: dict[str, list[float]] = {f"{p}/{m}": [] for p, m in runs}
    hits: dict[str, list[list[str]]] = {f"{p}/{m}": [] for p, m in runs}
    conn = await connect(dsn)
    try:
        for repetition in range(repetitions):
            for n, (query, vector) in enumerate(zip(queries, query_vectors, strict=True)):
                turn = (n + repetition) % len(runs)
                for principal, mode in runs[turn:] + runs[:turn]:  # no fixed first
                    chosen = PRINCIPALS[principal]
                    every_word = mode == "text_all"
                    request = SearchRequest(
                        MODE_OF[mode],
                        k=K,
                        query=query,
                        vector=vector,
                        filter=default_kinds(None, query),  # as run_search adds it
                        include_text=False,
                        match_budget=UNLIMITED if every_word else MATCH_BUDGET,
                        rank_cap=UNLIMITED if every_word else RANK_CAP,
                    )
                    scoped = SearchTarget(
                        target.collection_id, target.dimensions, restricted=chosen is not None
                    )
                    started = time.perf_counter()
                    async with conn.transaction():
                        await apply_principal(conn, chosen)
                        found = await search(conn, scoped, request)
                    times[f"{principal}/{mode}"].append((time.perf_counter() - started) * 1000)
                    if repetition == 0:
                        hits[f"{principal}/{mode}"].append([h.external_id for h in found])
    finally:
        await conn.close()
    return {"times_ms": times, "hits": hits}


async def ef_sweep(
    dsn: str, target: SearchTarget, query_vectors: npt.NDArray[np.float32]
) -> dict[int, dict[str, Any]]:
    """Admin vector search at each ef_search of EF_SWEEP: p50/p95 and the hits."""
    out: dict[int, dict[str, Any]] = {}
    conn = await connect(dsn)
    try:
        for ef in EF_SWEEP:
            times, hits = [], []
            for vector in query_vectors:
                request = SearchRequest(
                    "vector", k=K, vector=vector, include_text=False, ef_search=ef
                )
                started = time.perf_counter()
                async with conn.transaction():
                    found = await search(conn, target, request)
                times.append((time.perf_counter() - started) * 1000)
                hits.append([h.external_id for h in found])
            out[ef] = {"times_ms": times, "hits": hits}
    finally:
        await conn.close()
    return out


async def cap_sweep(dsn: str, target: SearchTarget, queries: list[str]) -> dict[str, Any]:
    """Admin text search at each cap on the rows ranked (CAP_SWEEP; UNLIMITED: none):
    p50/p95 and overlap@10 with every word ranked uncapped (`text_all`)."""
    runs: dict[int, dict[str, Any]] = {}
    conn = await connect(dsn)
    try:
        for cap in (UNLIMITED, *CAP_SWEEP):
            budget = UNLIMITED if cap == UNLIMITED else MATCH_BUDGET
            times, hits = [], []
            for query in queries:
                request = SearchRequest(
                    "text",
                    k=K,
                    query=query,
                    filter=default_kinds(None, query),
                    include_text=False,
                    match_budget=budget,
                    rank_cap=cap,
                )
                started = time.perf_counter()
                async with conn.transaction():
                    found = await search(conn, target, request)
                times.append((time.perf_counter() - started) * 1000)
                hits.append({h.external_id: h.score for h in found})
            runs[cap] = {"times_ms": times, "hits": hits}
    finally:
        await conn.close()
    every = runs.pop(UNLIMITED)["hits"]

    def overlap(hits: list[dict[str, float]]) -> float:
        pairs = zip(hits, every, strict=True)
        shares = [len(a.keys() & b.keys()) / max(len(b), 1) for a, b in pairs]
        return round(float(np.mean(shares)), 4)

    def score_share(hits: list[dict[str, float]]) -> float:
        # Chunks repeat sentences (each is in ~170 chunks at 1M), so another chunk with the
        # same best sentence is as good an answer: the capped top 10's summed ts_rank over
        # the every-word top 10's (both ranked by every word) says how much is lost.
        shares = [sum(a.values()) / sum(b.values()) for a, b in zip(hits, every, strict=True) if b]
        return round(float(np.mean(shares)), 4)

    return {
        str(cap): {
            "p50_ms": round(percentile(r["times_ms"], 50), 2),
            "p95_ms": round(percentile(r["times_ms"], 95), 2),
            "overlap@10_with_text_all": overlap(r["hits"]),
            "score@10_of_text_all": score_share(r["hits"]),
        }
        for cap, r in runs.items()
    }


def exact_ids(
    query_vectors: npt.NDArray[np.float32],
    rows: int,
    sentences: list[str],
    source: npt.NDArray[np.int32],
    passage_vectors: npt.NDArray[np.float32],
) -> npt.NDArray[np.int64]:
    """The true 10 nearest rows of each query, by exact search over all rows."""
    best = np.full((len(query_vectors), K), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(query_vectors), K), dtype=np.int64)
    for start in range(0, rows, 50_000):
        stop = min(start + 50_000, rows)
        _, vectors = chunk_rows(start, stop, sentences, source, passage_vectors)
        scores = query_vectors @ vectors.T
        merged = np.concatenate([best, scores], axis=1)
        ids = np.concatenate([best_ids, np.arange(start, stop)[None, :].repeat(len(scores), 0)], 1)
        top = np.argsort(-merged, axis=1)[:, :K]
        best = np.take_along_axis(merged, top, 1)
        best_ids = np.take_along_axis(ids, top, 1)
    return best_ids


def recall(found: list[list[str]], truth: npt.NDArray[np.int64]) -> float:
    """Mean recall@10 of the hits (external ids = rows) against the true nearest rows."""
    per_query = [
        len({int(h) for h in hit} & set(best.tolist())) / K
        for hit, best in zip(found, truth, strict=True)
    ]
    return round(float(np.mean(per_query)), 4)


def summary(measured: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for run, times in measured["times_ms"].items():
        out[run] = {
            "p50_ms": round(percentile(times, 50), 2),
            "p95_ms": round(percentile(times, 95), 2),
            "fewest_hits": min(len(h) for h in measured["hits"][run]),
        }
    for principal in PRINCIPALS:
        if principal == "admin":
            continue
        for mode in MODES:
            ratio = out[f"{principal}/{mode}"]["p95_ms"] / out[f"admin/{mode}"]["p95_ms"]
            out[f"{principal}/{mode}"]["p95_over_admin"] = round(ratio, 2)
    pairs = zip(measured["hits"]["admin/text"], measured["hits"]["admin/text_all"], strict=True)
    overlaps = [len(set(a) & set(b)) / max(len(b), 1) for a, b in pairs]
    out["admin/text"]["overlap@10_with_text_all"] = round(float(np.mean(overlaps)), 4)
    return out


async def settings_of(dsn: str) -> dict[str, str]:
    """The server settings the latencies depend on most."""
    async with await connect(dsn) as conn:
        cursor = await conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
            (["shared_buffers", "effective_cache_size", "work_mem", "jit", "io_method"],),
        )
        return dict(await cursor.fetchall())


async def chunk_bytes(dsn: str, collection_id: int) -> dict[str, int]:
    async with await connect(dsn) as conn:
        cursor = await conn.execute(
            "SELECT pg_table_size(to_regclass(%s)), (SELECT sum(pg_relation_size(i.indexrelid))"
            " FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid"
            " WHERE i.indrelid = to_regclass(%s) AND x.relam = (SELECT oid FROM pg_am"
            " WHERE amname = 'gin'))::bigint",
            (f"chunks_c{collection_id}", f"chunks_c{collection_id}"),
        )
        heap, gin = await cursor.fetchone() or (0, 0)
    return {"chunks_heap_bytes": int(heap or 0), "gin_bytes": int(gin or 0)}


def sweep_table(
    runs: list[dict[str, Any]],
    key: str,
    title: str,
    heading: Callable[[str], str],
    cell: Callable[[dict[str, Any]], str],
) -> list[str]:
    """A guide table of one sweep (`key` of each run: setting -> measures), a row per size."""
    settings = list(runs[0][key])
    lines = [
        "",
        title,
        "",
        "| chunks | " + " | ".join(heading(x) for x in settings) + " |",
        "| --- | " + " | ".join("---" for _ in settings) + " |",
    ]
    for r in runs:
        cells = [cell(r[key][x]) for x in settings]
        lines.append(f"| {r['chunks']:,} | " + " | ".join(cells) + " |")
    return lines


def guide_section(result: dict[str, Any]) -> list[str]:
    """docs/sizing.md's section on search latency as a collection grows, from a result
    file of this benchmark (bench/sizing.py writes the guide)."""
    runs = result["runs"]
    params = result["parameters"]
    machine = result["machine"]
    lines = [
        "## Search latency as a collection grows: vector, text, hybrid",
        "",
        f"Made by `{result['command']}` ({machine['cpus']} CPUs, load average at start"
        f" {machine['load_average_at_start'][0]:.1f}; every latency in"
        " bench/results/textscale.json). Text: "
        + params["text"]
        + ". Vectors: "
        + params["vectors"]
        + ", so recall@10 is against exact search over these vectors, and real embeddings"
        " of distinct passages spread wider (HNSW recall on them is higher at the same"
        " ef_search than on these denser clusters, or on random vectors). k = 10,"
        f" {params['queries']} questions x {params['repetitions']} repetitions, one at a"
        " time on one connection, `apply_principal` included.",
        "",
        "p50 / p95 ms as an admin (no row-level security), default search (link pages and"
        " changelogs left out, as `run_search` adds it); `text, every word` is the"
        " full-text ranking of every chunk sharing a word with the question (pgask before"
        f" the match budget of {params['match_budget']:,} rows, docs/decisions/"
        f"0015-text-ranking.md, and the cap of {params['rank_cap']:,} rows ranked, 0042),"
        " for comparison; overlap@10 is how many of its top 10 the default text search"
        " returns. Server: "
        + ", ".join(f"{k} {v}" for k, v in params["server_settings"].items())
        + ":",
        "",
        "| chunks | vector | text | hybrid (default) | text, every word | overlap@10 |"
        " vector recall@10 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cell(summary: dict[str, Any], run: str) -> str:
        return f"{summary[run]['p50_ms']:.1f} / {summary[run]['p95_ms']:.1f}"

    for r in runs:
        s = r["summary"]
        lines.append(
            f"| {r['chunks']:,} | {cell(s, 'admin/vector')} | {cell(s, 'admin/text')}"
            f" | {cell(s, 'admin/hybrid')} | {cell(s, 'admin/text_all')}"
            f" | {s['admin/text']['overlap@10_with_text_all']:.2f}"
            f" | {r['vector_recall@10_admin']:.3f} |"
        )
    lines += [
        "",
        "Keys that see 1% and 99% of the rows (p50 / p95 ms, and p95 over the admin's):",
        "",
        "| chunks | mode | admin | key seeing 1% | key seeing 99% |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        s = r["summary"]
        for mode in MODES:
            scoped = [
                f"{cell(s, f'{p}/{mode}')} ({s[f'{p}/{mode}']['p95_over_admin']:.2f}x)"
                for p in ("scoped_1pct", "scoped_99pct")
            ]
            lines.append(
                f"| {r['chunks']:,} | {mode} | {cell(s, f'admin/{mode}')} | "
                + " | ".join(scoped)
                + " |"
            )
    lines += sweep_table(
        runs,
        "rank_cap",
        "Text search (admin) at each cap on the rows ranked: p50 / p95 ms, overlap@10 with"
        " every word ranked uncapped, and the capped top 10's summed `ts_rank` over that"
        " top 10's (docs/decisions/0042-full-text-rows-ranked-capped.md):",
        lambda c: f"at most {int(c):,}",
        lambda v: (
            f"{v['p50_ms']:.1f} / {v['p95_ms']:.1f}, {v['overlap@10_with_text_all']:.2f},"
            f" {v['score@10_of_text_all']:.3f}"
        ),
    )
    lines += sweep_table(
        runs,
        "ef_search",
        "Vector recall@10 / p50 ms at each ef_search (admin):",
        lambda ef: f"ef {ef}",
        lambda v: f"{v['recall@10']:.3f} / {v['p50_ms']:.1f}",
    )
    lines += [
        "",
        "ef_search advice, from this table (requests may set `ef_search`, up to 1,000):",
        "",
    ]
    for r in runs:
        swept = {int(ef): v for ef, v in r["ef_search"].items()}
        default = swept[min(swept)]
        enough = next((ef for ef in sorted(swept) if swept[ef]["recall@10"] >= 0.98), None)
        advice = (
            f"ef_search {enough} reaches recall@10 {swept[enough]['recall@10']:.3f} at p50"
            f" {swept[enough]['p50_ms']:.1f} ms"
            if enough is not None
            else "no ef_search measured reaches recall@10 0.98"
        )
        lines.append(
            f"- {r['chunks']:,} chunks: the default ({min(swept)}) finds"
            f" {default['recall@10']:.3f} of the true top 10 at p50 {default['p50_ms']:.1f} ms;"
            f" {advice}."
        )
    lines.append("")
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--load-only", action="store_true", help="load the collections, measure nothing"
    )
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pgask-bench-textscale"))
    parser.add_argument("--output", type=Path, default=RESULTS / "textscale.json")
    args = parser.parse_args()
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repetitions = 1 if args.quick else args.repetitions
    passages, queries = load_corpus(500 if args.quick else None)
    queries = queries[:10] if args.quick else queries
    sentences, source = sentences_of(passages)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    async with opened_services(args.data_dir) as (services, info):
        dsn = libpq_url(services.db.url)
        server_settings = await settings_of(dsn)
        passage_vectors, query_vectors = await embeddings(
            services, args.data_dir, passages, queries
        )
        for rows in sizes:
            target, phases = await load(services, dsn, rows, sentences, source, passage_vectors)
            # A collection loaded by an earlier run: its load phases, as that run measured.
            loaded = args.data_dir / f"textscale-load-{rows}-s{SEED}.json"
            if phases is not None:
                loaded.write_text(json.dumps(phases))
            elif loaded.exists():
                phases = json.loads(loaded.read_text())
            if args.load_only:
                print(rows, "loaded", phases, flush=True)
                continue
            # One untimed pass first: the pages the searches read come into memory (as for
            # a service in use), so the first size is not the only one measured cold.
            await measure(dsn, target, queries, query_vectors, 1)
            measured = await measure(dsn, target, queries, query_vectors, repetitions)
            swept = await ef_sweep(dsn, target, query_vectors)
            capped = await cap_sweep(dsn, target, queries)
            truth = exact_ids(query_vectors, rows, sentences, source, passage_vectors)
            row: dict[str, Any] = {
                "chunks": rows,
                "load": phases,
                **await chunk_bytes(dsn, target.collection_id),
                "summary": summary(measured),
                "vector_recall@10_admin": recall(measured["hits"]["admin/vector"], truth),
                "ef_search": {
                    str(ef): {
                        "p50_ms": round(percentile(r["times_ms"], 50), 2),
                        "p95_ms": round(percentile(r["times_ms"], 95), 2),
                        "recall@10": recall(r["hits"], truth),
                    }
                    for ef, r in swept.items()
                },
                "rank_cap": capped,
                "times_ms": {k: [round(t, 3) for t in v] for k, v in measured["times_ms"].items()},
            }
            results.append(row)
            print(rows, json.dumps(row["summary"]), flush=True)
    if args.load_only:
        return
    # p95 growth over each size a tenth as large (the goal: at most 2x from 20k to 200k).
    by_size = {r["chunks"]: r["summary"] for r in results}
    growth = {
        f"{big}/{big // 10}": {
            run: round(summary[run]["p95_ms"] / by_size[big // 10][run]["p95_ms"], 2)
            for run in summary
        }
        for big, summary in by_size.items()
        if big // 10 in by_size
    }
    command = "python bench/textscale.py " + " ".join(sys.argv[1:])
    write_result(
        "textscale",
        {
            "benchmark": "textscale",
            "command": command.strip(),
            **info,
            "parameters": {
                "quick": args.quick,
                "sizes": sizes,
                "queries": len(queries),
                "repetitions": repetitions,
                "k": K,
                "seed": SEED,
                "match_budget": MATCH_BUDGET,
                "rank_cap": RANK_CAP,
                "filter": "default search's: link pages and changelogs left out (no chunk is"
                " either), as run_search adds it",
                "server_settings": server_settings,
                "ef_search": ef_search_for(K),
                "hnsw": HNSW,
                "build_memory_mb": BUILD_MB,
                "text": (
                    f"{SENTENCES_PER_CHUNK} sentences drawn at random from msmarco-5k's "
                    f"{len(passages)} passages ({len(sentences)} sentences): real word "
                    "frequencies; questions: msmarco-5k's real queries"
                ),
                "vectors": (
                    "mean of the real MiniLM embeddings of the chunk's source passages + "
                    f"N(0, {NOISE}) per dimension, normalised; queries embedded for real"
                ),
                "access": "row % 100 == 0: ['team'] (1%), else ['other'] (99%)",
            },
            "runs": results,
            "p95_growth_tenfold": growth,
        },
        args.output,
    )


if __name__ == "__main__":
    asyncio.run(main())
