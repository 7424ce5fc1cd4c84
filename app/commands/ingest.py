"""`pgask ingest PATH... --collection C` and `pgask worker`."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from app.collections import create_collection, get_collection
from app.commands.common import Interrupted, JsonOption, print_json, run_async, started
from app.config import Settings
from app.db.models import Collection
from app.embeddings import Embedder
from app.errors import Conflict, NotFound
from ingest.context import Ingestion
from ingest.jobs import run_worker
from ingest.pipeline import Report
from ingest.service import ingest_paths

err_console = Console(stderr=True)  # progress and per-file reports; stdout has the result


async def _collection(
    ingestion: Ingestion, embedder: Embedder, name: str
) -> tuple[Collection, bool]:
    """The collection, created with the configured model if it does not exist yet."""
    async with ingestion.db.session() as session:
        try:
            return await get_collection(session, name), False
        except NotFound:
            pass
        try:
            return await create_collection(session, embedder, name=name), True
        except Conflict:  # created by a concurrent ingest a moment ago
            return await get_collection(session, name), False


class _Bar:
    """Files, chunks and embeddings/s on a terminal; nothing when output is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("docs · {task.fields[chunks]} chunks · {task.fields[rate]:.0f} emb/s"),
            TimeRemainingColumn(),
            console=err_console,
            disable=not enabled,
            transient=True,
        )
        self.task: TaskID | None = None
        self.started = time.perf_counter()
        self.report: Report | None = None

    def start(self, documents: int, _files: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("ingest", total=documents, chunks=0, rate=0.0)

    def update(self, report: Any) -> None:
        self.report = report  # what was stored, should a signal stop the run
        if self.task is not None:
            elapsed = max(time.perf_counter() - self.started, 1e-6)
            self.progress.update(
                self.task,
                completed=report.documents,
                chunks=report.chunks,
                rate=report.embedded / elapsed,
            )

    def stop(self) -> None:
        self.progress.stop()


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (recursive)")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Collection name")],
    prune: Annotated[
        bool, typer.Option(help="Delete documents whose files under PATH are gone")
    ] = False,
    glob: Annotated[
        str | None, typer.Option(help="Only files matching this pattern, e.g. '*.md'")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Load files into a collection: Markdown, text, HTML, PDF and BEIR JSON Lines.

    Unchanged documents are skipped without embedding; changed ones are replaced atomically.
    """
    bar = _Bar(enabled=err_console.is_terminal and not as_json)

    async def go(settings: Settings) -> tuple[Any, Any, bool]:
        async with started(settings, migrated=True) as services:
            ingestion = Ingestion.of(services.db, settings)
            try:
                coll, created = await _collection(ingestion, services.embedder, collection)
                if created and not as_json:
                    err_console.print(f"created collection {collection!r}")
                report, skipped = await ingest_paths(
                    ingestion,
                    services.embedder,
                    coll,
                    paths,
                    glob=glob,
                    prune=prune,
                    on_start=bar.start,
                    on_progress=bar.update,
                )
            finally:
                bar.stop()
        return report, skipped, created

    try:
        report, skipped, created = run_async(go)
    except Interrupted:
        _say_stored(bar.report)
        raise
    if as_json:
        print_json(
            {
                "collection": collection,
                "created": created,
                **report.as_dict(),
                "errors": [{"path": e.path, "error": e.error} for e in report.errors],
                "skipped": [{"path": s.path, "reason": s.error} for s in skipped],
            }
        )
    else:
        for item in skipped:
            sys.stderr.write(f"skipped {item.path}: {item.error}\n")
        for error in report.errors:
            sys.stderr.write(f"failed {error.path}: {error.error}\n")
        sys.stdout.write(report.summary() + "\n")
    if report.failed:
        raise typer.Exit(1)


def _say_stored(report: Report | None) -> None:
    if report is None:
        sys.stderr.write("stopped before any document was stored\n")
        return
    sys.stderr.write(
        f"stopped; stored before the stop: {report.added} added, {report.updated} updated,"
        f" {report.unchanged} unchanged, {report.failed} failed; {report.chunks} chunks\n"
    )


def worker() -> None:
    """Run ingest jobs (uploaded files) from the database until stopped (Ctrl-C)."""

    async def go(settings: Settings) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with started(settings, migrated=True) as services:
            err_console.print("worker waiting for ingest jobs (Ctrl-C stops)")
            ingestion = Ingestion.of(services.db, settings)
            return await run_worker(ingestion, services.embedder, stop)

    ran = run_async(go)
    sys.stdout.write(f"worker stopped after {ran} jobs\n")
