"""Folder sources against the real database: two syncs with a file added, one changed and
one deleted between them; the second embeds only what changed and deletes what left."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from app.access import UNRESTRICTED
from ingest.sources.service import SourceSpec, add_source, get_source, remove_source
from ingest.worker import run_worker
from tests.sources.conftest import synced

pytestmark = pytest.mark.anyio


def _write(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)


async def _documents(session, collection) -> dict[str, list[str]]:
    rows = await session.execute(
        text("SELECT external_id, access FROM documents WHERE collection_id = :c"),
        {"c": collection.id},
    )
    return {row[0]: row[1] for row in rows}


async def test_two_syncs_embed_only_what_changed(
    ingestion, embedder, collection, session, tmp_path
) -> None:
    root = tmp_path / "notes"
    _write(root / "a.md", "# Alpha\n\nThe alpha note about herons.")
    _write(root / "sub/b.md", "# Bravo\n\nThe bravo note about walruses.")
    _write(root / "sub/e.md", "# Echo\n\nThe echo note, soon an image.")
    _write(root / "c.txt", "The charlie note about lighthouses.")
    _write(root / ".hidden.md", "never read")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    spec = SourceSpec("notes", collection.name, "folder", {"path": str(root)}, access=["team"])
    await add_source(ingestion, UNRESTRICTED, spec)

    first = await synced(ingestion, embedder, "notes")
    assert first.status == "succeeded", first.errors
    assert (first.result["added"], first.result["unchanged"]) == (4, 0)
    assert await _documents(session, collection) == {
        "notes/a.md": ["team"],
        "notes/sub/b.md": ["team"],
        "notes/c.txt": ["team"],
        "notes/sub/e.md": ["team"],
    }

    _write(root / "sub/b.md", "# Bravo\n\nThe bravo note, rewritten, about seals.")
    os.utime(root / "sub/b.md", ns=(1, 1))  # a version of its own even on a coarse clock
    (root / "c.txt").unlink()
    (root / "sub/e.md").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))  # a page became an image
    _write(root / "d.md", "# Delta\n\nThe delta note about rivers.")
    second = await synced(ingestion, embedder, "notes")
    assert second.status == "succeeded", second.errors
    result = second.result
    assert (result["added"], result["updated"], result["unchanged"], result["deleted"]) == (
        1,
        1,
        1,
        2,  # c.txt, gone, and e.md, now an image
    )
    assert result["embedded"] == 2  # one chunk each for b.md and d.md; a.md is not read
    assert set(await _documents(session, collection)) == {
        "notes/a.md",
        "notes/sub/b.md",
        "notes/d.md",
    }
    info = await get_source(ingestion, UNRESTRICTED, "notes")
    assert info.last_sync["listed"] == 5 and info.last_sync["skipped"] == 2  # the images
    assert info.job_status == "succeeded" and info.synced_at is not None

    third = await synced(ingestion, embedder, "notes")
    assert (third.result["embedded"], third.result["unchanged"]) == (0, 3)

    # New groups: removed with its documents kept, added again, nothing embedded.
    assert await remove_source(ingestion, UNRESTRICTED, "notes", keep_documents=True) == 0
    await add_source(ingestion, UNRESTRICTED, replace(spec, access=["ops"]))
    regrouped = await synced(ingestion, embedder, "notes")
    assert (regrouped.result["updated"], regrouped.result["embedded"]) == (3, 0)
    assert set(map(tuple, (await _documents(session, collection)).values())) == {("ops",)}

    assert await remove_source(ingestion, UNRESTRICTED, "notes") == 3
    assert await _documents(session, collection) == {}


async def test_due_sources_are_synced_by_workers(ingestion, embedder, collection, tmp_path):
    """A source with an interval is due when added; a worker queues and runs its sync, and
    the next one is due an interval later."""
    root = tmp_path / "due"
    _write(root / "a.md", "# Due\n\nSynced without being asked.")
    spec = SourceSpec("due", collection.name, "folder", {"path": str(root)}, interval_seconds=3600)
    await add_source(ingestion, UNRESTRICTED, spec)
    try:
        await run_worker(ingestion, embedder, asyncio.Event(), until_idle=True)
        info = await get_source(ingestion, UNRESTRICTED, "due")
        assert info.job_status == "succeeded" and info.last_sync["read"] == 1
        assert info.next_sync_at is not None and info.synced_at is not None
        assert (info.next_sync_at - info.synced_at).total_seconds() > 3000
        await run_worker(ingestion, embedder, asyncio.Event(), until_idle=True)
        assert (await get_source(ingestion, UNRESTRICTED, "due")).job_id == info.job_id
    finally:
        await remove_source(ingestion, UNRESTRICTED, "due")
