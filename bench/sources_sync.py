"""What a git source's sync costs (not run by CI): a repository made from the FastAPI docs
(../shared/data/fastapi-docs, every file of it committed once), synced three times into a
fresh collection: the first sync, a sync with no new commit, and a sync after one commit
that changes 3 pages, adds 1 and deletes 1. For comparison, each repetition first loads the
same files with `pgask ingest`'s code (`ingest_paths`) into a collection of its own. Each
sync is a job run by a worker in this process; time is from queueing to the job's end (the
git fetch, listing, reading, parsing, embedding and writing), chunks embedded are the job's
own count. Writes bench/results/sources-sync.json.

    python bench/sources_sync.py [--docs ../shared/data/fastapi-docs] [--repetitions 3]
        [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.access import UNRESTRICTED
from app.catalog import create_collection
from app.config import load_settings
from app.db import migrate
from app.db.models import Collection
from app.services import Services
from bench.common import SHARED, machine, package_versions, write_result
from ingest.context import Ingestion
from ingest.job_queue import get_job
from ingest.service import ingest_paths
from ingest.sources.service import SourceSpec, add_source, remove_source, sync_now
from ingest.worker import run_worker

# The commit between the second and third sync: pages changed, added, deleted.
CHANGED = ("docs/tutorial/cors.md", "docs/tutorial/first-steps.md", "docs/deployment/docker.md")
ADDED = "docs/tutorial/sources-bench.md"
DELETED = "docs/alternatives.md"
NOTE = "\n\n## A note added by bench/sources_sync.py\n\nThis paragraph was added by a commit.\n"


def git(repo: Path, *arguments: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": "/nonexistent",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *arguments], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_repo(docs: Path, repo: Path) -> dict[str, Any]:
    shutil.copytree(docs, repo)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "the FastAPI docs")
    files = git(repo, "ls-files").splitlines()
    return {"files": len(files), "markdown": sum(f.endswith(".md") for f in files)}


def one_commit(repo: Path) -> None:
    for name in CHANGED:
        with (repo / name).open("a") as page:
            page.write(NOTE)
    (repo / ADDED).write_text("# Sources bench\n\nA page added by a commit." + NOTE)
    git(repo, "rm", "--quiet", DELETED)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "one commit: 3 pages changed, 1 added, 1 deleted")


def undo_commit(repo: Path) -> None:
    git(repo, "reset", "--quiet", "--hard", "HEAD~1")


async def timed_sync(ingestion: Ingestion, services: Services, name: str) -> dict[str, Any]:
    started = time.perf_counter()
    job_id = await sync_now(ingestion, UNRESTRICTED, name)
    await run_worker(ingestion, services.embedder, asyncio.Event(), until_idle=True)
    seconds = time.perf_counter() - started
    job, _ = await get_job(ingestion, job_id, UNRESTRICTED)
    result = {
        k: job.result.get(k)
        for k in ("added", "updated", "unchanged", "deleted", "failed", "chunks", "embedded")
    }
    return {"status": job.status, "seconds": round(seconds, 2), **result, "errors": job.errors}


async def new_collection(services: Services) -> Collection:
    async with services.db.owner_session() as session:
        return await create_collection(
            session, services.embedder, name=f"bench-{uuid.uuid4().hex[:8]}"
        )


async def timed_ingest(ingestion: Ingestion, services: Services, repo: Path) -> dict[str, Any]:
    """`pgask ingest` of the same files (the clone's working tree), into a new collection."""
    collection = await new_collection(services)
    started = time.perf_counter()
    report, _ = await ingest_paths(ingestion, services.embedder, collection, [repo])
    seconds = time.perf_counter() - started
    counts = {k: getattr(report, k) for k in ("added", "failed", "chunks", "embedded")}
    return {"seconds": round(seconds, 2), **counts}


async def repetition(ingestion: Ingestion, services: Services, repo: Path) -> dict[str, Any]:
    runs = {"ingest": await timed_ingest(ingestion, services, repo)}
    name = (await new_collection(services)).name
    spec = SourceSpec(name, name, "git", {"url": str(repo)})
    await add_source(ingestion, UNRESTRICTED, spec)
    runs["first"] = await timed_sync(ingestion, services, name)
    runs["no_change"] = await timed_sync(ingestion, services, name)
    one_commit(repo)
    try:
        runs["one_commit"] = await timed_sync(ingestion, services, name)
    finally:
        undo_commit(repo)
    await remove_source(ingestion, UNRESTRICTED, name)
    return runs


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=SHARED / "data" / "fastapi-docs")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgask-sources-bench-") as scratch:
        data_dir = args.data_dir or Path(scratch) / "data"
        settings = load_settings(pgask_data_dir=data_dir, _env_file=None)
        services = await Services.start(settings)
        try:
            migrate.upgrade(services.db.url)
            repo = Path(scratch) / "fastapi-docs"
            corpus = make_repo(args.docs, repo)
            ingestion = Ingestion.of(services.db, settings)
            runs = [await repetition(ingestion, services, repo) for _ in range(args.repetitions)]
        finally:
            await services.close()
    git_version = git(Path.cwd(), "--version")
    result = {
        "benchmark": "sources_sync",
        "data": f"{args.docs.name}: the FastAPI documentation, every file committed to one git"
        " repository; the third sync follows one commit changing 3 pages, adding 1, deleting 1",
        "corpus": corpus,
        "machine": machine(),
        "versions": {
            **package_versions(["pgask", "psycopg", "fastembed"]),
            "git": git_version.strip(),
        },
        "params": {
            "repetitions": args.repetitions,
            "embedding_model": settings.embedding_model,
            "changed": CHANGED,
            "added": ADDED,
            "deleted": DELETED,
        },
        "runs": runs,
    }
    print(write_result("sources-sync", result))
    for phase in ("ingest", "first", "no_change", "one_commit"):
        print(phase, [(r[phase]["seconds"], r[phase]["embedded"]) for r in runs])


if __name__ == "__main__":
    asyncio.run(main())
