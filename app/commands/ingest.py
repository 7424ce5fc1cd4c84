"""`pgask ingest PATH... --collection C` and `pgask worker`."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn
from rich.text import Text

from app.catalog import create_collection, get_collection
from app.commands.common import (
    Interrupted,
    JsonOption,
    err_console,
    print_json,
    run_async,
    started,
    unless_database_dies,
)
from app.config import Settings
from app.db.models import Collection
from app.embeddings import Embedder
from app.errors import Conflict, NotFound, ServiceUnavailable
from app.keys import parse_groups
from ingest.context import Ingestion
from ingest.report import Progress as IngestProgress
from ingest.report import Report
from ingest.service import ingest_paths
from ingest.worker import run_worker


async def _collection(
    ingestion: Ingestion, embedder: Embedder, name: str
) -> tuple[Collection, bool]:
    """The collection, created with the configured model if it does not exist yet."""
    async with ingestion.db.owner_session() as session:
        try:
            return await get_collection(session, name), False
        except NotFound:
            pass
        try:
            return await create_collection(session, embedder, name=name), True
        except Conflict:  # created by a concurrent ingest a moment ago
            return await get_collection(session, name), False


class _RateAndEta(ProgressColumn):
    """Chunks embedded per second and the time left, recomputed at every refresh (twice a
    second), so both move while a batch embeds even between the embedder's reports."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        if not (rate and task.total):
            return Text(f"{rate:.0f} chunks/s · ETA -:--:--")
        left = max(task.total - task.completed, 0) / rate
        return Text(f"{rate:.0f} chunks/s · ETA {timedelta(seconds=round(left))}")


class _Bar:
    """Documents and chunks, the rate and the time left, on a terminal; nothing when output
    is not a terminal. The bar counts chunks embedded, of a total estimated from the
    documents read so far (chunks per document) and the documents expected."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            TextColumn("{task.fields[documents]}/{task.fields[expected]} docs ·"),
            TextColumn("{task.completed:.0f}/~{task.fields[estimate]} chunks ·"),
            _RateAndEta(),
            console=err_console,
            disable=not enabled,
            transient=True,
            refresh_per_second=2,
        )
        self.task: TaskID | None = None
        self.expected = 0
        self.report: Report | None = None  # what was stored, should a signal stop the run

    def start(self, documents: int, _files: int) -> None:
        self.expected = documents
        self.progress.start()
        self.task = self.progress.add_task(
            "ingest", total=None, documents=0, expected=documents, estimate="?"
        )

    def update(self, progress: IngestProgress) -> None:
        self.report = progress.report
        if self.task is None:
            return
        total = _estimate(progress, self.expected)
        self.progress.update(
            self.task,
            completed=progress.embedded_chunks,
            total=total,
            documents=progress.report.documents,
            estimate=total if total is not None else "?",
        )

    def stop(self) -> None:
        self.progress.stop()


def _estimate(progress: IngestProgress, expected_documents: int) -> int | None:
    """All the chunks this run will embed: those cut so far, and as many per document for
    the documents not read yet (None before any document is read)."""
    read = progress.prepared_documents
    if not read:
        return None
    per_document = progress.prepared_chunks / read
    return progress.prepared_chunks + round(max(expected_documents - read, 0) * per_document)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (recursive)")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Collection name")],
    prune: Annotated[
        bool, typer.Option(help="Delete documents whose files under PATH are gone")
    ] = False,
    glob: Annotated[
        str | None, typer.Option(help="Only files matching this pattern, e.g. '*.md'")
    ] = None,
    access: Annotated[
        str, typer.Option(help="Groups that may read these documents, e.g. hr,legal")
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Load files into a collection: Markdown, text, HTML, PDF, DOCX, PPTX, XLSX, ODT, EPUB,
    reStructuredText, CSV/TSV, e-mail (EML) and BEIR JSON Lines.

    Unchanged documents are skipped without embedding; changed ones are replaced atomically.
    """
    groups = parse_groups(access, "--access")
    bar = _Bar(enabled=err_console.is_terminal and not as_json)

    async def go(settings: Settings) -> tuple[Any, Any, bool]:
        async with started(settings, migrated=True) as services:
            ingestion = Ingestion.of(services.db, settings)
            try:
                coll, created = await _collection(ingestion, services.embedder, collection)
                if created and not as_json:
                    err_console.print(f"created collection {collection!r}")
                loading = ingest_paths(
                    ingestion,
                    services.embedder,
                    coll,
                    paths,
                    glob=glob,
                    prune=prune,
                    access=groups,
                    on_start=bar.start,
                    on_progress=bar.update,
                )
                try:
                    report, skipped = await unless_database_dies(settings, loading)
                except ServiceUnavailable as exc:  # one line, with what was kept
                    raise ServiceUnavailable(
                        f"{exc}; ingest stopped, {_stored(bar.report)}"
                    ) from exc
            finally:
                bar.stop()
        return report, skipped, created

    try:
        report, skipped, created = run_async(go)
    except Interrupted:
        sys.stderr.write(f"stopped; {_stored(bar.report)}\n")
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


def _stored(report: Report | None) -> str:
    if report is None:
        return "no document stored"
    return (
        f"stored before the stop: {report.added} added, {report.updated} updated,"
        f" {report.unchanged} unchanged, {report.failed} failed; {report.chunks} chunks"
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
