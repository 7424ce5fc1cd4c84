"""Fixtures for reliability tests: a seeded collection on the session server, and snapshots
of everything stored, to prove that hostile or failed requests changed nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from app.config import Settings
from tests.servers import ServerThread

SEED_DOCUMENTS = [
    {
        "id": f"seed/{i}.md",
        "text": f"# Topic {i}\n\n{body}",
        "title": f"Seed {i}",
        "metadata": {"lang": "en", "year": 2020 + i, "tags": ["seed", f"t{i}"]},
    }
    for i, body in enumerate(
        [
            "PostgreSQL stores rows in pages; VACUUM reclaims dead tuples.",
            "pgvector adds a vector type and HNSW indexes for nearest neighbour search.",
            "Reciprocal rank fusion merges a text ranking and a vector ranking.",
            "API keys are compared in constant time and never logged.",
        ]
    )
]


@dataclass(frozen=True)
class Snapshot:
    """Row counts and a hash over every stored column that ingestion writes."""

    documents: int
    chunks: int
    documents_hash: str
    chunks_hash: str
    collections: int


_SNAPSHOT = """
SELECT
  (SELECT count(*) FROM documents),
  (SELECT count(*) FROM chunks),
  (SELECT md5(coalesce(string_agg(concat_ws('|', id, collection_id, external_id, title, source,
      metadata::text, content_hash, chunk_count, updated_at), E'\\n' ORDER BY id), ''))
   FROM documents),
  (SELECT md5(coalesce(string_agg(concat_ws('|', id, document_id, ordinal, text, section, page,
      token_count, metadata::text, embedding::text), E'\\n' ORDER BY id), '')) FROM chunks),
  (SELECT count(*) FROM collections)
"""


def snapshot(dsn: str) -> Snapshot:
    with psycopg.connect(dsn) as connection:
        row = connection.execute(_SNAPSHOT).fetchone()
    assert row is not None
    return Snapshot(*row)


def seed(http: httpx.Client, name: str) -> None:
    """A collection holding SEED_DOCUMENTS."""
    created = http.post("/v1/collections", json={"name": name})
    assert created.status_code == 201, created.text
    added = http.post(f"/v1/collections/{name}/documents", json={"documents": SEED_DOCUMENTS})
    assert added.status_code == 200, added.text
    assert added.json()["added"] == len(SEED_DOCUMENTS)


@pytest.fixture(scope="module")
def seeded(server: ServerThread) -> Iterator[str]:
    """A collection with a few documents, deleted after the module."""
    name = f"rel-{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=server.url, timeout=60) as http:
        seed(http, name)
        yield name
        http.delete(f"/v1/collections/{name}")


@contextmanager
def seeded_server(settings: Settings, prefix: str) -> Iterator[tuple[httpx.Client, str]]:
    """A server of its own with these settings, and a seeded collection on it."""
    from app.main import create_app

    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    with (
        ServerThread(create_app(settings)) as running,
        httpx.Client(base_url=running.url, timeout=60) as http,
    ):
        seed(http, name)
        yield http, name
        http.delete(f"/v1/collections/{name}")  # cascades to its documents and jobs


def stored_documents(dsn: str, collection: str) -> dict[str, tuple[int, int, int]]:
    """external id -> (chunk_count, chunks stored, distinct chunk ordinals): a document
    stored whole has the three equal."""
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT d.external_id, d.chunk_count, count(c.id), count(DISTINCT c.ordinal)"
            " FROM documents d JOIN collections k ON k.id = d.collection_id"
            " LEFT JOIN chunks c ON c.document_id = d.id WHERE k.name = %s"
            " GROUP BY d.collection_id, d.id",
            (collection,),
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}
