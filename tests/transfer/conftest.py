"""A small collection written through the real writer, exported with the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.config import Settings
from app.db.models import Collection
from app.embeddings import Embedder
from ingest.writer import ChunkRecord, DocumentRecord
from tests.cli import pgask_in_process
from tests.conftest import Databases
from tests.search.conftest import load

PASSAGES = {
    "a/eiffel": ["The Eiffel Tower is a wrought-iron lattice tower in Paris.", "It is 330 m tall."],
    "b/everest": ["Mount Everest is Earth's highest mountain, in the Himalayas."],
    "c/reef": [
        "The Great Barrier Reef is the largest coral reef system.",
        "It lies off Australia.",
    ],
    "d/photo": [
        "Photosynthesis converts light into chemical energy.",
        "Plants do it.",
        "So do algae.",
    ],
}


def _environment(settings: Settings, **env: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGASK_")}
    return environment | {"DATABASE_URL": settings.database_url or "", **env}


def pgask(args: list[str], settings: Settings, **env: str) -> subprocess.CompletedProcess[str]:
    """In this process: what export and import do and say is the subject, not their process
    (`test_concurrent.py` runs real ones beside HTTP)."""
    return pgask_in_process(args, _environment(settings, **env))


def pgask_popen(args: list[str], settings: Settings) -> subprocess.Popen[str]:
    """`pgask ARGS...` started, its output piped: the caller waits for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        env=_environment(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
async def filled(
    conn: psycopg.AsyncConnection, collection: Collection, embedder: Embedder
) -> Collection:
    """Four documents (1-3 chunks each, pages, sections, metadata, two with access groups)
    and one without chunks."""
    documents = []
    for n, (external_id, texts) in enumerate(PASSAGES.items()):
        vectors = await embedder.embed_documents(texts)
        chunks = [
            ChunkRecord(i, t, len(t.split()), v, section=f"s{i}", page=i + 1 if n % 2 else None)
            for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
        ]
        documents.append(
            DocumentRecord(
                external_id,
                content_hash=f"hash-{n}",
                chunks=chunks,
                title=external_id.title(),
                source=f"file:///{external_id}.md",
                metadata={"n": n, "tags": ["x", "ü"]},
                access=("hr", "legal") if n % 2 else (),  # groups survive the round trip
            )
        )
    documents.append(DocumentRecord("e/empty", content_hash="none", chunks=[]))
    await load(conn, collection, documents)
    return collection


@pytest.fixture
def exported(filled: Collection, settings: Settings, tmp_path: Path) -> Path:
    path = tmp_path / "export.parquet"
    done = pgask(["export", filled.name, "-o", str(path)], settings)
    assert done.returncode == 0, done.stderr
    assert "5 documents, 8 chunks" in done.stdout
    return path


@pytest.fixture
def fresh_db_url(databases: Databases) -> Iterator[str]:
    """A newly created database on the embedded server, migrated to head: a second pgask
    installation with nothing in it. Dropped afterwards."""
    url = databases.create(prefix="pgask_fresh")
    yield url
    databases.drop(url)
