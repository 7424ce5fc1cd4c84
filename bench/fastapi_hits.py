"""hit@1 and hit@3 on the FastAPI docs with judged questions, per search mode, without and
with a cap on hits per document (not run by CI). Writes bench/results/fastapi_hits.json.

bench/fastapi_questions.jsonl holds the questions, each with the page(s) that answer it
(document ids as `pgask ingest` gives them: `docs/tutorial/cors.md`). The folder is ingested
into the collection first unless it is already there (unchanged files are skipped, so a
second run costs only the searches). Every mode and cap runs on the same collection in the
same process, so the ratios compare like with like.

    python bench/fastapi_hits.py [--docs ../shared/data/fastapi-docs/docs]
        [--collection fastapi-docs] [--caps 1 2 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.catalog import create_collection, get_collection
from app.config import load_settings
from app.db import migrate
from app.errors import NotFound
from app.search.service import Mode, SearchRequest, run_search
from app.services import Services
from bench.common import ROOT, SHARED, machine, package_versions, write_result
from ingest.context import Ingestion
from ingest.service import ingest_paths

QUESTIONS = ROOT / "bench" / "fastapi_questions.jsonl"
MODES: tuple[Mode, ...] = ("vector", "text", "hybrid")
ASK_K = 8  # /v1/ask's default number of sources


@dataclass(frozen=True)
class Question:
    text: str
    expected: frozenset[str]


def load_questions(path: Path) -> list[Question]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [Question(r["question"], frozenset(r["expected"])) for r in rows]


def first_rank(found: list[str], expected: frozenset[str]) -> int | None:
    """1-based rank of the first hit from an expected page, None when none is in the list."""
    return next((n for n, doc in enumerate(found, 1) if doc in expected), None)


async def ensure_ingested(
    services: Services, name: str, docs: Path, glob: str | None = None
) -> dict[str, Any]:
    async with services.db.owner_session() as session:
        try:
            collection = await get_collection(session, name)
        except NotFound:
            collection = await create_collection(session, services.embedder, name=name)
            await session.commit()
    started = time.perf_counter()
    report, skipped = await ingest_paths(
        Ingestion.of(services.db, services.settings),
        services.embedder,
        collection,
        [docs],
        glob=glob,
    )
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped_files": len(skipped),
        "errors": len(report.errors),
    }


@dataclass
class ModeRun:
    """Per question: the rank of the first expected page, and how many documents the first
    ASK_K hits (what /v1/ask would use as sources) come from."""

    ranks: list[int | None] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)


async def run_questions(
    services: Services, name: str, questions: list[Question], cap: int | None
) -> dict[str, ModeRun]:
    out: dict[str, ModeRun] = {mode: ModeRun() for mode in MODES}
    async with services.db.owner_session() as session:
        for question in questions:
            vector = await services.embedder.embed_query(question.text)
            for mode in MODES:
                request = SearchRequest(
                    mode, k=10, query=question.text, vector=vector, max_per_document=cap
                )
                result = await run_search(session, services.embedder, name, request)
                await session.rollback()
                found = [h.external_id for h in result.hits]
                out[mode].ranks.append(first_rank(found, question.expected))
                out[mode].documents.append(len(set(found[:ASK_K])))
    return out


def summary(runs: dict[str, ModeRun]) -> dict[str, dict[str, float]]:
    def hits(ranks: list[int | None], at: int) -> int:
        return sum(1 for r in ranks if r is not None and r <= at)

    return {
        mode: {
            "hit@1": hits(run.ranks, 1),
            "hit@3": hits(run.ranks, 3),
            f"hit@{ASK_K}": hits(run.ranks, ASK_K),
            f"documents_in_top_{ASK_K}": round(sum(run.documents) / len(run.documents), 2),
        }
        for mode, run in runs.items()
    }


async def main(args: argparse.Namespace) -> None:
    settings = load_settings(pgask_data_dir=args.data_dir, _env_file=None)
    services = await Services.start(settings)
    try:
        migrate.upgrade(services.db.url)
        ingest = await ensure_ingested(services, args.collection, args.docs)
        questions = load_questions(QUESTIONS)
        runs = []
        for cap in [None, *args.caps]:
            found = await run_questions(services, args.collection, questions, cap)
            runs.append(
                {
                    "max_per_document": cap,
                    "summary": summary(found),
                    "per_question": {mode: asdict(run) for mode, run in found.items()},
                }
            )
            print(f"cap {cap}: {json.dumps(summary(found))}")
    finally:
        await services.close()
    write_result(
        "fastapi_hits",
        {
            "benchmark": "fastapi_hits",
            "command": "python bench/fastapi_hits.py " + " ".join(args.argv),
            "machine": machine(),
            "versions": package_versions(["pgask", "pgvector", "psycopg", "fastembed"]),
            "parameters": {
                "collection": args.collection,
                "docs": str(args.docs),
                "questions": str(QUESTIONS.relative_to(ROOT)),
                "k": 10,
                "caps": [None, *args.caps],
                "hit": "an expected page among the first 1 / 3 hits (chunks)",
            },
            "ingest": ingest,
            "questions": [q.text for q in questions],
            "runs": runs,
        },
        args.output,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=SHARED / "data" / "fastapi-docs" / "docs")
    parser.add_argument("--collection", default="fastapi-docs")
    parser.add_argument("--caps", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    parsed = parser.parse_args()
    parsed.argv = sys.argv[1:]
    asyncio.run(main(parsed))
