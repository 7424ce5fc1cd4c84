"""`pgask export COLLECTION -o FILE` and `pgask import FILE [--as NAME]`: thin glue over
ingest/transfer."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.progress import Progress

from app.commands.common import JsonOption, console, print_json, run_async, started
from app.config import Settings
from app.errors import Forbidden, InvalidInput
from ingest.transfer.exporter import start_export
from ingest.transfer.importer import ImportResult, import_into, open_file


def _open_output(path: Path) -> tuple[Path, BinaryIO]:
    """A temporary file beside `path`, renamed over it when the export is complete, so a
    failed export leaves no half file (and an existing one untouched)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        return partial, partial.open("wb")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from exc


def export_cmd(
    collection: Annotated[str, typer.Argument(help="Collection to export")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Parquet file to write")],
    as_json: JsonOption = False,
) -> None:
    """Write a collection, embeddings included, to a portable Parquet file."""
    partial, sink = _open_output(output)

    async def run(settings: Settings) -> tuple[int, int]:
        async with started(settings, embedder=False) as services:
            principal = await services.acting_principal()
            if principal.scoped:
                raise Forbidden(
                    f"key {principal.name!r} has role {principal.role}; export needs admin"
                )
            # One pooled connection (and its snapshot) until the file is written.
            export = await start_export(services.db, principal, collection)
            try:
                with Progress(console=console, transient=True, disable=as_json) as progress:
                    task = progress.add_task("exporting", total=export.counts.chunks)
                    async for piece in export.chunks():
                        sink.write(piece)
                        progress.update(task, completed=sink.tell())
            finally:
                await export.close()
            return export.counts.documents, export.counts.chunks

    try:
        with sink:
            documents, chunks = run_async(run)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    if as_json:
        print_json(
            {
                "collection": collection,
                "file": str(output),
                "documents": documents,
                "chunks": chunks,
            }
        )
        return
    console.print(f"exported {collection}: {documents} documents, {chunks} chunks to {output}")


def import_cmd(
    file: Annotated[Path, typer.Argument(help="A file written by `pgask export`")],
    as_name: Annotated[
        str | None, typer.Option("--as", help="Collection name (default: the exported one)")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace an existing collection of that name")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Load a collection from an export: no embedding calls, all or nothing."""
    _, _, counts = open_file(file)  # a file that is no export fails before any connection

    async def run(settings: Settings) -> ImportResult:
        async with started(settings, embedder=False, migrated=True) as services:
            with Progress(console=console, transient=True, disable=as_json) as progress:
                task = progress.add_task("importing", total=counts.chunks)
                return await import_into(
                    services.db,
                    file,
                    name=as_name,
                    replace=replace,
                    on_rows=lambda n: progress.advance(task, n),
                )

    result = run_async(run)
    if as_json:
        print_json(asdict(result))
        return
    verb = "replaced" if result.replaced else "created"
    console.print(
        f"{verb} {result.name}: {result.documents} documents, {result.chunks} chunks from {file}"
    )
