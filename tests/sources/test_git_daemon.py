"""A git source over the network: `git daemon` serving a repository on 127.0.0.1 (git://),
synced, changed by a commit, synced again; then the daemon stops and a sync fails without
deleting anything."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from app.access import UNRESTRICTED
from ingest.sources.service import SourceSpec, add_source
from tests.sources.conftest import synced
from tests.sources.git_repos import commit, make_repo

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _daemon(base: Path, port: int) -> asyncio.subprocess.Process:
    daemon = await asyncio.create_subprocess_exec(
        *("git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1"),
        *(f"--port={port}", f"--base-path={base}", str(base)),
    )
    while True:  # until it accepts connections
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            assert daemon.returncode is None, "git daemon did not start"
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return daemon


async def test_a_repository_served_by_git_daemon(
    ingestion, embedder, collection, session, tmp_path
):
    repo = make_repo(tmp_path / "served" / "wiki", {"home.md": "# Home\n\nThe wiki's first page."})
    port = _free_port()
    daemon = await _daemon(tmp_path / "served", port)
    try:
        url = f"git://127.0.0.1:{port}/wiki"
        await add_source(
            ingestion, UNRESTRICTED, SourceSpec("wiki", collection.name, "git", {"url": url})
        )
        first = await synced(ingestion, embedder, "wiki")
        assert (first.status, first.result["added"]) == ("succeeded", 1), first.errors
        commit(repo, {"howto.md": "# How to\n\nAsk in the channel."})
        second = await synced(ingestion, embedder, "wiki")
        assert (second.result["added"], second.result["unchanged"]) == (1, 1)
        assert second.result["embedded"] == 1
    finally:
        daemon.terminate()
        await daemon.wait()
    commit(repo, {"home.md": None})  # would delete a document, if the sync could see it
    third = await synced(ingestion, embedder, "wiki")
    assert third.status == "failed"
    count = await session.scalar(
        text("SELECT count(*) FROM documents WHERE collection_id = :c"), {"c": collection.id}
    )
    assert count == 2
