"""`pgask collections`."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from app.catalog import list_collections
from app.commands.common import JsonOption, console, print_json, run_async, started
from app.config import Settings

_COLUMNS = ("name", "provider", "model", "dimensions", "documents", "chunks")
_BYTES = ("heap_bytes", "vector_index_bytes", "text_index_bytes")


def collections_cmd(as_json: JsonOption = False) -> None:
    """List collections with their embedding model, sizes and bytes on disk."""
    rows = run_async(_fetch)
    if as_json:
        print_json({"collections": rows})
        return
    table = Table("name", "provider", "model", "dims", "documents", "chunks", "heap", "hnsw", "gin")
    for row in rows:
        table.add_row(*(str(row[k]) for k in _COLUMNS), *(_mb(row[k]) for k in _BYTES))
    console.print(table)


async def _fetch(settings: Settings) -> list[dict[str, Any]]:
    async with started(settings, embedder=False) as services:
        principal = await services.acting_principal()
        async with services.db.session(principal=principal) as session:
            stats = await list_collections(session)
    return [
        {
            "name": s.collection.name,
            "provider": s.collection.embedding_provider,
            "model": s.collection.embedding_model,
            "dimensions": s.collection.embedding_dimensions,
            "documents": s.document_count,
            "chunks": s.chunk_count,
            **{name: None if s.disk is None else getattr(s.disk, name) for name in _BYTES},
        }
        for s in stats
    ]


def _mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.1f} MB"
