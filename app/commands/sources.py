"""`pgask sources add|list|sync|remove`: sources a collection is kept in sync with (folder,
git, ...), acting as PGASK_API_KEY's principal (or as the database's owner without one)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from app.access import Principal
from app.catalog import create_collection, get_collection
from app.commands.common import (
    CollectionOption,
    JsonOption,
    console,
    err_console,
    loading,
    print_json,
    run_async,
    started,
)
from app.config import Settings
from app.db.models import IngestJob
from app.errors import Conflict, InvalidInput, NotFound
from app.services import Services
from ingest.context import Ingestion
from ingest.job_queue import get_job
from ingest.sources.kinds import KINDS
from ingest.sources.service import (
    SourceInfo,
    SourceSpec,
    add_source,
    list_sources,
    parse_interval,
    remove_source,
    sync_all,
    sync_now,
)
from ingest.worker import run_worker

T = TypeVar("T")
sources_app = typer.Typer(
    help="Sources kept in sync (folder, git): add, list, sync, remove.", no_args_is_help=True
)
_KINDS = ", ".join(f"{name} ({kind.summary})" for name, kind in KINDS.items())
WAIT_POLL_SECONDS = 0.5


def _acting(
    work: Callable[[Ingestion, Principal, Services], Awaitable[T]], *, embedder: bool = False
) -> T:
    async def run(settings: Settings) -> T:
        async with started(settings, embedder=embedder, migrated=True) as services:
            principal = await services.acting_principal()
            return await work(Ingestion.of(services.db, settings), principal, services)

    return run_async(run)


def parse_options(pairs: list[str], as_json: str | None) -> dict[str, Any]:
    """`--options JSON` and then each `-o key=value` over it."""
    options: dict[str, Any] = {}
    if as_json is not None:
        try:
            options = json.loads(as_json)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--options: not JSON: {exc.msg}") from exc
        if not isinstance(options, dict):
            raise InvalidInput('--options: a JSON object, e.g. \'{"path": "docs"}\'')
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--option: {pair!r} is not key=value")
        options[key] = value
    return options


@sources_app.command("add")
def add_cmd(
    name: Annotated[str, typer.Argument(help="Unique source name; its documents' ids start NAME/")],
    collection: CollectionOption,
    kind: Annotated[str, typer.Option("--kind", help=f"One of: {_KINDS}")],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="The kind's option, key=value (repeat): path=, url="),
    ] = None,
    options_json: Annotated[
        str | None, typer.Option("--options", help="The kind's options as a JSON object")
    ] = None,
    access: Annotated[
        list[str] | None, typer.Option("--access", help="Only this group reads its documents")
    ] = None,
    interval: Annotated[
        str | None, typer.Option("--interval", help="Sync every 30m, 6h, 1d... (workers do)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a source (admin; the collection is created if need be). It syncs on `sources sync`,
    and every --interval in workers."""
    spec = SourceSpec(
        name,
        collection,
        kind,
        parse_options(option or [], options_json),
        access or [],
        None if interval is None else parse_interval(interval),
    )

    async def go(ingestion: Ingestion, principal: Principal, services: Services) -> SourceInfo:
        if not principal.scoped:  # an admin's source: its collection is made as `ingest` makes it
            await _ensure_collection(services, collection)
        return await add_source(ingestion, principal, spec)

    info = _acting(go)
    if as_json:
        print_json(asdict(info))
        return
    every = f", synced every {info.interval_seconds} s" if info.interval_seconds else ""
    console.print(f"source {name!r} ({kind}) added to collection {collection!r}{every}")


async def _ensure_collection(services: Services, name: str) -> None:
    """Create the collection, with the configured model, when it does not exist."""
    async with services.db.owner_session() as session:
        try:
            await get_collection(session, name)
            return
        except NotFound:
            pass
    with loading(f"loading embedding model {services.settings.embedding_model} ..."):
        await services.load_embedder(required=True)
    async with services.db.owner_session() as session:
        with contextlib.suppress(Conflict):  # made by someone else a moment ago
            await create_collection(session, services.embedder, name=name)


@sources_app.command("list")
def list_cmd(as_json: JsonOption = False) -> None:
    """The sources this key sees, with their last sync."""
    infos = _acting(lambda ingestion, principal, _: list_sources(ingestion, principal))
    if as_json:
        print_json({"sources": [asdict(i) for i in infos]})
        return
    table = Table("name", "collection", "kind", "where", "every", "last sync", "status", "next")
    for i in infos:
        table.add_row(
            i.name,
            i.collection,
            i.kind,
            str(i.options.get("url") or i.options.get("path") or ""),
            f"{i.interval_seconds} s" if i.interval_seconds else "-",
            f"{i.synced_at:%Y-%m-%d %H:%M}" if i.synced_at else "never",
            i.job_status or "-",
            f"{i.next_sync_at:%Y-%m-%d %H:%M}" if i.next_sync_at else "-",
        )
    console.print(table)


@sources_app.command("sync")
def sync_cmd(
    name: Annotated[str | None, typer.Argument(help="The source; all of them without it")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Run the sync here and wait for its end")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Queue a sync (a job any `pgask worker` runs), or run it here with --wait."""

    async def go(ingestion: Ingestion, principal: Principal, services: Services) -> list[Any]:
        if name is None:
            jobs = await sync_all(ingestion, principal)
        else:
            jobs = {name: await sync_now(ingestion, principal, name)}
        if not wait:
            return [(source, job, None) for source, job in jobs.items()]
        with _bars(jobs) as bars:
            watch = asyncio.create_task(_watch(ingestion, principal, jobs, bars))
            try:
                await run_worker(ingestion, services.embedder, asyncio.Event(), until_idle=True)
                finished = [await _finished(ingestion, principal, j) for j in jobs.values()]
            finally:
                watch.cancel()
        return [(source, job.id, job) for source, job in zip(jobs, finished, strict=True)]

    done = _acting(go, embedder=wait)
    if as_json:
        print_json({"syncs": [_sync_json(source, job_id, job) for source, job_id, job in done]})
    else:
        for source, job_id, job in done:
            console.print(_sync_line(source, job_id, job), highlight=False)
    if any(job is not None and job.status != "succeeded" for _, _, job in done):
        raise typer.Exit(1)


@contextlib.contextmanager
def _bars(jobs: dict[str, uuid.UUID]) -> Iterator[tuple[Progress, dict[uuid.UUID, TaskID]]]:
    """A bar per sync (documents done of those listed) on a terminal; nothing otherwise."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("documents"),
        console=err_console,
        disable=not err_console.is_terminal,
        transient=True,
    )
    with progress:
        yield progress, {job: progress.add_task(name, total=None) for name, job in jobs.items()}


async def _watch(
    ingestion: Ingestion,
    principal: Principal,
    jobs: dict[str, uuid.UUID],
    bars: tuple[Progress, dict[uuid.UUID, TaskID]],
) -> None:
    progress, tasks = bars
    while not progress.disable:
        for job_id in jobs.values():
            job, _ = await get_job(ingestion, job_id, principal)
            progress.update(tasks[job_id], completed=job.done, total=job.total or None)
        await asyncio.sleep(WAIT_POLL_SECONDS)


async def _finished(ingestion: Ingestion, principal: Principal, job_id: uuid.UUID) -> IngestJob:
    """The job once it ended (another worker may be running it)."""
    while True:
        job, _ = await get_job(ingestion, job_id, principal)
        if job.status not in ("queued", "running"):
            return job
        await asyncio.sleep(WAIT_POLL_SECONDS)


def _sync_json(source: str, job_id: uuid.UUID, job: IngestJob | None) -> dict[str, Any]:
    if job is None:
        return {"source": source, "job": str(job_id), "status": "queued"}
    return {
        "source": source,
        "job": str(job_id),
        "status": job.status,
        "result": job.result,
        "errors": job.errors,
    }


def _sync_line(source: str, job_id: uuid.UUID, job: IngestJob | None) -> str:
    if job is None:
        return f"{source}: sync queued (job {job_id}); `pgask worker` runs it"
    r = job.result
    line = (
        f"{source}: {job.status}: {r.get('added', 0)} added, {r.get('updated', 0)} updated,"
        f" {r.get('unchanged', 0)} unchanged, {r.get('deleted', 0)} deleted,"
        f" {job.failed} failed; {r.get('embedded', 0)} chunks embedded"
    )
    errors = "".join(f"\n  {e['path'] or source}: {e['error']}" for e in job.errors[:20])
    return line + errors


@sources_app.command("remove")
def remove_cmd(
    name: Annotated[str, typer.Argument(help="The source")],
    keep_documents: Annotated[
        bool, typer.Option("--keep-documents", help="Leave its documents in the collection")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove a source (admin) and, unless --keep-documents, the documents it brought."""
    deleted = _acting(
        lambda ingestion, principal, _: remove_source(
            ingestion, principal, name, keep_documents=keep_documents
        )
    )
    if as_json:
        print_json({"source": name, "deleted_documents": deleted})
        return
    sys.stdout.write(f"source {name!r} removed; {deleted} documents deleted\n")
